// A fortune-style echo peer in plain Qt: signals and slots, QDataStream with read transactions,
// QTimers, deleteLater. Built twice from this one source: with Qt's QLocalServer/QLocalSocket,
// and with -DUSE_QLOCAL against qlocal's QtLocalServer/QtLocalSocket (the typedef switch below is
// the whole port, in qt_classes_switch.hpp), for Qt 6 and Qt 5; ctest runs every server build against every client build.
//
//   <peer> server|client --name NAME --count N --timeout-ms MS
//
// The client sends N requests (index, QByteArray of the size sizeFor(index): a null array, 0, 1,
// 64 KiB - 1, 64 KiB, 64 KiB + 1, 1 MiB + 3, ...) keeping a few in flight, from a QTimer; the
// server checks every byte, answers (index, payload) and the client checks every byte of the
// answer, then disconnects. The server prints "listening" once it listens and exits when the
// client's connection is gone. Exit status 0 when every message came back intact.

#include "qt_classes_switch.hpp"  // the port: QLocalServer/QLocalSocket, or qlocal's classes

#include <QByteArray>
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDataStream>
#include <QObject>
#include <QTimer>

#include <cstdio>

namespace {

constexpr int kInFlight = 4;
constexpr QDataStream::Version kStreamVersion = QDataStream::Qt_5_12;  // Qt 5 and Qt 6 peers agree

// -1 stands for a null QByteArray.
int sizeFor(quint32 index) {
    static const int sizes[] = {-1, 0, 1, 65535, 65536, 65537, 1024 * 1024 + 3, 2, 100, 4095, 300000, 7, 131073};
    return sizes[index % (sizeof sizes / sizeof sizes[0])];
}

QByteArray payloadFor(quint32 index) {
    const int size = sizeFor(index);
    if (size < 0) return QByteArray();
    QByteArray data(size, Qt::Uninitialized);
    char *p = data.data();
    for (int i = 0; i < size; ++i) p[i] = static_cast<char>((index * 131u + static_cast<unsigned>(i) * 7u + (i >> 9)) & 0xffu);
    return data;
}

// Every byte compared; null and empty arrays both arrive as size 0.
bool intact(quint32 index, const QByteArray &got, QString *why) {
    const QByteArray want = payloadFor(index);
    if (got.size() != want.size()) {
        *why = QStringLiteral("message %1: %2 bytes, expected %3").arg(index).arg(got.size()).arg(want.size());
        return false;
    }
    for (int i = 0; i < got.size(); ++i) {
        if (got.at(i) != want.at(i)) {
            *why = QStringLiteral("message %1: byte %2 differs").arg(index).arg(i);
            return false;
        }
    }
    return true;
}

// One message, (index, payload), as both sides frame it.
QByteArray frame(quint32 index, const QByteArray &payload) {
    QByteArray bytes;
    QDataStream out(&bytes, QIODevice::WriteOnly);
    out.setVersion(kStreamVersion);
    out << index << payload;
    return bytes;
}

// Reads one whole message in a transaction; false (nothing consumed) while it is incomplete.
bool readMessage(QDataStream &in, quint32 *index, QByteArray *payload) {
    in.startTransaction();
    in >> *index >> *payload;
    return in.commitTransaction();
}

void fail(const QString &why) {
    std::fprintf(stderr, "%s: FAILED: %s\n", qPrintable(QCoreApplication::applicationName()), qPrintable(why));
    QCoreApplication::exit(1);
}

}  // namespace

// One accepted connection: reads requests with a transaction each, echoes them.
class Connection : public QObject {
    Q_OBJECT
public:
    Connection(LocalSocket *socket, quint32 expected) : QObject(socket), socket_(socket), expected_(expected) {
        in_.setDevice(socket_);
        in_.setVersion(kStreamVersion);
        connect(socket_, &LocalSocket::readyRead, this, &Connection::readRequests);
        connect(socket_, &LocalSocket::errorOccurred, this, &Connection::socketError);
        connect(socket_, &LocalSocket::disconnected, this, &Connection::finish);
    }

private slots:
    void readRequests() {
        quint32 index = 0;
        QByteArray payload;
        while (readMessage(in_, &index, &payload)) {  // an incomplete one waits for the next readyRead
            QString why;
            if (index != received_ || !intact(index, payload, &why)) {
                fail(why.isEmpty() ? QStringLiteral("request %1 out of order").arg(index) : why);
                return;
            }
            ++received_;
            const QByteArray reply = frame(index, payload);
            if (socket_->write(reply) != reply.size()) fail(QStringLiteral("write: ") + socket_->errorString());
        }
    }

    void socketError(LocalSocket::LocalSocketError error) {
        if (error != LocalSocket::PeerClosedError) fail(QStringLiteral("server socket: ") + socket_->errorString());
    }

