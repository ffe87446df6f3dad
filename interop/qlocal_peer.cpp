// The qlocal side of the interop tests: a server or a client written against the C API
// (qlocal.h) only, running one scenario of interop.hpp against a Qt process (qt_peer.cpp).
//
//   qlocal_peer server|client --name NAME --scenario SCENARIO [--abstract] [--access A] [--timeout-ms N]
//
// The server prints "listening" on stdout once it listens (the driver, run_pair.cpp, starts the
// client then). Exit status 0 when the scenario passed, 1 when it failed, 2 on bad arguments.
// Every call's result code is checked; every wait is bounded by the --timeout-ms deadline.
#include "qlocal_handles.hpp"

#include <cstdio>
#include <string>

namespace {

using interop::log;

using interop::describe;
using interop::Loop;
using interop::ok;
using interop::Server;
using interop::Socket;

// interop::Stream over a qlocal socket.
class QlocalStream : public interop::Stream {
public:
    QlocalStream(qlocal_loop *loop, qlocal_socket *socket) : loop_(loop), socket_(socket) {}

    bool write(const uint8_t *data, size_t n) override {
        return ok(qlocal_socket_write(socket_, data, n), "qlocal_socket_write");
    }
    bool read(uint8_t *buffer, size_t capacity, size_t &got) override {
        return ok(qlocal_socket_read(socket_, buffer, capacity, &got), "qlocal_socket_read");
    }
    size_t bytes_available() override { return qlocal_socket_bytes_available(socket_); }
    size_t bytes_to_write() override { return qlocal_socket_bytes_to_write(socket_); }
    int state() override { return static_cast<int>(qlocal_socket_state(socket_)); }
    bool disconnect() override {
        return ok(qlocal_socket_disconnect_from_server(socket_), "qlocal_socket_disconnect_from_server");
    }
    void stop() override { (void)ok(qlocal_loop_stop(loop_), "qlocal_loop_stop"); }

private:
    qlocal_loop *loop_;
    qlocal_socket *socket_;
};

// Forwards the socket's callbacks to the scenario (the socket's userdata).
interop::Scenario *scenario_of(void *userdata) { return static_cast<interop::Scenario *>(userdata); }

bool attach(qlocal_socket *s, interop::Scenario *sc) {
    return ok(qlocal_socket_set_userdata(s, sc, nullptr), "set_userdata") &&
           ok(qlocal_socket_set_ready_read_callback(
                  s, [](void *u, qlocal_socket *) { scenario_of(u)->ready_read(); }),
              "set_ready_read_callback") &&
           ok(qlocal_socket_set_bytes_written_callback(
                  s, [](void *u, qlocal_socket *, uint64_t n) { scenario_of(u)->bytes_written(n); }),
              "set_bytes_written_callback") &&
           ok(qlocal_socket_set_error_callback(
                  s, [](void *u, qlocal_socket *, qlocal_local_socket_error e) { scenario_of(u)->error(e); }),
              "set_error_callback") &&
           ok(qlocal_socket_set_state_changed_callback(
                  s, [](void *u, qlocal_socket *, qlocal_local_socket_state st) { scenario_of(u)->state_changed(st); }),
              "set_state_changed_callback") &&
           ok(qlocal_socket_set_read_channel_finished_callback(
                  s, [](void *u, qlocal_socket *) { scenario_of(u)->read_channel_finished(); }),
              "set_read_channel_finished_callback") &&
           ok(qlocal_socket_set_disconnected_callback(
                  s, [](void *u, qlocal_socket *) { scenario_of(u)->disconnected(); }),
              "set_disconnected_callback");
}

// Listens with `options` on `name`; checks the full name Qt would use.
bool listen(qlocal_server *server, const std::string &name, uint32_t options, bool abstract_namespace) {
    if (!ok(qlocal_server_set_socket_options(server, options), "qlocal_server_set_socket_options")) return false;
    qlocal_result rc = qlocal_server_listen(server, name.c_str());
    if (rc != QLOCAL_RESULT_OK) {
        log("qlocal_server_listen(%s): %s, %s", name.c_str(), describe(rc).c_str(), qlocal_server_error_string(server));
        return false;
    }
    std::string want = interop::expected_full_name(name, abstract_namespace);
    std::string full = qlocal_server_full_server_name(server);
    if (full != want || std::string(qlocal_server_server_name(server)) != name) {
        log("server names \"%s\" / \"%s\", expected \"%s\" / \"%s\"", qlocal_server_server_name(server),
            full.c_str(), name.c_str(), want.c_str());
        return false;
    }
    return true;
}

// The mode a qlocal server gives its socket file with the access option `access`, from a
// second server listening next to the one under test.
bool own_server_mode(const std::string &name, const std::string &access, unsigned &mode) {
    Loop loop;
    Server probe;
    if (!ok(qlocal_loop_new(&loop.p), "qlocal_loop_new") || !ok(qlocal_server_new(loop.p, &probe.p), "qlocal_server_new"))
        return false;
    std::string probe_name = name + "-own";
    if (!listen(probe.p, probe_name, interop::access_bits(access), false)) return false;
    bool found = interop::socket_file_mode(interop::expected_full_name(probe_name, false), mode);
    return ok(qlocal_server_close(probe.p), "qlocal_server_close") && found;
}

// Runs `loop` until the scenario finishes or the deadline passes.
bool run(qlocal_loop *loop, interop::Scenario &sc, const interop::Deadline &deadline) {
    sc.start();
    while (!sc.finished()) {
        int left = deadline.remaining_ms();
        qlocal_result rc = left > 0 ? qlocal_loop_run(loop, QLOCAL_RUN_MODE_DEFAULT, left) : QLOCAL_RESULT_TIMEOUT;
        if (rc == QLOCAL_RESULT_TIMEOUT) {
            sc.fail("deadline passed: " + sc.progress());
        } else if (rc != QLOCAL_RESULT_OK) {
            sc.fail("qlocal_loop_run: " + describe(rc));
        }
    }
    return sc.passed();
}

int run_server(const interop::Options &o, const interop::Deadline &deadline) {
    Loop loop;
    Server server;
    if (!ok(qlocal_loop_new(&loop.p), "qlocal_loop_new") || !ok(qlocal_server_new(loop.p, &server.p), "qlocal_server_new"))
        return 1;
    uint32_t options = o.abstract_namespace ? QLOCAL_SERVER_ABSTRACT_NAMESPACE : interop::access_bits(o.access);
    if (!listen(server.p, o.name, options, o.abstract_namespace)) return 1;
    bool connectable = true;
    if (!interop::check_mode_and_announce(qlocal_server_full_server_name(server.p), o.access, "Qt gives", connectable)) return 1;

    if (!connectable) {
        // The client checks that it is refused; nothing will connect.
        if (!interop::wait_for_stdin_eof(deadline)) return log("no end of stdin before the deadline"), 1;
        return 0;
    }
    qlocal_result rc = qlocal_server_wait_for_new_connection(server.p, deadline.remaining_ms());
    if (!ok(rc, "qlocal_server_wait_for_new_connection")) return 1;
    Socket accepted;
    if (!ok(qlocal_server_next_pending_connection(server.p, &accepted.p), "qlocal_server_next_pending_connection"))
        return 1;
    if (!accepted.p) return log("no pending connection after a successful wait"), 1;

    QlocalStream stream(loop.p, accepted.p);
    std::unique_ptr<interop::Scenario> sc = interop::make_scenario(o, stream);
    if (!attach(accepted.p, sc.get())) return 1;
    bool passed = run(loop.p, *sc, deadline);
    // The socket goes before the scenario its callbacks point to.
    (void)qlocal_socket_destroy(accepted.p);
    accepted.p = nullptr;
    return passed ? 0 : 1;
}

int run_client(const interop::Options &o, const interop::Deadline &deadline) {
    Loop loop;
    Socket socket;
    if (!ok(qlocal_loop_new(&loop.p), "qlocal_loop_new") || !ok(qlocal_socket_new(loop.p, &socket.p), "qlocal_socket_new"))
        return 1;
    std::string full = interop::expected_full_name(o.name, o.abstract_namespace);

    bool connectable = true;
    if (!o.access.empty()) {
        // The Qt server's socket file must have the mode Qt documents, and a qlocal server with
        // the same option must give the same mode.
        unsigned qt_mode = 0, own_mode = 0, want = interop::expected_mode(o.access);
        if (!interop::socket_file_mode(full, qt_mode) || !own_server_mode(o.name, o.access, own_mode)) return 1;
        log("access \"%s\": Qt server's socket file 0%03o, qlocal server's 0%03o, expected 0%03o", o.access.c_str(),
            qt_mode, own_mode, want);
        if (qt_mode != want || own_mode != want) return 1;
        connectable = interop::may_connect(qt_mode);
    }

    QlocalStream stream(loop.p, socket.p);
    std::unique_ptr<interop::Scenario> sc = interop::make_scenario(o, stream);
    if (!attach(socket.p, sc.get())) return 1;
    if (o.abstract_namespace &&
        !ok(qlocal_socket_set_socket_options(socket.p, QLOCAL_SOCKET_ABSTRACT_NAMESPACE), "qlocal_socket_set_socket_options"))
        return 1;
    if (!ok(qlocal_socket_connect_to_server(socket.p, o.name.c_str()), "qlocal_socket_connect_to_server")) return 1;
    qlocal_result rc = qlocal_socket_wait_for_connected(socket.p, deadline.remaining_ms());
    if (!connectable) {
        // Not root and no write permission for the owner: refused, as Qt's client is.
        if (rc != QLOCAL_RESULT_ACCESS_DENIED || qlocal_socket_error(socket.p) != QLOCAL_LOCAL_SOCKET_ERROR_SOCKET_ACCESS) {
            log("connect to a socket without owner write permission gave %s, error %d; expected ACCESS_DENIED",
                describe(rc).c_str(), static_cast<int>(qlocal_socket_error(socket.p)));
            return 1;
        }
        log("ok: refused with SocketAccessError, as Qt's client is");
        return 0;
    }
    if (rc != QLOCAL_RESULT_OK) {
        log("qlocal_socket_wait_for_connected(%s): %s, %s", o.name.c_str(), describe(rc).c_str(),
            qlocal_socket_error_string(socket.p));
        return 1;
    }
    if (std::string(qlocal_socket_full_server_name(socket.p)) != full ||
        std::string(qlocal_socket_server_name(socket.p)) != o.name) {
        log("client names \"%s\" / \"%s\", expected \"%s\" / \"%s\"", qlocal_socket_server_name(socket.p),
            qlocal_socket_full_server_name(socket.p), o.name.c_str(), full.c_str());
        return 1;
    }
    bool passed = run(loop.p, *sc, deadline);
    (void)qlocal_socket_destroy(socket.p);
    socket.p = nullptr;
    return passed ? 0 : 1;
}

}  // namespace

int main(int argc, char **argv) {
    interop::Options o;
    if (!interop::parse_options(argc, argv, o)) {
        std::fputs(interop::usage(), stderr);
        return 2;
    }
    interop::log_prefix() = std::string("[qlocal ") + (o.role == interop::Role::Server ? "server]" : "client]");
    interop::Deadline deadline(o.timeout_ms);
    return o.role == interop::Role::Server ? run_server(o, deadline) : run_client(o, deadline);
}
