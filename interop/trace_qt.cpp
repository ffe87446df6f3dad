// The Qt side of the trace tests: one scenario of trace.hpp with both ends (QLocalServer, a
// client QLocalSocket, the accepted QLocalSocket) in this process on one QCoreApplication loop.
// Built once per Qt major (trace_qt6, trace_qt5) from this one file; written against Qt's
// documented API only; no Q_OBJECT, so no moc: signals go to lambdas.
//
//   trace_qt6|trace_qt5 --scenario SCENARIO --name BASE [--timeout-ms N]
#include "trace.hpp"

#include <QCoreApplication>
#include <QLocalServer>
#include <QLocalSocket>
#include <QTimer>

#include <memory>

namespace {

class QtSock : public trace::Sock {
public:
    explicit QtSock(QLocalSocket *s) : s_(s) {}
    int state() override { return static_cast<int>(s_->state()); }
    int error() override { return static_cast<int>(s_->error()); }
    std::string error_string() override { return s_->errorString().toStdString(); }
    long long bytes_available() override { return s_->bytesAvailable(); }
    long long bytes_to_write() override { return s_->bytesToWrite(); }
    bool write(const uint8_t *data, size_t n) override {
        return s_->write(reinterpret_cast<const char *>(data), static_cast<qint64>(n)) == static_cast<qint64>(n);
    }
    size_t read(uint8_t *buffer, size_t capacity) override {
        qint64 n = s_->read(reinterpret_cast<char *>(buffer), static_cast<qint64>(capacity));
        return n > 0 ? static_cast<size_t>(n) : 0;
    }
    void disconnect_from_server() override { s_->disconnectFromServer(); }
    void abort() override { s_->abort(); }
    int socket_descriptor() override { return static_cast<int>(s_->socketDescriptor()); }
    void set_read_buffer_size(size_t n) override { s_->setReadBufferSize(static_cast<qint64>(n)); }
    int connect_to_server(const std::string &name) override {
        s_->connectToServer(QString::fromStdString(name));
        return 0;
    }

    QLocalSocket *s_;
};

class QtEnv : public trace::Env {
public:
    explicit QtEnv(trace::Scenario &sc) : sc_(sc) {
        QObject::connect(&server_, &QLocalServer::newConnection, [this] { sc_.on_new_connection(); });
    }
    ~QtEnv() override { detach(); }

    bool listen(const std::string &name) override {
        QLocalServer::removeServer(QString::fromStdString(name));
        if (server_.listen(QString::fromStdString(name))) return true;
        trace::emit_line("# listen failed: " + server_.errorString().toStdString());
        return false;
    }
    bool has_pending_connections() override { return server_.hasPendingConnections(); }
    trace::Sock *make_client() override {
        client_ = std::make_unique<QLocalSocket>();
        attach(client_.get(), trace::Role::Client);
        socks_.push_back(std::make_unique<QtSock>(client_.get()));
        return socks_.back().get();
    }
    trace::Sock *take_pending() override {
        QLocalSocket *s = server_.nextPendingConnection();  // a child of the server
        if (!s) return nullptr;
        attach(s, trace::Role::ServerSide);
        socks_.push_back(std::make_unique<QtSock>(s));
        return socks_.back().get();
    }
    void quit() override {
        detach();
        QCoreApplication::exit(0);
    }

private:
    void attach(QLocalSocket *s, trace::Role role) {
        using trace::Event;
        trace::Scenario *sc = &sc_;
        QObject::connect(s, &QLocalSocket::connected, [sc, role] { sc->on_event(role, Event::Connected, 0); });
        QObject::connect(s, &QLocalSocket::disconnected, [sc, role] { sc->on_event(role, Event::Disconnected, 0); });
        QObject::connect(s, &QLocalSocket::readyRead, [sc, role] { sc->on_event(role, Event::ReadyRead, 0); });
        QObject::connect(s, &QLocalSocket::readChannelFinished,
                         [sc, role] { sc->on_event(role, Event::ReadChannelFinished, 0); });
        QObject::connect(s, &QLocalSocket::errorOccurred,
                         [sc, role](QLocalSocket::LocalSocketError e) { sc->on_event(role, Event::Error, e); });
        QObject::connect(s, &QLocalSocket::stateChanged,
                         [sc, role](QLocalSocket::LocalSocketState st) { sc->on_event(role, Event::StateChanged, st); });
        QObject::connect(s, &QLocalSocket::bytesWritten,
                         [sc, role](qint64 n) { sc->on_event(role, Event::BytesWritten, n); });
        attached_.push_back(s);
    }
    void detach() {
        for (QLocalSocket *s : attached_) QObject::disconnect(s, nullptr, nullptr, nullptr);
        attached_.clear();
        QObject::disconnect(&server_, nullptr, nullptr, nullptr);
    }

    trace::Scenario &sc_;
    QLocalServer server_;                   // declared before client_: the client goes first
    std::unique_ptr<QLocalSocket> client_;
    std::vector<std::unique_ptr<QtSock>> socks_;
    std::vector<QLocalSocket *> attached_;
};

}  // namespace

int main(int argc, char **argv) {
    QCoreApplication app(argc, argv);
    trace::Options o;
    trace::Scenario sc;
    if (!trace::parse_options(argc, argv, o) || !sc.configure(o.scenario, o.name)) {
        std::fputs(trace::usage(), stderr);
        return 2;
    }
    trace::emit_line("# Qt " + std::string(qVersion()) + ", scenario " + o.scenario);
    QtEnv env(sc);
    QTimer deadline;
    deadline.setSingleShot(true);
    QObject::connect(&deadline, &QTimer::timeout, [&] { sc.on_timeout(); });
    deadline.start(sc.deadline_ms(o.timeout_ms));
    sc.start(env);  // Qt emits the client's first signals inside connectToServer
    if (!sc.finished()) app.exec();
    return sc.exit_code();
}
