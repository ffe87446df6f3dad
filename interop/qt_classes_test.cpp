// Signal order, and the state inside each signal, of a local socket pair in one QCoreApplication.
// Plain Qt code with a typedef switch: built with Qt's QLocalServer/QLocalSocket the expected
// lists below are what Qt does (they were measured that way, and the Qt builds keep checking
// them); built with -DUSE_QLOCAL the same checks run on qlocal's QtLocalServer/QtLocalSocket.
// Where qlocal differs on purpose the expectation says so under `#ifdef USE_QLOCAL`.
//
//   qt_classes_test <scenario>   runs one scenario, exit 0 when it passed
//   qt_classes_test --list       prints the scenario names
//
// Every wait has a deadline; a scenario that times out fails.
#include "qt_classes_switch.hpp"

#include <QCoreApplication>
#include <QDataStream>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QPointer>
#include <QStringList>
#include <QTextStream>
#include <QThread>
#include <QTimer>

#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>

namespace {

constexpr int kDeadlineMs = 10000;

QString stateName(int s) {
    switch (s) {
    case LocalSocket::UnconnectedState: return QStringLiteral("Unconnected");
    case LocalSocket::ConnectingState: return QStringLiteral("Connecting");
    case LocalSocket::ConnectedState: return QStringLiteral("Connected");
    case LocalSocket::ClosingState: return QStringLiteral("Closing");
    }
    return QString::number(s);
}

QString errorName(int e) {
    switch (e) {
    case LocalSocket::PeerClosedError: return QStringLiteral("PeerClosed");
    case LocalSocket::ServerNotFoundError: return QStringLiteral("ServerNotFound");
    case LocalSocket::SocketTimeoutError: return QStringLiteral("SocketTimeout");
    case LocalSocket::ConnectionRefusedError: return QStringLiteral("ConnectionRefused");
    case LocalSocket::UnknownSocketError: return QStringLiteral("Unknown");
    }
    return QString::number(e);
}

}  // namespace

// Every change anywhere wakes spin(): the recorders and the server report here.
class Hub : public QObject {
    Q_OBJECT
signals:
    void changed();
};

namespace {

Hub *hub = nullptr;
QString failure;

bool check(bool ok, const QString &what) {
    if (!ok && failure.isEmpty()) failure = what;
    return ok;
}

// Runs the event loop until done() or the deadline; false (and a failure) on the deadline.
bool spin(const std::function<bool()> &done, const QString &what, int ms = kDeadlineMs) {
    if (done()) return true;
    QEventLoop loop;
    QTimer deadline;
    deadline.setSingleShot(true);
    QObject::connect(&deadline, &QTimer::timeout, &loop, &QEventLoop::quit);
    QObject::connect(hub, &Hub::changed, &loop, [&] {
        if (done()) loop.quit();
    });
    deadline.start(ms);
    loop.exec();
    // Ended by the deadline: failed, even if done() holds now (then nothing woke the loop for it).
    return check(deadline.isActive() && done(), QStringLiteral("timed out waiting for ") + what);
}

}  // namespace

// Records each signal of one socket with the getters read inside it.
class Recorder : public QObject {
    Q_OBJECT
public:
    explicit Recorder(LocalSocket *socket) : QObject(socket), socket_(socket) {
        connect(socket, &LocalSocket::connected, this, [this] { note("connected"); });
        connect(socket, &LocalSocket::disconnected, this, [this] { note("disconnected"); });
        connect(socket, &LocalSocket::errorOccurred, this,
                [this](LocalSocket::LocalSocketError e) { note("errorOccurred(" + errorName(e) + ")"); });
        connect(socket, &LocalSocket::stateChanged, this,
                [this](LocalSocket::LocalSocketState s) { note("stateChanged(" + stateName(s) + ")"); });
        connect(socket, &LocalSocket::readyRead, this, [this] { note("readyRead"); });
        connect(socket, &LocalSocket::bytesWritten, this,
                [this](qint64 n) { note("bytesWritten(" + QString::number(n) + ")"); });
        connect(socket, &LocalSocket::aboutToClose, this, [this] { note("aboutToClose"); });
        connect(socket, &LocalSocket::readChannelFinished, this, [this] { note("readChannelFinished"); });
    }

    // An event with the socket's state, bytes available and open flag at that moment.
    void note(const QString &what) {
        events << QStringLiteral("%1 s=%2 a=%3 o=%4")
                      .arg(what, stateName(socket_->state()))
                      .arg(socket_->bytesAvailable())
                      .arg(socket_->isOpen() ? 1 : 0);
        emit hub->changed();
    }