    void finish() {
        if (received_ != expected_)
            fail(QStringLiteral("the client left after %1 of %2 requests").arg(received_).arg(expected_));
        socket_->deleteLater();  // this Connection, its child, goes with it
    }

private:
    LocalSocket *socket_;
    QDataStream in_;
    quint32 expected_;
    quint32 received_ = 0;
};

class Server : public QObject {
    Q_OBJECT
public:
    explicit Server(quint32 count) : count_(count) {
        connect(&server_, &LocalServer::newConnection, this, &Server::accept);
    }

    bool listen(const QString &name) {
        LocalServer::removeServer(name);
        if (!server_.listen(name)) {
            fail(QStringLiteral("listen: ") + server_.errorString());
            return false;
        }
        std::printf("listening on %s\n", qPrintable(server_.fullServerName()));
        std::fflush(stdout);
        return true;
    }

private slots:
    void accept() {
        while (server_.hasPendingConnections()) {
            LocalSocket *socket = server_.nextPendingConnection();
            if (socket->parent() != &server_) fail(QStringLiteral("an accepted socket is not the server's child"));
            auto *connection = new Connection(socket, count_);
            // One client: once its connection is deleted (deleteLater in Connection::finish), done.
            connect(connection, &QObject::destroyed, qApp, &QCoreApplication::quit);
        }
    }

private:
    LocalServer server_;
    quint32 count_;
};

class Client : public QObject {
    Q_OBJECT
public:
    explicit Client(quint32 count) : socket_(new LocalSocket(this)), count_(count) {
        in_.setDevice(socket_);
        in_.setVersion(kStreamVersion);
        sender_.setInterval(0);
        connect(&sender_, &QTimer::timeout, this, &Client::sendSome);
        connect(socket_, &LocalSocket::connected, &sender_, QOverload<>::of(&QTimer::start));
        connect(socket_, &LocalSocket::readyRead, this, &Client::readReplies);
        connect(socket_, &LocalSocket::errorOccurred, this, &Client::socketError);
        connect(socket_, &LocalSocket::disconnected, this, &Client::finish);
        connect(socket_, &QObject::destroyed, qApp, &QCoreApplication::quit);
    }

    void start(const QString &name) { socket_->connectToServer(name); }

private slots:
    // The QTimer's slot: tops the requests in flight up to kInFlight, then rests until a reply.
    void sendSome() {
        while (sent_ < count_ && sent_ - received_ < kInFlight) {
            const QByteArray request = frame(sent_, payloadFor(sent_));
            if (socket_->write(request) != request.size()) {
                fail(QStringLiteral("write: ") + socket_->errorString());
                return;
            }
            ++sent_;
        }
        sender_.stop();
    }

    void readReplies() {
        quint32 index = 0;
        QByteArray payload;
        while (readMessage(in_, &index, &payload)) {
            QString why;
            if (index != received_ || !intact(index, payload, &why)) {
                fail(why.isEmpty() ? QStringLiteral("reply %1 out of order").arg(index) : why);
                return;
            }
            ++received_;
        }
        if (received_ == count_) {
            socket_->disconnectFromServer();
        } else if (sent_ < count_ && !sender_.isActive()) {
            sender_.start();
        }
    }

    void socketError(LocalSocket::LocalSocketError error) {
        if (received_ == count_ && error == LocalSocket::PeerClosedError) return;
        fail(QStringLiteral("client socket: ") + socket_->errorString());
    }

    void finish() {
        if (received_ != count_) {
            fail(QStringLiteral("disconnected after %1 of %2 replies").arg(received_).arg(count_));
            return;
        }
        std::printf("%u messages echoed intact\n", count_);
        socket_->deleteLater();  // destroyed -> quit
    }

private:
    LocalSocket *socket_;
    QDataStream in_;
    QTimer sender_;
    quint32 count_;
    quint32 sent_ = 0;
    quint32 received_ = 0;
};

int main(int argc, char **argv) {
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.addPositionalArgument("role", "server or client");
    parser.addOption({"name", "server name", "name"});
    parser.addOption({"count", "messages", "n", "64"});
    parser.addOption({"timeout-ms", "watchdog", "ms", "20000"});
    parser.process(app);
    const QStringList roles = parser.positionalArguments();
    const QString name = parser.value("name");
    const quint32 count = parser.value("count").toUInt();
    if (roles.size() != 1 || name.isEmpty() || count == 0) parser.showHelp(2);

    QTimer watchdog;
    watchdog.setSingleShot(true);
    QObject::connect(&watchdog, &QTimer::timeout, &app, [] { fail(QStringLiteral("timed out")); });
    watchdog.start(parser.value("timeout-ms").toInt());

    if (roles.first() == QLatin1String("server")) {
        Server server(count);
        if (!server.listen(name)) return 1;
        return app.exec();
    }
    if (roles.first() == QLatin1String("client")) {
        Client client(count);
        client.start(name);
        return app.exec();
    }
    parser.showHelp(2);
}

#include "qt_classes_peer.moc"
