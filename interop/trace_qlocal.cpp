// The qlocal side of the trace tests: one scenario of trace.hpp with both ends (a server, a
// client socket, the accepted socket) in this process on one qlocal loop, on the C API only.
//
//   trace_qlocal --scenario SCENARIO --name BASE [--timeout-ms N]
#include "trace.hpp"
#include "qlocal.h"

#include <memory>

namespace {

class QlocalSock : public trace::Sock {
public:
    explicit QlocalSock(qlocal_socket *s) : s_(s) {}
    ~QlocalSock() override { (void)qlocal_socket_destroy(s_); }
    int state() override { return static_cast<int>(qlocal_socket_state(s_)); }
    int error() override { return static_cast<int>(qlocal_socket_error(s_)); }
    std::string error_string() override { return qlocal_socket_error_string(s_); }
    long long bytes_available() override { return static_cast<long long>(qlocal_socket_bytes_available(s_)); }
    long long bytes_to_write() override { return static_cast<long long>(qlocal_socket_bytes_to_write(s_)); }
    bool write(const uint8_t *data, size_t n) override {
        return note(qlocal_socket_write(s_, data, n), "qlocal_socket_write");
    }
    size_t read(uint8_t *buffer, size_t capacity) override {
        size_t got = 0;
        return note(qlocal_socket_read(s_, buffer, capacity, &got), "qlocal_socket_read") ? got : 0;
    }
    void disconnect_from_server() override {
        (void)note(qlocal_socket_disconnect_from_server(s_), "qlocal_socket_disconnect_from_server");
    }
    void abort() override { (void)note(qlocal_socket_abort(s_), "qlocal_socket_abort"); }
    int socket_descriptor() override { return qlocal_socket_socket_descriptor(s_); }
    void set_read_buffer_size(size_t n) override {
        (void)note(qlocal_socket_set_read_buffer_size(s_, n), "qlocal_socket_set_read_buffer_size");
    }
    int connect_to_server(const std::string &name) override {
        return static_cast<int>(qlocal_socket_connect_to_server(s_, name.c_str()));
    }

    // A failed call is a note in the trace, not a line of its own: it has no Qt counterpart.
    static bool note(qlocal_result rc, const char *what) {
        if (rc == QLOCAL_RESULT_OK) return true;
        trace::emit_line(std::string("# ") + what + " returned " + std::to_string(static_cast<int>(rc)) + " (" +
                         qlocal_result_string(rc) + ")");
        return false;
    }

    qlocal_socket *s_;
};

// What a socket's callbacks get as userdata.
struct Target {
    trace::Scenario *sc;
    trace::Role role;
};

Target *target(void *u) { return static_cast<Target *>(u); }

class QlocalEnv : public trace::Env {
public:
    QlocalEnv(qlocal_loop *loop, trace::Scenario &sc) : loop_(loop), sc_(sc) {}
    ~QlocalEnv() override {
        socks_.clear();  // the sockets go before the targets their callbacks point to
        (void)qlocal_server_destroy(server_);
    }