    bool saw(const QString &prefix) const {
        for (const QString &e : events)
            if (e.startsWith(prefix)) return true;
        return false;
    }

    QStringList events;

private:
    LocalSocket *socket_;
};

namespace {

bool expect(const Recorder &r, const QStringList &want, const QString &who) {
    if (r.events == want) return true;
    QString text = who + QStringLiteral(" signals differ\n  got:\n");
    for (const QString &e : r.events) text += "    " + e + "\n";
    text += QStringLiteral("  expected:\n");
    for (const QString &e : want) text += "    " + e + "\n";
    return check(false, text);
}

QString uniqueName(const char *scenario) {
    return QStringLiteral("qct-%1-%2").arg(QLatin1String(scenario)).arg(QCoreApplication::applicationPid());
}

// Listens on the scenario's name (newConnection wakes spin()); the name, or "" on failure.
QString listenFor(LocalServer &server, const char *scenario) {
    QObject::connect(&server, &LocalServer::newConnection, hub, &Hub::changed);
    const QString name = uniqueName(scenario);
    LocalServer::removeServer(name);
    return check(server.listen(name), "listen: " + server.errorString()) ? name : QString();
}

// A listening server, a connected client and the server's end of it, all recorded from the start.
struct Pair {
    LocalServer server;
    LocalSocket *client = new LocalSocket(&server);
    Recorder *clientLog = new Recorder(client);
    LocalSocket *accepted = nullptr;
    Recorder *acceptedLog = nullptr;

