// qlocal_qt_classes.hpp: QLocalServer and QLocalSocket for Qt applications, without QtNetwork.
//
//   #include "qlocal_qt_classes.hpp"               // target qlocal::qt (QtCore + qlocal)
//   using LocalServer = qlocal::QtLocalServer;     // was QLocalServer
//   using LocalSocket = qlocal::QtLocalSocket;     // was QLocalSocket (a QIODevice)
//
// The classes have Qt's API, enums (same names and values) and real Qt signals, so QDataStream,
// QTextStream, transactions, readLine, waitFor*, deleteLater and parent/child ownership work
// unchanged. QAbstractSocket::SocketError (QLocalServer::serverError) lives in QtNetwork, so its
// names and values are in qlocal::QtAbstractSocket.
//
// Where the qlocal loop comes from: each thread that creates these objects gets its own
// qlocal_loop, driven from that thread's Qt event loop by a qlocal::QtLoopDriver
// (qlocal_qt.hpp); both are made on first use (qlocal::qtThreadLoop()) and destroyed when the
// thread exits. Rules, as for Qt's classes: create the objects on a thread with a Qt event
// loop (after QCoreApplication exists), use them only on that thread (no moveToThread), and
// signals are delivered while that thread's Qt event loop runs or inside a waitFor* call of the
// object. A loop of your own can be passed to the constructors instead (you then drive it and
// destroy it after the objects' last callback; see qlocal_loop_destroy).
//
// Differences from Qt (qlocal's, see the README): signals caused by a call (stateChanged and
// connected from connectToServer, errorOccurred for a missing server) are emitted from the event
// loop right after the call returns instead of inside it; state() is already final when the call
// returns. A nested Qt event loop started inside a slot (QEventLoop::exec, QDialog::exec) does
// not run qlocal's loop: use waitFor* there.
#pragma once

#include "qlocal.h"

#include <QHash>
#include <QIODevice>
#include <QObject>
#include <QString>

namespace qlocal {

// The calling thread's qlocal loop, created (with a QtLoopDriver on this thread's Qt event
// loop) on the first call from the thread and destroyed at thread exit. Nullptr if it could
// not be created.
qlocal_loop *qtThreadLoop();

// QAbstractSocket::SocketError's names and values (QtNetwork's), for QtLocalServer::serverError().
class QtAbstractSocket {
    Q_GADGET
public:
    enum SocketError {
        ConnectionRefusedError = 0,
        RemoteHostClosedError = 1,
        HostNotFoundError = 2,
        SocketAccessError = 3,
        SocketResourceError = 4,
        SocketTimeoutError = 5,
        DatagramTooLargeError = 6,
        NetworkError = 7,
        AddressInUseError = 8,
        SocketAddressNotAvailableError = 9,
        UnsupportedSocketOperationError = 10,
        UnfinishedSocketOperationError = 11,
        ProxyAuthenticationRequiredError = 12,
        SslHandshakeFailedError = 13,
        ProxyConnectionRefusedError = 14,
        ProxyConnectionClosedError = 15,
        ProxyConnectionTimeoutError = 16,
        ProxyNotFoundError = 17,
        ProxyProtocolError = 18,
        OperationError = 19,
        SslInternalError = 20,
        SslInvalidUserDataError = 21,
        TemporaryError = 22,
        UnknownSocketError = -1
    };
    Q_ENUM(SocketError)
};

class QtLocalServer;

// QLocalSocket: a sequential QIODevice over a qlocal_socket.
class QtLocalSocket : public QIODevice {
    Q_OBJECT
public:
    enum LocalSocketError {
        ConnectionRefusedError = QLOCAL_LOCAL_SOCKET_ERROR_CONNECTION_REFUSED,
        PeerClosedError = QLOCAL_LOCAL_SOCKET_ERROR_PEER_CLOSED,
        ServerNotFoundError = QLOCAL_LOCAL_SOCKET_ERROR_SERVER_NOT_FOUND,
        SocketAccessError = QLOCAL_LOCAL_SOCKET_ERROR_SOCKET_ACCESS,
        SocketResourceError = QLOCAL_LOCAL_SOCKET_ERROR_SOCKET_RESOURCE,
        SocketTimeoutError = QLOCAL_LOCAL_SOCKET_ERROR_SOCKET_TIMEOUT,
        DatagramTooLargeError = QLOCAL_LOCAL_SOCKET_ERROR_DATAGRAM_TOO_LARGE,
        ConnectionError = QLOCAL_LOCAL_SOCKET_ERROR_CONNECTION,
        UnsupportedSocketOperationError = QLOCAL_LOCAL_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION,
        UnknownSocketError = QLOCAL_LOCAL_SOCKET_ERROR_UNKNOWN,
        OperationError = QLOCAL_LOCAL_SOCKET_ERROR_OPERATION
    };
    Q_ENUM(LocalSocketError)