    bool listen(const std::string &name) override {
        if (!QlocalSock::note(qlocal_server_new(loop_, &server_), "qlocal_server_new")) return false;
        (void)qlocal_server_remove_server(name.c_str());
        if (!QlocalSock::note(qlocal_server_set_userdata(server_, &sc_, nullptr), "qlocal_server_set_userdata") ||
            !QlocalSock::note(qlocal_server_set_new_connection_callback(
                                  server_,
                                  [](void *u, qlocal_server *) {
                                      static_cast<trace::Scenario *>(u)->on_new_connection();
                                  }),
                              "qlocal_server_set_new_connection_callback"))
            return false;
        return QlocalSock::note(qlocal_server_listen(server_, name.c_str()), "qlocal_server_listen");
    }
    bool has_pending_connections() override { return qlocal_server_has_pending_connections(server_); }
    trace::Sock *make_client() override {
        qlocal_socket *s = nullptr;
        if (!QlocalSock::note(qlocal_socket_new(loop_, &s), "qlocal_socket_new")) std::exit(1);
        return adopt(s, trace::Role::Client);
    }
    trace::Sock *take_pending() override {
        qlocal_socket *s = nullptr;
        if (!QlocalSock::note(qlocal_server_next_pending_connection(server_, &s), "next_pending_connection") || !s)
            return nullptr;
        return adopt(s, trace::Role::ServerSide);
    }
    void quit() override { (void)QlocalSock::note(qlocal_loop_stop(loop_), "qlocal_loop_stop"); }

private:
    trace::Sock *adopt(qlocal_socket *s, trace::Role role) {
        using trace::Event;
        targets_.push_back(std::make_unique<Target>(Target{&sc_, role}));
        socks_.push_back(std::make_unique<QlocalSock>(s));
        bool ok =
            QlocalSock::note(qlocal_socket_set_userdata(s, targets_.back().get(), nullptr), "set_userdata") &&
            QlocalSock::note(qlocal_socket_set_connected_callback(
                                 s, [](void *u, qlocal_socket *) {
                                     target(u)->sc->on_event(target(u)->role, Event::Connected, 0);
                                 }),
                             "set_connected_callback") &&
            QlocalSock::note(qlocal_socket_set_disconnected_callback(
                                 s, [](void *u, qlocal_socket *) {
                                     target(u)->sc->on_event(target(u)->role, Event::Disconnected, 0);
                                 }),
                             "set_disconnected_callback") &&
            QlocalSock::note(qlocal_socket_set_ready_read_callback(
                                 s, [](void *u, qlocal_socket *) {
                                     target(u)->sc->on_event(target(u)->role, Event::ReadyRead, 0);
                                 }),
                             "set_ready_read_callback") &&
            QlocalSock::note(qlocal_socket_set_read_channel_finished_callback(
                                 s, [](void *u, qlocal_socket *) {
                                     target(u)->sc->on_event(target(u)->role, Event::ReadChannelFinished, 0);
                                 }),
                             "set_read_channel_finished_callback") &&
            QlocalSock::note(qlocal_socket_set_error_callback(
                                 s, [](void *u, qlocal_socket *, qlocal_local_socket_error e) {
                                     target(u)->sc->on_event(target(u)->role, Event::Error, e);
                                 }),
                             "set_error_callback") &&
            QlocalSock::note(qlocal_socket_set_state_changed_callback(
                                 s, [](void *u, qlocal_socket *, qlocal_local_socket_state st) {
                                     target(u)->sc->on_event(target(u)->role, Event::StateChanged, st);
                                 }),
                             "set_state_changed_callback") &&
            QlocalSock::note(qlocal_socket_set_bytes_written_callback(
                                 s, [](void *u, qlocal_socket *, uint64_t n) {
                                     target(u)->sc->on_event(target(u)->role, Event::BytesWritten,
                                                             static_cast<long long>(n));
                                 }),
                             "set_bytes_written_callback");
        if (!ok) std::exit(1);
        return socks_.back().get();
    }

    qlocal_loop *loop_;
    trace::Scenario &sc_;
    qlocal_server *server_ = nullptr;
    std::vector<std::unique_ptr<Target>> targets_;
    std::vector<std::unique_ptr<QlocalSock>> socks_;
};

struct Loop {
    qlocal_loop *p = nullptr;
    ~Loop() { (void)qlocal_loop_destroy(p); }
};

}  // namespace

int main(int argc, char **argv) {
    trace::Options o;
    trace::Scenario sc;
    if (!trace::parse_options(argc, argv, o) || !sc.configure(o.scenario, o.name)) {
        std::fputs(trace::usage(), stderr);
        return 2;
    }
    trace::emit_line(std::string("# qlocal ") + qlocal_version_string() + ", scenario " + o.scenario);
    Loop loop;
    if (!QlocalSock::note(qlocal_loop_new(&loop.p), "qlocal_loop_new")) return 1;
    interop::Deadline deadline(sc.deadline_ms(o.timeout_ms));
    {
        QlocalEnv env(loop.p, sc);
        sc.start(env);
        while (!sc.finished()) {
            int left = deadline.remaining_ms();
            qlocal_result rc = left > 0 ? qlocal_loop_run(loop.p, QLOCAL_RUN_MODE_ONCE, left) : QLOCAL_RESULT_TIMEOUT;
            if (rc == QLOCAL_RESULT_TIMEOUT && deadline.passed()) {
                sc.on_timeout();
            } else if (rc != QLOCAL_RESULT_OK && rc != QLOCAL_RESULT_TIMEOUT) {
                QlocalSock::note(rc, "qlocal_loop_run");
                sc.on_timeout();
            }
        }
    }
    return sc.exit_code();
}
