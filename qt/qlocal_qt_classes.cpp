// qlocal::QtLocalSocket and qlocal::QtLocalServer (include/qlocal_qt_classes.hpp) over the C API.
//
// Buffering: the device is opened Unbuffered (as Qt 5's QLocalSocket; Qt 6's turns QIODevice's
// buffer off another way), so bytes stay in qlocal's read buffer until read. QIODevice keeps
// bytes only for what it needs itself (transactions on a sequential device, peek, ungetChar),
// so every count is QIODevice's part plus qlocal's. readyRead comes from qlocal's callback: once
// per batch of new bytes, whether or not the previous ones were read, never re-entered.
//
// Signals: each qlocal callback emits the signal of the same name, with the getters showing the
// callback's moment. A trampoline touches the object only before its emit (a slot may delete
// it), except Qt 5's error() twin, guarded by a QPointer. aboutToClose comes from
// QIODevice::close() (close(), and Qt 6's abort()); qlocal's own about-to-close callback
// is not used, so it is never emitted twice. Qt 5's abort() emits it without closing, as Qt 5.
#include "qlocal_qt_classes.hpp"

#include <unistd.h>

#include "qlocal_qt.hpp"

#include <QFile>
#include <QPointer>
#include <QtGlobal>

#include <cstring>
#include <memory>

namespace qlocal {

namespace {

// The calling thread's qlocal loop and its driver. The driver goes first (it watches the loop);
// objects still alive then keep working in their waits and free the loop's resources last.
struct ThreadLoop {
    qlocal_loop *loop = nullptr;
    std::unique_ptr<QtLoopDriver> driver;