    enum LocalSocketState {
        UnconnectedState = QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED,
        ConnectingState = QLOCAL_LOCAL_SOCKET_STATE_CONNECTING,
        ConnectedState = QLOCAL_LOCAL_SOCKET_STATE_CONNECTED,
        ClosingState = QLOCAL_LOCAL_SOCKET_STATE_CLOSING
    };
    Q_ENUM(LocalSocketState)

    enum SocketOption { NoOptions = 0x00, AbstractNamespaceOption = QLOCAL_SOCKET_ABSTRACT_NAMESPACE };
    Q_DECLARE_FLAGS(SocketOptions, SocketOption)
    Q_FLAG(SocketOptions)

    // On the calling thread's loop (qtThreadLoop()).
    explicit QtLocalSocket(QObject *parent = nullptr);
    // On `loop`, which the caller drives (e.g. with a QtLoopDriver) and outlives this object's use.
    explicit QtLocalSocket(qlocal_loop *loop, QObject *parent = nullptr);
    ~QtLocalSocket() override;

    void connectToServer(OpenMode openMode = ReadWrite);
    void connectToServer(const QString &name, OpenMode openMode = ReadWrite);
    void disconnectFromServer();
    void abort();

    void setServerName(const QString &name);
    QString serverName() const;
    QString fullServerName() const;

    void setSocketOptions(SocketOptions option);
    SocketOptions socketOptions() const;

    bool isSequential() const override;
    qint64 bytesAvailable() const override;
    qint64 bytesToWrite() const override;
    bool canReadLine() const override;
    bool open(OpenMode openMode = ReadWrite) override;
    void close() override;

    LocalSocketError error() const;
    // The socket's error text (QIODevice::errorString() gives the same once an error was seen).
    QString errorString() const;
    bool flush();
    bool isValid() const;
    qint64 readBufferSize() const;
    void setReadBufferSize(qint64 size);

    // Only `ConnectedState` and an open mode that reads, writes or both are supported (qlocal
    // adopts connected descriptors only); anything else returns false and keeps `fd` the caller's.
    bool setSocketDescriptor(qintptr socketDescriptor, LocalSocketState socketState = ConnectedState,
                             OpenMode openMode = ReadWrite);
    qintptr socketDescriptor() const;

    LocalSocketState state() const;
    bool waitForBytesWritten(int msecs = 30000) override;
    bool waitForConnected(int msecs = 30000);
    bool waitForDisconnected(int msecs = 30000);
    bool waitForReadyRead(int msecs = 30000) override;

    // The qlocal socket (owned by this object), for calls the Qt API has no name for.
    qlocal_socket *handle() const { return socket_; }

Q_SIGNALS:
    void connected();
    void disconnected();
    void errorOccurred(qlocal::QtLocalSocket::LocalSocketError socketError);
#if QT_VERSION < QT_VERSION_CHECK(6, 0, 0)
    // Qt 5's deprecated twin of errorOccurred (use QOverload, as with QLocalSocket).
    void error(qlocal::QtLocalSocket::LocalSocketError socketError);
#endif
    void stateChanged(qlocal::QtLocalSocket::LocalSocketState socketState);

protected:
    qint64 readData(char *data, qint64 maxSize) override;
    qint64 readLineData(char *data, qint64 maxSize) override;
    qint64 writeData(const char *data, qint64 maxSize) override;

private:
    friend class QtLocalServer;
    // Adopts an accepted connection (nextPendingConnection).
    QtLocalSocket(qlocal_socket *accepted, QtLocalServer *server);
    void attach();
    void openDevice(OpenMode mode);
    void syncErrorString();
    bool waited(qlocal_result rc);