    bool open(const char *scenario) {
        const QString name = listenFor(server, scenario);
        if (name.isEmpty()) return false;
        client->connectToServer(name);
        if (!spin([&] { return server.hasPendingConnections() && clientLog->saw("connected"); }, "the connection"))
            return false;
        accepted = server.nextPendingConnection();
        acceptedLog = new Recorder(accepted);
        clientLog->events.clear();
        return check(accepted != nullptr, "nextPendingConnection");
    }
};

// connect -> stateChanged(Connecting), stateChanged(Connected), connected; write -> bytesWritten.
bool connectWrite() {
    LocalServer server;
    const QString name = listenFor(server, "connect_write");
    if (name.isEmpty()) return false;
    LocalSocket client;
    Recorder log(&client);
    client.connectToServer(name);
    log.note("connectToServer returned");
    if (!spin([&] { return log.saw("connected"); }, "connected")) return false;
    if (!check(client.write("0123456789") == 10, "write")) return false;
    if (!spin([&] { return log.saw("bytesWritten"); }, "bytesWritten")) return false;
    if (!spin([&] { return server.hasPendingConnections(); }, "the pending connection")) return false;
    const QStringList want = {
#ifdef USE_QLOCAL
        // qlocal emits a call's signals from the loop after the call; the state is final and the
        // device open when the call returns (so a write right after it works, as in Qt).
        "connectToServer returned s=Connected a=0 o=1",
        "stateChanged(Connecting) s=Connecting a=0 o=1",
        "stateChanged(Connected) s=Connected a=0 o=1",
#else
        "stateChanged(Connecting) s=Connecting a=0 o=0",
        "stateChanged(Connected) s=Connected a=0 o=0",  // Qt opens the device just before connected()
#endif
        "connected s=Connected a=0 o=1",
#ifndef USE_QLOCAL
        "connectToServer returned s=Connected a=0 o=1",
#endif
        "bytesWritten(10) s=Connected a=0 o=1",
    };
    return expect(log, want, "client");
}

// The peer writes and disconnects: readyRead, then the close, with the bytes still readable in
// disconnected() and after it.
bool peerClose() {
    Pair p;
    if (!p.open("peer_close")) return false;
    QByteArray got;
    QObject::connect(p.client, &LocalSocket::disconnected, p.client, [&] { got = p.client->readAll(); });
    if (!check(p.accepted->write("hello\n") == 6, "write")) return false;
    p.accepted->disconnectFromServer();
    if (!spin([&] { return p.clientLog->saw("disconnected"); }, "disconnected")) return false;
    if (!check(got == "hello\n", "readAll in disconnected() gave '" + QString::fromLatin1(got) + "'")) return false;
    return expect(*p.clientLog,
                  {
                      "readyRead s=Connected a=6 o=1",
                      "errorOccurred(PeerClosed) s=Connected a=6 o=1",
                      "stateChanged(Closing) s=Closing a=6 o=1",
                      "stateChanged(Unconnected) s=Unconnected a=6 o=1",
                      "readChannelFinished s=Unconnected a=6 o=1",
                      "disconnected s=Unconnected a=6 o=1",
                  },
                  "client");
}

// close(): aboutToClose first (still open), then the close; the device is closed at once.
bool aboutToClose() {
    Pair p;
    if (!p.open("about_to_close")) return false;
    p.client->close();
    p.clientLog->note("close returned");
    if (!spin([&] { return p.clientLog->saw("disconnected"); }, "disconnected")) return false;
    if (!spin([&] { return p.acceptedLog->saw("disconnected"); }, "the server side's disconnected")) return false;
#if !defined(USE_QLOCAL) && QT_VERSION < QT_VERSION_CHECK(6, 0, 0)
    // Qt 5 closes the device last and emits aboutToClose twice (its inner socket's, forwarded,
    // and its own); qlocal's classes do what Qt 6 does under both majors.
    return expect(*p.clientLog,
                  {
                      "aboutToClose s=Connected a=0 o=1",
                      "stateChanged(Closing) s=Closing a=0 o=1",
                      "stateChanged(Unconnected) s=Unconnected a=0 o=1",
                      "readChannelFinished s=Unconnected a=0 o=1",
                      "disconnected s=Unconnected a=0 o=1",
                      "aboutToClose s=Unconnected a=0 o=1",
                      "close returned s=Unconnected a=0 o=0",
                  },
                  "client");
#else
    return expect(*p.clientLog,
                  {
                      "aboutToClose s=Connected a=0 o=1",
#ifdef USE_QLOCAL
                      "close returned s=Unconnected a=0 o=0",
#endif
                      "stateChanged(Closing) s=Closing a=0 o=0",
                      "stateChanged(Unconnected) s=Unconnected a=0 o=0",
                      "readChannelFinished s=Unconnected a=0 o=0",
                      "disconnected s=Unconnected a=0 o=0",
#ifndef USE_QLOCAL
                      "close returned s=Unconnected a=0 o=0",
#endif
                  },
                  "client");
#endif
}

// abort(): the connection ends at once, unread bytes dropped.
bool abortScenario() {
    Pair p;
    if (!p.open("abort")) return false;
    p.accepted->write("unread");
    if (!spin([&] { return p.clientLog->saw("readyRead"); }, "readyRead")) return false;
    p.clientLog->events.clear();
    p.client->abort();
    p.clientLog->note("abort returned");
    if (!spin([&] { return p.clientLog->saw("disconnected"); }, "disconnected")) return false;
    return expect(*p.clientLog,
                  {
#if QT_VERSION >= QT_VERSION_CHECK(6, 0, 0) && defined(USE_QLOCAL)
                      // Qt 6's abort() emits the close inside, then closes the device (aboutToClose);
                      // qlocal closes the device inside and delivers the close after.
                      "aboutToClose s=Unconnected a=0 o=1",
                      "abort returned s=Unconnected a=0 o=0",
                      "stateChanged(Unconnected) s=Unconnected a=0 o=0",
                      "readChannelFinished s=Unconnected a=0 o=0",
                      "disconnected s=Unconnected a=0 o=0",
#elif QT_VERSION >= QT_VERSION_CHECK(6, 0, 0)
                      "stateChanged(Unconnected) s=Unconnected a=0 o=1",
                      "readChannelFinished s=Unconnected a=0 o=1",
                      "disconnected s=Unconnected a=0 o=1",
                      "aboutToClose s=Unconnected a=0 o=1",
                      "abort returned s=Unconnected a=0 o=0",
#else
                      // Qt 5: aboutToClose first, and the device stays open.
                      "aboutToClose s=Connected a=6 o=1",
#ifdef USE_QLOCAL
                      "abort returned s=Unconnected a=0 o=1",
#endif
                      "stateChanged(Unconnected) s=Unconnected a=0 o=1",
                      "readChannelFinished s=Unconnected a=0 o=1",
                      "disconnected s=Unconnected a=0 o=1",
#ifndef USE_QLOCAL
                      "abort returned s=Unconnected a=0 o=1",
#endif
#endif
                  },
                  "client");
}

// A missing server: errorOccurred(ServerNotFoundError), never connected or disconnected.
bool serverNotFound() {
    LocalSocket client;
    Recorder log(&client);
    client.connectToServer(uniqueName("server_not_found"));
    log.note("connectToServer returned");
    if (!spin([&] { return log.saw("stateChanged(Unconnected)"); }, "stateChanged(Unconnected)")) return false;
    if (!check(client.error() == LocalSocket::ServerNotFoundError, "error() is not ServerNotFoundError")) return false;
    if (!check(!client.errorString().isEmpty(), "empty errorString")) return false;
    return expect(log,
                  {
#ifdef USE_QLOCAL
                      "connectToServer returned s=Unconnected a=0 o=0",
#endif
                      "stateChanged(Connecting) s=Connecting a=0 o=0",
                      "errorOccurred(ServerNotFound) s=Connecting a=0 o=0",
                      "stateChanged(Unconnected) s=Unconnected a=0 o=0",
#ifndef USE_QLOCAL
                      "connectToServer returned s=Unconnected a=0 o=0",
#endif
                  },
                  "client");
}

// The blocking waits, each with a deadline, and no event loop.
bool waits() {
    LocalServer server;
    const QString name = listenFor(server, "waits");
    if (name.isEmpty()) return false;
    LocalSocket client;
    Recorder log(&client);
    client.connectToServer(name);
    if (!check(client.waitForConnected(5000), "waitForConnected")) return false;
    if (!check(log.saw("connected"), "no connected() by waitForConnected's return")) return false;
    bool timedOut = true;
    if (!check(server.waitForNewConnection(5000, &timedOut) && !timedOut, "waitForNewConnection")) return false;
    LocalSocket *accepted = server.nextPendingConnection();
    if (!check(accepted != nullptr, "nextPendingConnection")) return false;

    QElapsedTimer t;
    t.start();
    if (!check(!client.waitForReadyRead(100), "waitForReadyRead(100) with nothing sent")) return false;
    const qint64 waited = t.elapsed();
    if (!check(waited >= 90 && waited < 5000, QStringLiteral("waitForReadyRead(100) took %1 ms").arg(waited)))
        return false;
    if (!check(client.state() == LocalSocket::ConnectedState, "a timeout disconnected")) return false;
    if (!check(client.error() == LocalSocket::SocketTimeoutError, "error() after a timeout")) return false;
    // Qt emits errorOccurred(SocketTimeoutError) inside the wait, the socket still connected.
    if (!check(log.events.last() == "errorOccurred(SocketTimeout) s=Connected a=0 o=1",
               "after the timeout: " + log.events.join(" | ")))
        return false;

    if (!check(accepted->write(QByteArray(1 << 20, 'x')) == (1 << 20), "write 1 MiB")) return false;
    if (!check(accepted->waitForBytesWritten(5000), "waitForBytesWritten")) return false;
    if (!check(client.waitForReadyRead(5000), "waitForReadyRead")) return false;
    if (!check(log.saw("readyRead"), "no readyRead by waitForReadyRead's return")) return false;
    // One thread and no event loop: each side's waits move the bytes on.
    qint64 total = client.readAll().size();
    while (total < (1 << 20)) {
        if (accepted->bytesToWrite() > 0 && !check(accepted->waitForBytesWritten(5000), "waitForBytesWritten"))
            return false;
        if (client.bytesAvailable() == 0 && !check(client.waitForReadyRead(5000), "waitForReadyRead for the rest"))
            return false;
        total += client.readAll().size();
    }
    if (!check(total == (1 << 20), "1 MiB read")) return false;
    accepted->disconnectFromServer();
    if (!check(client.waitForDisconnected(5000), "waitForDisconnected")) return false;
    return check(log.saw("disconnected") && client.state() == LocalSocket::UnconnectedState, "disconnected state");
}

// QTextStream writes lines; readLine/canReadLine and a QTextStream read them back.
bool textStream() {
    Pair p;
    if (!p.open("text_stream")) return false;
    {
        QTextStream out(p.accepted);
        out << "line one\n" << 42 << " line two\n" << "no newline";
    }
    QStringList lines;
    const QMetaObject::Connection reader = QObject::connect(p.client, &LocalSocket::readyRead, p.client, [&] {
        while (p.client->canReadLine()) lines << QString::fromUtf8(p.client->readLine());
        emit hub->changed();
    });
    if (!spin([&] { return lines.size() == 2; }, "two lines")) return false;
    QObject::disconnect(reader);
    if (!check(lines == QStringList({"line one\n", "42 line two\n"}), "lines: " + lines.join('|'))) return false;
    if (!spin([&] { return p.client->bytesAvailable() == 10; }, "the unterminated rest")) return false;
    if (!check(!p.client->canReadLine(), "canReadLine without a newline")) return false;
    char small[4];
    if (!check(p.client->readLine(small, sizeof small) == 3 && std::strcmp(small, "no ") == 0, "readLine(char*, 4)"))
        return false;
    p.accepted->write(" end\n");
    if (!spin([&] { return p.client->canReadLine(); }, "the last line")) return false;
    QTextStream in(p.client);
    const QString last = in.readLine();
    return check(last == "newline end", "QTextStream::readLine gave '" + last + "'");
}

// deleteLater() inside disconnected(): the socket goes once control returns, nothing after.
bool deleteInDisconnected() {
    Pair p;
    if (!p.open("delete_in_disconnected")) return false;
    QPointer<LocalSocket> client(p.client);
    bool destroyed = false;
    QObject::connect(p.client, &LocalSocket::disconnected, p.client, &QObject::deleteLater);
    QObject::connect(p.client, &QObject::destroyed, hub, [&] {
        destroyed = true;
        emit hub->changed();
    });
    p.accepted->write("bye");
    p.accepted->disconnectFromServer();
    if (!spin([&] { return destroyed; }, "the client's deletion")) return false;
    return check(client.isNull(), "QPointer still set");
}

// QDataStream transactions across two readyReads: the first is rolled back with every byte
// still available (QIODevice's buffer plus the socket's), the second completes.
bool transaction() {
    Pair p;
    if (!p.open("transaction")) return false;
    QByteArray message;
    {
        QDataStream out(&message, QIODevice::WriteOnly);
        out << QByteArray(100000, 'q') << quint32(7);
    }
    QDataStream in(p.client);
    QStringList tries;
    QByteArray payload;
    quint32 tail = 0;
    QObject::connect(p.client, &LocalSocket::readyRead, p.client, [&] {
        in.startTransaction();
        in >> payload >> tail;
        const bool done = in.commitTransaction();
        tries << QStringLiteral("%1 a=%2").arg(done ? "done" : "again").arg(p.client->bytesAvailable());
        emit hub->changed();
    });
    const int half = 60000;
    p.accepted->write(message.left(half));
    if (!spin([&] { return !tries.isEmpty() && p.client->bytesAvailable() == half; }, "the first half")) return false;
    if (!check(tries.last() == QStringLiteral("again a=%1").arg(half), "first try: " + tries.join('|'))) return false;
    p.accepted->write(message.mid(half));
    if (!spin([&] { return tries.last().startsWith("done"); }, "the whole message")) return false;
    if (!check(tries.last() == "done a=0", "last try: " + tries.join('|'))) return false;
    return check(payload == QByteArray(100000, 'q') && tail == 7, "the message's contents");
}

// Bytes that arrived before the server took the connection still give a readyRead once a slot is
// connected (the event loop ran in between).
bool acceptedBeforeSlot() {
    LocalServer server;
    const QString name = listenFor(server, "accepted_before_slot");
    if (name.isEmpty()) return false;
    LocalSocket client;
    Recorder log(&client);
    client.connectToServer(name);
    client.write("early");
    if (!spin([&] { return log.saw("bytesWritten") && server.hasPendingConnections(); }, "the write")) return false;
    LocalSocket *accepted = server.nextPendingConnection();
    if (!check(accepted != nullptr, "nextPendingConnection")) return false;
    Recorder acceptedLog(accepted);
    if (!spin([&] { return acceptedLog.saw("readyRead"); }, "readyRead for the early bytes")) return false;
    return check(accepted->readAll() == "early", "the early bytes");
}

// A socket on a worker thread (its own loop, made on first use and gone with the thread) talks
// to the main thread's server with blocking waits.
bool workerThread() {
    LocalServer server;
    const QString name = listenFor(server, "worker_thread");
    if (name.isEmpty()) return false;
    QObject::connect(&server, &LocalServer::newConnection, &server, [&] {
        LocalSocket *accepted = server.nextPendingConnection();
        QObject::connect(accepted, &LocalSocket::readyRead, accepted, [accepted] {
            if (accepted->readAll() == "ping") accepted->write("pong");
        });
    });
    QString threadFailure;
    std::unique_ptr<QThread> worker(QThread::create([&] {
        LocalSocket socket;
        socket.connectToServer(name);
        if (!socket.waitForConnected(5000)) threadFailure = "waitForConnected: " + socket.errorString();
        else if (socket.write("ping") != 4 || !socket.waitForBytesWritten(5000)) threadFailure = "write";
        else if (!socket.waitForReadyRead(5000)) threadFailure = "waitForReadyRead: " + socket.errorString();
        else if (socket.readAll() != "pong") threadFailure = "the answer";
    }));
    bool finished = false;
    QObject::connect(worker.get(), &QThread::finished, hub, [&] {
        finished = true;
        emit hub->changed();
    });
    worker->start();
    if (!spin([&] { return finished; }, "the worker thread")) {
        worker->wait();
        return false;
    }
    worker->wait();
    return check(threadFailure.isEmpty(), "worker: " + threadFailure);
}

// A server that overrides incomingConnection (Qt's protected virtual) adopts each descriptor in
// a socket of its own and answers on it; nothing becomes a pending connection. Under qlocal also
// Qt 6.8's addPendingConnection: an adopted socket handed back as the next pending connection.
class OverridingServer : public LocalServer {
public:
    QList<LocalSocket *> adopted;
    bool queueThem = false;

protected:
    void incomingConnection(quintptr socketDescriptor) override {
        auto *s = new LocalSocket(this);
        if (!s->setSocketDescriptor(static_cast<qintptr>(socketDescriptor))) {
            delete s;
            return;
        }
        adopted.append(s);
#ifdef USE_QLOCAL
        if (queueThem) return addPendingConnection(s);
#endif
        QObject::connect(s, &LocalSocket::readyRead, s, [s] { s->write("adopted:" + s->readAll()); });
        emit hub->changed();
    }
};

bool incomingOverride() {
    OverridingServer server;
    const QString name = listenFor(server, "incoming_override");
    if (name.isEmpty()) return false;
    LocalSocket client;
    QObject::connect(&client, &LocalSocket::readyRead, hub, &Hub::changed);
    client.connectToServer(name);
    if (!spin([&] { return server.adopted.size() == 1; }, "incomingConnection")) return false;
    if (!check(!server.hasPendingConnections(), "no pending connection")) return false;
    if (!check(server.adopted[0]->state() == LocalSocket::ConnectedState, "the adopted socket's state")) return false;
    client.write("hi");
    // Both ends live in this process: the event loop runs the server's side.
    if (!spin([&] { return client.bytesAvailable() >= 10; }, "the answer")) return false;
    if (!check(client.readAll() == "adopted:hi", "the answer's bytes")) return false;
#ifdef USE_QLOCAL
    server.queueThem = true;
    LocalSocket second;
    second.connectToServer(name);
    if (!spin([&] { return server.hasPendingConnections(); }, "the added pending connection")) return false;
    LocalSocket *next = server.nextPendingConnection();
    if (!check(next == server.adopted.value(1), "nextPendingConnection returns the added socket")) return false;
    if (!check(next->parent() == &server && !server.hasPendingConnections(), "its parent and the queue")) return false;
    QObject::connect(next, &LocalSocket::readyRead, hub, &Hub::changed);
    second.write("queued");
    if (!spin([&] { return next->bytesAvailable() >= 6; }, "bytes on the added socket")) return false;
    if (!check(next->readAll() == "queued", "the added socket's bytes")) return false;
#endif
    return true;
}

struct Scenario {
    const char *name;
    bool (*run)();
};

const Scenario scenarios[] = {
    {"connect_write", connectWrite},
    {"peer_close", peerClose},
    {"about_to_close", aboutToClose},
    {"server_not_found", serverNotFound},
    {"abort", abortScenario},
    {"waits", waits},
    {"text_stream", textStream},
    {"delete_in_disconnected", deleteInDisconnected},
    {"transaction", transaction},
    {"accepted_before_slot", acceptedBeforeSlot},
    {"worker_thread", workerThread},
    {"incoming_override", incomingOverride},
};

}  // namespace

int main(int argc, char **argv) {
    QCoreApplication app(argc, argv);
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <scenario> | --list\n", argv[0]);
        return 2;
    }
    if (std::strcmp(argv[1], "--list") == 0) {
        for (const Scenario &s : scenarios) std::printf("%s\n", s.name);
        return 0;
    }
    Hub h;
    hub = &h;
    for (const Scenario &s : scenarios) {
        if (std::strcmp(argv[1], s.name) != 0) continue;
        const bool ok = s.run() && failure.isEmpty();
        std::fprintf(stderr, "%s: %s%s\n", s.name, ok ? "passed" : "FAILED: ", qPrintable(failure));
        return ok ? 0 : 1;
    }
    std::fprintf(stderr, "no scenario %s\n", argv[1]);
    return 2;
}

#include "qt_classes_test.moc"