    ThreadLoop() {
        if (qlocal_loop_new(&loop) != QLOCAL_RESULT_OK) {
            loop = nullptr;
            return;
        }
        driver = std::make_unique<QtLoopDriver>(loop);
        driver->onError([](qlocal_result rc) { qWarning("qlocal: running the loop: %s", qlocal_result_string(rc)); });
    }
    ~ThreadLoop() {
        driver.reset();
        (void)qlocal_loop_destroy(loop);
    }
    ThreadLoop(const ThreadLoop &) = delete;
    ThreadLoop &operator=(const ThreadLoop &) = delete;
};

QString text(const char *s) { return QString::fromUtf8(s ? s : ""); }

int32_t toMs(int msecs) { return msecs < 0 ? -1 : static_cast<int32_t>(msecs); }

}  // namespace

qlocal_loop *qtThreadLoop() {
    thread_local ThreadLoop holder;
    return holder.loop;
}

// --- QtLocalSocket ------------------------------------------------------------------------------

QtLocalSocket::QtLocalSocket(QObject *parent) : QtLocalSocket(qtThreadLoop(), parent) {}

QtLocalSocket::QtLocalSocket(qlocal_loop *loop, QObject *parent) : QIODevice(parent) {
    if (qlocal_socket_new(loop, &socket_) != QLOCAL_RESULT_OK) {
        socket_ = nullptr;
        qWarning("QtLocalSocket: no qlocal loop on this thread");
        return;
    }
    attach();
}

QtLocalSocket::QtLocalSocket(qlocal_socket *accepted, QtLocalServer *server) : QIODevice(server), socket_(accepted) {
    attach();
    openDevice(ReadWrite);
}

// qlocal's destroy aborts (Qt 6's destructor), except during a graceful close, whose queued
// bytes it still delivers. No signal is emitted from here.
QtLocalSocket::~QtLocalSocket() { (void)qlocal_socket_destroy(socket_); }

void QtLocalSocket::attach() {
    (void)qlocal_socket_set_userdata(socket_, this, nullptr);
    (void)qlocal_socket_set_connected_callback(socket_, &onConnected);
    (void)qlocal_socket_set_disconnected_callback(socket_, &onDisconnected);
    (void)qlocal_socket_set_ready_read_callback(socket_, &onReadyRead);
    (void)qlocal_socket_set_read_channel_finished_callback(socket_, &onReadChannelFinished);
    (void)qlocal_socket_set_error_callback(socket_, &onError);
    (void)qlocal_socket_set_state_changed_callback(socket_, &onStateChanged);
    (void)qlocal_socket_set_bytes_written_callback(socket_, &onBytesWritten);
}

// Opens the QIODevice side once qlocal's connection is open (never reopens after close()).
void QtLocalSocket::openDevice(OpenMode mode) {
    if (!isOpen() && qlocal_socket_is_open(socket_)) QIODevice::open((mode & ReadWrite) | Unbuffered);
}

void QtLocalSocket::syncErrorString() { setErrorString(text(qlocal_socket_error_string(socket_))); }

void QtLocalSocket::connectToServer(OpenMode openMode) {
    const LocalSocketState now = state();
    if (now == ConnectedState || now == ConnectingState) {
        // Qt signals the misuse without changing error() (qlocal refuses it with no callback).
        setErrorString(QStringLiteral("QLocalSocket::connectToServer: Operation not permitted when socket is in this state"));
        emit errorOccurred(OperationError);
        return;
    }
    connectMode_ = openMode;
    (void)qlocal_socket_connect_to_server_with_mode(socket_, nullptr, static_cast<int32_t>(openMode & ReadWrite));
    syncErrorString();
    openDevice(openMode);
}

void QtLocalSocket::connectToServer(const QString &name, OpenMode openMode) {
    setServerName(name);
    connectToServer(openMode);
}

bool QtLocalSocket::open(OpenMode openMode) {
    connectToServer(openMode);
    return isOpen();
}

void QtLocalSocket::disconnectFromServer() { (void)qlocal_socket_disconnect_from_server(socket_); }

void QtLocalSocket::abort() {
#if QT_VERSION >= QT_VERSION_CHECK(6, 0, 0)
    (void)qlocal_socket_abort(socket_);
    QIODevice::close();  // Qt 6's abort() also closes the device: aboutToClose, then not open
#else
    // Qt 5's abort() emits aboutToClose first, with the bytes still there, and leaves it open.
    if (isOpen()) emit aboutToClose();
    (void)qlocal_socket_abort(socket_);
#endif
}

void QtLocalSocket::close() {
    QIODevice::close();                    // aboutToClose, QIODevice's bytes dropped
    (void)qlocal_socket_close(socket_);    // qlocal's bytes dropped, then a graceful disconnect
}

void QtLocalSocket::setServerName(const QString &name) {
    if (state() != UnconnectedState) {
        qWarning("QLocalSocket::setServerName() called while not in unconnected state");
        return;
    }
    (void)qlocal_socket_set_server_name(socket_, QFile::encodeName(name).constData());
}

QString QtLocalSocket::serverName() const { return QFile::decodeName(qlocal_socket_server_name(socket_)); }

QString QtLocalSocket::fullServerName() const { return QFile::decodeName(qlocal_socket_full_server_name(socket_)); }

void QtLocalSocket::setSocketOptions(SocketOptions option) {
    if (state() != UnconnectedState) {
        qWarning("QLocalSocket::setSocketOptions() called while not in unconnected state");
        return;
    }
    (void)qlocal_socket_set_socket_options(socket_, static_cast<uint32_t>(option));
}

QtLocalSocket::SocketOptions QtLocalSocket::socketOptions() const {
    return SocketOptions(static_cast<int>(qlocal_socket_socket_options(socket_)));
}

bool QtLocalSocket::isSequential() const { return true; }

qint64 QtLocalSocket::bytesAvailable() const {
    return QIODevice::bytesAvailable() + static_cast<qint64>(qlocal_socket_bytes_available(socket_));
}

qint64 QtLocalSocket::bytesToWrite() const { return static_cast<qint64>(qlocal_socket_bytes_to_write(socket_)); }

bool QtLocalSocket::canReadLine() const { return QIODevice::canReadLine() || qlocal_socket_can_read_line(socket_); }

QtLocalSocket::LocalSocketError QtLocalSocket::error() const {
    return static_cast<LocalSocketError>(qlocal_socket_error(socket_));
}

QString QtLocalSocket::errorString() const { return text(qlocal_socket_error_string(socket_)); }

bool QtLocalSocket::flush() {
    bool wrote = false;
    return qlocal_socket_flush(socket_, &wrote) == QLOCAL_RESULT_OK && wrote;
}

bool QtLocalSocket::isValid() const { return qlocal_socket_is_valid(socket_); }

qint64 QtLocalSocket::readBufferSize() const { return static_cast<qint64>(qlocal_socket_read_buffer_size(socket_)); }

void QtLocalSocket::setReadBufferSize(qint64 size) {
    (void)qlocal_socket_set_read_buffer_size(socket_, size > 0 ? static_cast<size_t>(size) : 0);
}

bool QtLocalSocket::setSocketDescriptor(qintptr socketDescriptor, LocalSocketState socketState, OpenMode openMode) {
    if (socketState != ConnectedState || (openMode & ReadWrite) == 0) {
        qWarning("QtLocalSocket::setSocketDescriptor: only ConnectedState with a read/write mode is supported");
        return false;
    }
    // The mode as for connectToServer: read-only refuses writes, write-only drops what arrives.
    if (qlocal_socket_set_socket_descriptor_with_state(socket_, socketDescriptor, QLOCAL_LOCAL_SOCKET_STATE_CONNECTED,
                                                       static_cast<int32_t>(openMode & ReadWrite)) != QLOCAL_RESULT_OK) {
        syncErrorString();
        return false;
    }
    connectMode_ = openMode;
    openDevice(openMode);
    return true;
}

qintptr QtLocalSocket::socketDescriptor() const { return qlocal_socket_socket_descriptor(socket_); }

QtLocalSocket::LocalSocketState QtLocalSocket::state() const {
    return static_cast<LocalSocketState>(qlocal_socket_state(socket_));
}

bool QtLocalSocket::waited(qlocal_result rc) {
    syncErrorString();  // a timeout sets SocketTimeoutError, as in Qt
    return rc == QLOCAL_RESULT_OK;
}

bool QtLocalSocket::waitForBytesWritten(int msecs) {
    return waited(qlocal_socket_wait_for_bytes_written(socket_, toMs(msecs)));
}

bool QtLocalSocket::waitForConnected(int msecs) {
    const bool ok = waited(qlocal_socket_wait_for_connected(socket_, toMs(msecs)));
    openDevice(connectMode_);
    // Qt: without a connect under way, the answer is whether the socket is connected.
    return ok || state() == ConnectedState;
}

bool QtLocalSocket::waitForDisconnected(int msecs) {
    if (state() == UnconnectedState) {
        qWarning("QLocalSocket::waitForDisconnected() is not allowed in UnconnectedState");
        return false;
    }
    return waited(qlocal_socket_wait_for_disconnected(socket_, toMs(msecs)));
}

bool QtLocalSocket::waitForReadyRead(int msecs) {
    return waited(qlocal_socket_wait_for_ready_read(socket_, toMs(msecs)));
}

qint64 QtLocalSocket::readData(char *data, qint64 maxSize) {
    size_t n = 0;
    if (qlocal_socket_read(socket_, reinterpret_cast<uint8_t *>(data), static_cast<size_t>(maxSize), &n) !=
        QLOCAL_RESULT_OK)
        return -1;
    // Nothing buffered and nothing more to come: the end of the stream (Qt's -1).
    if (n == 0 && maxSize > 0 && qlocal_socket_at_end(socket_)) return -1;
    return static_cast<qint64>(n);
}

// QIODevice leaves one byte past `maxSize` for its '\0'; this reads at most `maxSize` bytes
// through the first '\n' (peeked, then skipped) and never relies on that byte.
qint64 QtLocalSocket::readLineData(char *data, qint64 maxSize) {
    if (maxSize <= 0) return 0;
    size_t peeked = 0;
    if (qlocal_socket_peek(socket_, reinterpret_cast<uint8_t *>(data), static_cast<size_t>(maxSize), &peeked) !=
        QLOCAL_RESULT_OK)
        return -1;
    if (peeked == 0) return qlocal_socket_at_end(socket_) ? -1 : 0;
    const void *nl = std::memchr(data, '\n', peeked);
    const size_t line = nl ? static_cast<size_t>(static_cast<const char *>(nl) - data) + 1 : peeked;
    size_t skipped = 0;
    if (qlocal_socket_skip(socket_, line, &skipped) != QLOCAL_RESULT_OK) return -1;
    return static_cast<qint64>(skipped);
}

qint64 QtLocalSocket::writeData(const char *data, qint64 maxSize) {
    if (qlocal_socket_write(socket_, reinterpret_cast<const uint8_t *>(data), static_cast<size_t>(maxSize)) !=
        QLOCAL_RESULT_OK) {
        syncErrorString();
        return -1;
    }
    return maxSize;
}

void QtLocalSocket::onConnected(void *self, qlocal_socket *) {
    auto *s = static_cast<QtLocalSocket *>(self);
    s->openDevice(s->connectMode_);
    emit s->connected();
}

void QtLocalSocket::onDisconnected(void *self, qlocal_socket *) { emit static_cast<QtLocalSocket *>(self)->disconnected(); }

void QtLocalSocket::onReadyRead(void *self, qlocal_socket *) { emit static_cast<QtLocalSocket *>(self)->readyRead(); }

void QtLocalSocket::onReadChannelFinished(void *self, qlocal_socket *) {
    emit static_cast<QtLocalSocket *>(self)->readChannelFinished();
}

void QtLocalSocket::onError(void *self, qlocal_socket *, qlocal_local_socket_error error) {
    auto *s = static_cast<QtLocalSocket *>(self);
    s->syncErrorString();
    const auto e = static_cast<LocalSocketError>(error);
#if QT_VERSION < QT_VERSION_CHECK(6, 0, 0)
    QPointer<QtLocalSocket> alive(s);
    emit s->error(e);  // Qt 5 emits the deprecated twin first
    if (!alive) return;
#endif
    emit s->errorOccurred(e);
}

void QtLocalSocket::onStateChanged(void *self, qlocal_socket *, qlocal_local_socket_state state) {
    auto *s = static_cast<QtLocalSocket *>(self);
    if (state == QLOCAL_LOCAL_SOCKET_STATE_CONNECTED) s->openDevice(s->connectMode_);
    emit s->stateChanged(static_cast<LocalSocketState>(state));
}

void QtLocalSocket::onBytesWritten(void *self, qlocal_socket *, uint64_t bytes) {
    emit static_cast<QtLocalSocket *>(self)->bytesWritten(static_cast<qint64>(bytes));
}

// --- QtLocalServer ------------------------------------------------------------------------------

QtLocalServer::QtLocalServer(QObject *parent) : QtLocalServer(qtThreadLoop(), parent) {}

QtLocalServer::QtLocalServer(qlocal_loop *loop, QObject *parent) : QObject(parent) {
    if (qlocal_server_new(loop, &server_) != QLOCAL_RESULT_OK) {
        server_ = nullptr;
        qWarning("QtLocalServer: no qlocal loop on this thread");
        return;
    }
    (void)qlocal_server_set_userdata(server_, this, nullptr);
    (void)qlocal_server_set_new_connection_callback(server_, &onNewConnection);
    (void)qlocal_server_set_incoming_connection_callback(server_, &onIncomingConnection);
}

// Closes (untaken connections closed, the socket file removed); taken ones are children and go
// with QObject's destructor right after, as in Qt.
QtLocalServer::~QtLocalServer() {
    // Added sockets still queued go back to their QtLocalSocket (a child, deleted right after);
    // the other untaken connections close.
    if (!added_.isEmpty()) {
        qlocal_socket *s = nullptr;
        while (qlocal_server_next_pending_connection(server_, &s) == QLOCAL_RESULT_OK && s) {
            if (!added_.remove(s)) (void)qlocal_socket_destroy(s);
        }
    }
    (void)qlocal_server_destroy(server_);
}

void QtLocalServer::close() { (void)qlocal_server_close(server_); }

QString QtLocalServer::errorString() const { return text(qlocal_server_error_string(server_)); }

bool QtLocalServer::hasPendingConnections() const { return qlocal_server_has_pending_connections(server_); }

bool QtLocalServer::isListening() const { return qlocal_server_is_listening(server_); }

bool QtLocalServer::listen(const QString &name) {
    if (isListening()) {
        qWarning("QLocalServer::listen() called when already listening");
        return false;
    }
    return qlocal_server_listen(server_, QFile::encodeName(name).constData()) == QLOCAL_RESULT_OK;
}

bool QtLocalServer::listen(qintptr socketDescriptor) {
    if (isListening()) {
        qWarning("QLocalServer::listen() called when already listening");
        return false;
    }
    return qlocal_server_listen_descriptor(server_, socketDescriptor) == QLOCAL_RESULT_OK;
}

int QtLocalServer::maxPendingConnections() const { return qlocal_server_max_pending_connections(server_); }

QtLocalSocket *QtLocalServer::nextPendingConnection() {
    qlocal_socket *accepted = nullptr;
    if (qlocal_server_next_pending_connection(server_, &accepted) != QLOCAL_RESULT_OK || !accepted) return nullptr;
    if (QtLocalSocket *added = added_.take(accepted)) return added;
    return new QtLocalSocket(accepted, this);
}

void QtLocalServer::incomingConnection(quintptr socketDescriptor) {
    const qlocal_descriptor fd = static_cast<qlocal_descriptor>(socketDescriptor);
    if (qlocal_server_add_pending_descriptor(server_, fd) != QLOCAL_RESULT_OK) ::close(static_cast<int>(fd));
}

void QtLocalServer::addPendingConnection(QtLocalSocket *socket) {
    if (!socket) return;
    if (qlocal_server_add_pending_connection(server_, socket->handle()) != QLOCAL_RESULT_OK) {
        qWarning("QtLocalServer::addPendingConnection: the socket belongs to another thread's loop");
        return;
    }
    socket->setParent(this);
    added_.insert(socket->handle(), socket);
}

void QtLocalServer::onIncomingConnection(void *self, qlocal_server *, qlocal_descriptor fd) {
    static_cast<QtLocalServer *>(self)->incomingConnection(static_cast<quintptr>(fd));
}

QString QtLocalServer::serverName() const { return QFile::decodeName(qlocal_server_server_name(server_)); }

QString QtLocalServer::fullServerName() const { return QFile::decodeName(qlocal_server_full_server_name(server_)); }

bool QtLocalServer::removeServer(const QString &name) {
    return qlocal_server_remove_server(QFile::encodeName(name).constData()) == QLOCAL_RESULT_OK;
}

QtAbstractSocket::SocketError QtLocalServer::serverError() const {
    return static_cast<QtAbstractSocket::SocketError>(qlocal_server_error(server_));
}

void QtLocalServer::setMaxPendingConnections(int numConnections) {
    (void)qlocal_server_set_max_pending_connections(server_, numConnections);
}

bool QtLocalServer::waitForNewConnection(int msec, bool *timedOut) {
    if (timedOut) *timedOut = false;
    qlocal_result rc = qlocal_server_wait_for_new_connection(server_, toMs(msec));
    if (rc == QLOCAL_RESULT_TIMEOUT && timedOut) *timedOut = true;
    return rc == QLOCAL_RESULT_OK;
}

void QtLocalServer::setListenBacklogSize(int size) { (void)qlocal_server_set_listen_backlog_size(server_, size); }

int QtLocalServer::listenBacklogSize() const { return qlocal_server_listen_backlog_size(server_); }

void QtLocalServer::setSocketOptions(SocketOptions options) {
    (void)qlocal_server_set_socket_options(server_, static_cast<uint32_t>(options));
}

QtLocalServer::SocketOptions QtLocalServer::socketOptions() const {
    return SocketOptions(static_cast<int>(qlocal_server_socket_options(server_)));
}

qintptr QtLocalServer::socketDescriptor() const { return qlocal_server_socket_descriptor(server_); }

void QtLocalServer::onNewConnection(void *self, qlocal_server *) { emit static_cast<QtLocalServer *>(self)->newConnection(); }

}  // namespace qlocal