    static void onConnected(void *self, qlocal_socket *);
    static void onDisconnected(void *self, qlocal_socket *);
    static void onReadyRead(void *self, qlocal_socket *);
    static void onReadChannelFinished(void *self, qlocal_socket *);
    static void onError(void *self, qlocal_socket *, qlocal_local_socket_error error);
    static void onStateChanged(void *self, qlocal_socket *, qlocal_local_socket_state state);
    static void onBytesWritten(void *self, qlocal_socket *, uint64_t bytes);

    qlocal_socket *socket_ = nullptr;
    OpenMode connectMode_ = ReadWrite;
};

// QLocalServer: a QObject over a qlocal_server; accepted sockets are its children.
class QtLocalServer : public QObject {
    Q_OBJECT
public:
    enum SocketOption {
        NoOptions = 0x0,
        UserAccessOption = QLOCAL_SERVER_USER_ACCESS,
        GroupAccessOption = QLOCAL_SERVER_GROUP_ACCESS,
        OtherAccessOption = QLOCAL_SERVER_OTHER_ACCESS,
        WorldAccessOption = QLOCAL_SERVER_WORLD_ACCESS,
        AbstractNamespaceOption = QLOCAL_SERVER_ABSTRACT_NAMESPACE
    };
    Q_DECLARE_FLAGS(SocketOptions, SocketOption)
    Q_FLAG(SocketOptions)

    explicit QtLocalServer(QObject *parent = nullptr);
    explicit QtLocalServer(qlocal_loop *loop, QObject *parent = nullptr);
    ~QtLocalServer() override;

    void close();
    QString errorString() const;
    bool hasPendingConnections() const;
    bool isListening() const;
    bool listen(const QString &name);
    bool listen(qintptr socketDescriptor);
    int maxPendingConnections() const;
    // Returns the oldest accepted connection, a child of this server, or nullptr.
    QtLocalSocket *nextPendingConnection();
    QString serverName() const;
    QString fullServerName() const;
    static bool removeServer(const QString &name);
    QtAbstractSocket::SocketError serverError() const;
    void setMaxPendingConnections(int numConnections);
    bool waitForNewConnection(int msec = 0, bool *timedOut = nullptr);
    void setListenBacklogSize(int size);
    int listenBacklogSize() const;
    void setSocketOptions(SocketOptions options);
    SocketOptions socketOptions() const;
    qintptr socketDescriptor() const;

    qlocal_server *handle() const { return server_; }

Q_SIGNALS:
    void newConnection();

protected:
    // Qt's incomingConnection: called with each accepted connection's descriptor, which the
    // override owns (adopt it with QtLocalSocket::setSocketDescriptor, or close it). The default
    // queues it as a pending connection (newConnection follows).
    virtual void incomingConnection(quintptr socketDescriptor);
    // Qt 6.8's addPendingConnection: `socket` (on this server's loop) becomes the next pending
    // connection, a child of this server; newConnection follows. Until nextPendingConnection()
    // returns it, the server's queue holds its handle: do not delete it before (deleting the
    // server is fine).
    void addPendingConnection(QtLocalSocket *socket);

private:
    static void onNewConnection(void *self, qlocal_server *);
    static void onIncomingConnection(void *self, qlocal_server *, qlocal_descriptor fd);

    qlocal_server *server_ = nullptr;
    // Sockets given to addPendingConnection, by handle, until nextPendingConnection returns them.
    QHash<qlocal_socket *, QtLocalSocket *> added_;
};

}  // namespace qlocal

Q_DECLARE_OPERATORS_FOR_FLAGS(qlocal::QtLocalSocket::SocketOptions)
Q_DECLARE_OPERATORS_FOR_FLAGS(qlocal::QtLocalServer::SocketOptions)
