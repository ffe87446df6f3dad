// The qlocal side of the message interop tests: qlocal's message calls
// (qlocal_socket_write_message, the message callback, qlocal_socket_read_message, the maximum
// message size) against an unmodified Qt peer using QDataStream with transactions
// (qt_message_peer.cpp). Scenarios: messages.hpp.
//
//   qlocal_message_peer server|client --name NAME --scenario echo|oversize ...
//
// The server prints "listening" once it listens. Exit status 0 when the scenario passed.
#include "messages.hpp"
#include "qlocal_handles.hpp"

#include <cstdio>
#include <string>

namespace {

using interop::log;
using interop::Message;

using interop::Loop;
using interop::ok;
using interop::Server;
using interop::Socket;

class Peer {
public:
    Peer(qlocal_loop *loop, qlocal_socket *socket, const interop::MessageOptions &o) : loop_(loop), socket_(socket), o_(o) {
        expected_ = o.scenario == "echo" ? interop::echo_messages(o.count, o.seed) : interop::oversize_messages();
    }

    bool attach() {
        if (o_.scenario == "oversize" &&
            !ok(qlocal_socket_set_max_message_size(socket_, interop::kOversizeMax), "set_max_message_size"))
            return false;
        return ok(qlocal_socket_set_userdata(socket_, this, nullptr), "set_userdata") &&
               ok(qlocal_socket_set_message_callback(socket_, [](void *u, qlocal_socket *) { self(u)->onMessage(); }),
                  "set_message_callback") &&
               ok(qlocal_socket_set_error_callback(
                      socket_, [](void *u, qlocal_socket *, qlocal_local_socket_error e) { self(u)->onError(e); }),
                  "set_error_callback") &&
               ok(qlocal_socket_set_disconnected_callback(socket_, [](void *u, qlocal_socket *) { self(u)->onDisconnected(); }),
                  "set_disconnected_callback");
    }

    // The client's burst: every message written before anything is read.
    bool sendAll() {
        for (const Message &m : expected_) {
            const uint8_t *data = m.null ? nullptr : reinterpret_cast<const uint8_t *>(m.bytes.data());
            if (!ok(qlocal_socket_write_message(socket_, data, m.bytes.size()), "qlocal_socket_write_message")) return false;
        }
        log("sent %zu messages", expected_.size());
        return true;
    }

    // Runs the loop until the scenario ends or the deadline passes.
    bool run(const interop::Deadline &deadline) {
        while (!done_) {
            int left = deadline.remaining_ms();
            if (left == 0) return fail("deadline passed after " + std::to_string(received_) + " messages");
            qlocal_result rc = qlocal_loop_run(loop_, QLOCAL_RUN_MODE_ONCE, left);
            if (rc != QLOCAL_RESULT_OK && rc != QLOCAL_RESULT_TIMEOUT) return ok(rc, "qlocal_loop_run");
        }
        return passed_;
    }

private:
    static Peer *self(void *u) { return static_cast<Peer *>(u); }

    bool fail(const std::string &why) {
        log("FAILED: %s", why.c_str());
        done_ = true;
        passed_ = false;
        return false;
    }

    void onMessage() {
        size_t len = 0;
        bool null = false;
        if (!ok(qlocal_socket_next_message_size(socket_, &len, &null), "qlocal_socket_next_message_size"))
            return (void)fail("no message in the message callback");
        Message m;
        m.null = null;
        m.bytes.resize(len);
        if (!ok(qlocal_socket_read_message(socket_, reinterpret_cast<uint8_t *>(m.bytes.data()), len, &len, &null),
                "qlocal_socket_read_message"))
            return (void)fail("read_message");
        if (received_ >= expected_.size()) return (void)fail("more messages than were sent");
        const Message &want = expected_[received_];
        if (!(m == want))
            return (void)fail("message " + std::to_string(received_) + ": got " + interop::describe(m) + ", expected " +
                              interop::describe(want));
        ++received_;
        if (o_.scenario == "oversize") return;
        if (o_.role == interop::Role::Server) {
            const uint8_t *data = m.null ? nullptr : reinterpret_cast<const uint8_t *>(m.bytes.data());
            if (!ok(qlocal_socket_write_message(socket_, data, m.bytes.size()), "echo")) (void)fail("echo");
        } else if (received_ == expected_.size()) {
            log("all %zu echoed messages match", received_);
            (void)ok(qlocal_socket_disconnect_from_server(socket_), "disconnect_from_server");
        }
    }

