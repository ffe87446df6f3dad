// The Qt side of the interop tests: an unmodified QLocalServer / QLocalSocket (Qt 6 or Qt 5; the
// build compiles this file once per Qt major) running one scenario of interop.hpp against a
// qlocal process (qlocal_peer.cpp). Written against Qt's documented API only; no Q_OBJECT, so
// no moc: signals go to lambdas.
//
//   qt6_peer|qt5_peer server|client --name NAME --scenario SCENARIO [--abstract] [--access A] [--timeout-ms N]
//
// The server prints "listening" on stdout once it listens. Exit status 0 when the scenario
// passed, 1 when it failed, 2 on bad arguments (also --abstract with Qt 5, which lacks it).
// Every return value is checked; every wait is bounded by the --timeout-ms deadline.
#include "interop.hpp"

#include <QCoreApplication>
#include <QEventLoop>
#include <QLocalServer>
#include <QLocalSocket>
#include <QTimer>

#include <cstdio>
#include <string>

namespace {

using interop::log;

std::string str(const QString &s) { return s.toStdString(); }

// interop::Stream over a QLocalSocket.
class QtStream : public interop::Stream {
public:
    explicit QtStream(QLocalSocket *socket) : socket_(socket) {}

    bool write(const uint8_t *data, size_t n) override {
        qint64 written = socket_->write(reinterpret_cast<const char *>(data), static_cast<qint64>(n));
        if (written == static_cast<qint64>(n)) return true;
        log("QLocalSocket::write(%zu bytes) returned %lld: %s", n, static_cast<long long>(written),
            str(socket_->errorString()).c_str());
        return false;
    }
    bool read(uint8_t *buffer, size_t capacity, size_t &got) override {
        qint64 n = socket_->read(reinterpret_cast<char *>(buffer), static_cast<qint64>(capacity));
        if (n < 0) {
            log("QLocalSocket::read returned %lld: %s", static_cast<long long>(n), str(socket_->errorString()).c_str());
            return false;
        }
        got = static_cast<size_t>(n);
        return true;
    }
    size_t bytes_available() override { return static_cast<size_t>(socket_->bytesAvailable()); }
    size_t bytes_to_write() override { return static_cast<size_t>(socket_->bytesToWrite()); }
    int state() override { return static_cast<int>(socket_->state()); }
    bool disconnect() override {
        socket_->disconnectFromServer();
        return true;
    }
    void stop() override {
        if (loop_) loop_->quit();
    }