    void onError(qlocal_local_socket_error e) {
        if (o_.scenario == "oversize") {
            std::string text = qlocal_socket_error_string(socket_);
            if (e != QLOCAL_LOCAL_SOCKET_ERROR_DATAGRAM_TOO_LARGE || received_ != 1 ||
                text.find("Datagram too large") == std::string::npos ||
                qlocal_socket_state(socket_) != QLOCAL_LOCAL_SOCKET_STATE_CONNECTED)
                return (void)fail("oversize: error " + std::to_string(static_cast<int>(e)) + " (" + text + ") after " +
                                  std::to_string(received_) + " messages");
            oversize_reported_ = true;
            log("oversize message refused: %s", text.c_str());
        }
    }

    void onDisconnected() {
        if (done_) return;
        if (o_.scenario == "oversize") {
            if (!oversize_reported_) return (void)fail("disconnected without the oversize error");
            if (qlocal_socket_bytes_available(socket_) != 0) return (void)fail("bytes left after the oversize close");
        } else if (received_ != expected_.size()) {
            return (void)fail("disconnected after " + std::to_string(received_) + " of " + std::to_string(expected_.size()) +
                              " messages");
        }
        done_ = true;
        passed_ = true;
    }

    qlocal_loop *loop_;
    qlocal_socket *socket_;
    interop::MessageOptions o_;
    std::vector<Message> expected_;
    size_t received_ = 0;
    bool oversize_reported_ = false;
    bool done_ = false;
    bool passed_ = false;
};

int run_server(const interop::MessageOptions &o, const interop::Deadline &deadline) {
    Loop loop;
    Server server;
    if (!ok(qlocal_loop_new(&loop.p), "qlocal_loop_new") || !ok(qlocal_server_new(loop.p, &server.p), "qlocal_server_new") ||
        !ok(qlocal_server_listen(server.p, o.name.c_str()), "qlocal_server_listen"))
        return 1;
    std::printf("listening\n");
    std::fflush(stdout);
    if (!ok(qlocal_server_wait_for_new_connection(server.p, deadline.remaining_ms()), "wait_for_new_connection")) return 1;
    Socket accepted;
    if (!ok(qlocal_server_next_pending_connection(server.p, &accepted.p), "next_pending_connection") || !accepted.p) return 1;
    Peer peer(loop.p, accepted.p, o);
    if (!peer.attach()) return 1;
    bool passed = peer.run(deadline);
    (void)qlocal_socket_destroy(accepted.p);  // before the peer its userdata points to
    accepted.p = nullptr;
    return passed ? 0 : 1;
}

int run_client(const interop::MessageOptions &o, const interop::Deadline &deadline) {
    Loop loop;
    Socket socket;
    if (!ok(qlocal_loop_new(&loop.p), "qlocal_loop_new") || !ok(qlocal_socket_new(loop.p, &socket.p), "qlocal_socket_new"))
        return 1;
    if (!ok(qlocal_socket_connect_to_server(socket.p, o.name.c_str()), "connect_to_server") ||
        !ok(qlocal_socket_wait_for_connected(socket.p, deadline.remaining_ms()), "wait_for_connected"))
        return 1;
    Peer peer(loop.p, socket.p, o);
    if (!peer.attach()) return 1;
    if (o.scenario == "echo" && !peer.sendAll()) return 1;
    bool passed = peer.run(deadline);
    (void)qlocal_socket_destroy(socket.p);
    socket.p = nullptr;
    return passed ? 0 : 1;
}

}  // namespace

int main(int argc, char **argv) {
    interop::MessageOptions o;
    if (!interop::parse_message_options(argc, argv, o)) {
        std::fputs(interop::message_usage(), stderr);
        return 2;
    }
    bool server_role = o.role == interop::Role::Server;
    interop::log_prefix() = server_role ? "[qlocal message server]" : "[qlocal message client]";
    interop::Deadline deadline(o.timeout_ms);
    return server_role ? run_server(o, deadline) : run_client(o, deadline);
}