    QEventLoop *loop_ = nullptr;

private:
    QLocalSocket *socket_;
};

// Forwards the socket's signals to the scenario.
void attach(QLocalSocket *s, interop::Scenario *sc) {
    QObject::connect(s, &QLocalSocket::readyRead, [sc] { sc->ready_read(); });
    QObject::connect(s, &QLocalSocket::bytesWritten, [sc](qint64 n) { sc->bytes_written(static_cast<uint64_t>(n)); });
    QObject::connect(s, &QLocalSocket::errorOccurred, [sc](QLocalSocket::LocalSocketError e) { sc->error(e); });
    QObject::connect(s, &QLocalSocket::stateChanged, [sc](QLocalSocket::LocalSocketState st) { sc->state_changed(st); });
    QObject::connect(s, &QLocalSocket::readChannelFinished, [sc] { sc->read_channel_finished(); });
    QObject::connect(s, &QLocalSocket::disconnected, [sc] { sc->disconnected(); });
}

// Disconnects every signal of an object when it goes out of scope, so that nothing reaches a
// scenario destroyed before the socket (declare it after the scenario).
struct Detach {
    QObject *object;
    ~Detach() { QObject::disconnect(object, nullptr, nullptr, nullptr); }
};

// Runs an event loop until the scenario finishes or the deadline passes.
bool run(QtStream &stream, interop::Scenario &sc, const interop::Deadline &deadline) {
    sc.start();
    if (sc.finished()) return sc.passed();
    QEventLoop loop;
    stream.loop_ = &loop;
    QTimer timer;
    timer.setSingleShot(true);
    QObject::connect(&timer, &QTimer::timeout, [&] { sc.fail("deadline passed: " + sc.progress()); });
    timer.start(deadline.remaining_ms());
    loop.exec();
    stream.loop_ = nullptr;
    return sc.passed();
}

QLocalServer::SocketOptions server_options(const interop::Options &o) {
#if QT_VERSION >= QT_VERSION_CHECK(6, 2, 0)
    if (o.abstract_namespace) return QLocalServer::AbstractNamespaceOption;
#endif
    if (o.access == "user") return QLocalServer::UserAccessOption;
    if (o.access == "group") return QLocalServer::GroupAccessOption;
    if (o.access == "other") return QLocalServer::OtherAccessOption;
    if (o.access == "world") return QLocalServer::WorldAccessOption;
    return QLocalServer::NoOptions;
}

// Listens on `name`; checks the full name against Qt's documented rule.
bool listen(QLocalServer &server, const std::string &name, bool abstract_namespace) {
    if (!server.listen(QString::fromStdString(name))) {
        log("QLocalServer::listen(%s): %s", name.c_str(), str(server.errorString()).c_str());
        return false;
    }
    std::string want = interop::expected_full_name(name, abstract_namespace);
    if (str(server.fullServerName()) != want || str(server.serverName()) != name) {
        log("server names \"%s\" / \"%s\", expected \"%s\" / \"%s\"", str(server.serverName()).c_str(),
            str(server.fullServerName()).c_str(), name.c_str(), want.c_str());
        return false;
    }
    return true;
}

// The mode a Qt server gives its socket file with this access option, from a second server
// listening next to the one under test.
bool own_server_mode(const interop::Options &o, unsigned &mode) {
    QLocalServer probe;
    probe.setSocketOptions(server_options(o));
    std::string probe_name = o.name + "-own";
    if (!listen(probe, probe_name, false)) return false;
    bool found = interop::socket_file_mode(str(probe.fullServerName()), mode);
    probe.close();
    return found;
}

int run_server(const interop::Options &o, const interop::Deadline &deadline) {
    QLocalServer server;
    server.setSocketOptions(server_options(o));
    if (!listen(server, o.name, o.abstract_namespace)) return 1;
    bool connectable = true;
    if (!interop::check_mode_and_announce(str(server.fullServerName()), o.access, "expected", connectable)) return 1;

    if (!connectable) {
        if (!interop::wait_for_stdin_eof(deadline)) return log("no end of stdin before the deadline"), 1;
        return 0;
    }
    bool timed_out = false;
    if (!server.waitForNewConnection(deadline.remaining_ms(), &timed_out)) {
        log("QLocalServer::waitForNewConnection: %s%s", timed_out ? "timed out " : "", str(server.errorString()).c_str());
        return 1;
    }
    QLocalSocket *accepted = server.nextPendingConnection();
    if (!accepted) return log("QLocalServer::nextPendingConnection returned null after a successful wait"), 1;

    QtStream stream(accepted);
    std::unique_ptr<interop::Scenario> sc = interop::make_scenario(o, stream);
    attach(accepted, sc.get());
    Detach detach{accepted};
    return run(stream, *sc, deadline) ? 0 : 1;  // the server deletes the socket, its child
}

int run_client(const interop::Options &o, const interop::Deadline &deadline) {
    std::string full = interop::expected_full_name(o.name, o.abstract_namespace);
    bool connectable = true;
    if (!o.access.empty()) {
        // The qlocal server's socket file must have the mode Qt documents, and a Qt server with
        // the same option must give the same mode.
        unsigned qlocal_mode = 0, own_mode = 0, want = interop::expected_mode(o.access);
        if (!interop::socket_file_mode(full, qlocal_mode) || !own_server_mode(o, own_mode)) return 1;
        log("access \"%s\": qlocal server's socket file 0%03o, Qt server's 0%03o, expected 0%03o", o.access.c_str(),
            qlocal_mode, own_mode, want);
        if (qlocal_mode != want || own_mode != want) return 1;
        connectable = interop::may_connect(qlocal_mode);
    }

    QLocalSocket socket;
    QtStream stream(&socket);
    std::unique_ptr<interop::Scenario> sc = interop::make_scenario(o, stream);
    attach(&socket, sc.get());
    Detach detach{&socket};
#if QT_VERSION >= QT_VERSION_CHECK(6, 2, 0)
    if (o.abstract_namespace) socket.setSocketOptions(QLocalSocket::AbstractNamespaceOption);
#endif
    socket.connectToServer(QString::fromStdString(o.name));
    bool connected = socket.waitForConnected(deadline.remaining_ms());
    if (!connectable) {
        if (connected || socket.error() != QLocalSocket::SocketAccessError) {
            log("connect to a socket without owner write permission: connected %d, error %d; expected SocketAccessError",
                connected, static_cast<int>(socket.error()));
            return 1;
        }
        log("ok: refused with SocketAccessError");
        return 0;
    }
    if (!connected) {
        log("QLocalSocket::waitForConnected(%s): %s", o.name.c_str(), str(socket.errorString()).c_str());
        return 1;
    }
    if (str(socket.fullServerName()) != full || str(socket.serverName()) != o.name) {
        log("client names \"%s\" / \"%s\", expected \"%s\" / \"%s\"", str(socket.serverName()).c_str(),
            str(socket.fullServerName()).c_str(), o.name.c_str(), full.c_str());
        return 1;
    }
    return run(stream, *sc, deadline) ? 0 : 1;
}

}  // namespace

int main(int argc, char **argv) {
    QCoreApplication app(argc, argv);
    interop::Options o;
    if (!interop::parse_options(argc, argv, o)) {
        std::fputs(interop::usage(), stderr);
        return 2;
    }
    interop::log_prefix() = "[qt" + std::to_string(QT_VERSION_MAJOR) +
                            (o.role == interop::Role::Server ? " server]" : " client]");
#if QT_VERSION < QT_VERSION_CHECK(6, 2, 0)
    if (o.abstract_namespace) {
        log("the abstract namespace needs Qt 6.2 or later");
        return 2;
    }
#endif
    interop::Deadline deadline(o.timeout_ms);
    return o.role == interop::Role::Server ? run_server(o, deadline) : run_client(o, deadline);
}
