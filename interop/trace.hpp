// What the trace programs share: the scenarios, written once against the small `Sock` / `Env`
// interface below, and the trace they print. trace_qt.cpp implements the interface with
// QLocalServer/QLocalSocket (built once per Qt major), trace_qlocal.cpp with qlocal's C API.
// Each program runs both ends of one scenario in one process on one event loop and prints one
// line per callback:
//
//   <role> <event> [arg=N] state=S error=E avail=A towrite=W [text="error string"]
//
// with the getters read inside the callback. Roles: "client", "server-side" (the accepted
// socket) and "server" (the QLocalServer: "server new_connection pending=0|1"). At the end every
// socket role prints what it received ("<role> received len=N fnv=H match=yes|no|prefix"), and
// a role that never finished prints "<role> unfinished". Lines starting with '#' are notes the
// comparison (trace_compare.cpp) shows but does not compare; so is the text="..." field.
//
//   trace_qt6|trace_qt5|trace_qlocal --scenario SCENARIO --name BASE [--timeout-ms N]
//
// SCENARIO (BASE is a unique socket name; the scenario derives its own names from it):
//   peer_close_by_client_<0|1|100003>, peer_close_by_server_<0|1|100003>
//       once connected and accepted, the closer writes N bytes and disconnects at once; the other
//       side reads everything it gets
//   graceful_disconnect_totals
//       the client writes 1,000,000 bytes and disconnects; inside disconnected it records the
//       sum of its bytes-written arguments and bytesToWrite ("client totals ...")
//   connect_absent, connect_stale, connect_empty, connect_long
//       connect to a name nobody listens on, a stale socket file (bound, closed, not unlinked),
//       "" and a 200-byte name
//   abort_queued
//       the client writes 300,000 bytes and aborts inside its first bytesWritten, while the
//       rest is still queued (so both libraries have handed the kernel the same bytes)
//   read_bound
//       the server-side socket has a 4096-byte read buffer; the client writes 100,000 bytes and
//       disconnects; the server-side socket reads what is buffered in every readyRead
//   half_close_10, half_close_4mib
//       the client writes N bytes and, once they are all written, shutdown(fd, SHUT_WR); the
//       server-side socket echoes what it reads inside readyRead; the client reads the echo
//
// Exit status 0 when the scenario ran to its end, 1 when the deadline passed first, 2 on bad
// arguments. No Qt and no qlocal in here.
#pragma once

#include "interop.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace trace {

// One socket, as the scenarios drive it.
class Sock {
public:
    virtual ~Sock() = default;
    virtual int state() = 0;
    virtual int error() = 0;
    virtual std::string error_string() = 0;
    virtual long long bytes_available() = 0;
    virtual long long bytes_to_write() = 0;
    // False when the library refused the bytes.
    virtual bool write(const uint8_t *data, size_t n) = 0;
    // Bytes read (0 when none are buffered).
    virtual size_t read(uint8_t *buffer, size_t capacity) = 0;
    virtual void disconnect_from_server() = 0;
    virtual void abort() = 0;
    virtual int socket_descriptor() = 0;
    virtual void set_read_buffer_size(size_t n) = 0;
    // The library's result code (Qt's connectToServer is void: always 0).
    virtual int connect_to_server(const std::string &name) = 0;
};

enum class Role { Client, ServerSide };
enum class Event { Connected, Disconnected, ReadyRead, ReadChannelFinished, Error, StateChanged, BytesWritten };

class Scenario;

// One library: a server, a client socket, the loop.
class Env {
public:
    virtual ~Env() = default;
    // Listens on `name`; false (with a note printed) on failure.
    virtual bool listen(const std::string &name) = 0;
    virtual bool has_pending_connections() = 0;
    // Creates the client socket, its callbacks already forwarded to the scenario.
    virtual Sock *make_client() = 0;
    // Takes the next pending connection, its callbacks forwarded to the scenario (NULL if none).
    virtual Sock *take_pending() = 0;
    // Stops forwarding callbacks and asks the loop to return.
    virtual void quit() = 0;
};

constexpr int kUnconnected = 0, kConnected = 3;

inline uint32_t fnv1a(const std::vector<uint8_t> &v) {
    uint32_t h = 2166136261u;
    for (uint8_t b : v) {
        h ^= b;
        h *= 16777619u;
    }
    return h;
}

inline void emit_line(const std::string &line) {
    std::fputs(line.c_str(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

// Everything about one socket role.
struct RoleState {
    explicit RoleState(const char *n) : name(n) {}
    const char *name;
    Sock *sock = nullptr;
    std::vector<uint8_t> received;
    std::vector<uint8_t> expected;  // what it must receive
    bool prefix_only = false;       // a prefix of `expected` is the right outcome (abort)
    uint64_t written = 0;           // sum of bytes-written arguments
    bool done = false;
};

class Scenario {
public:
    enum class Kind { PeerClose, Graceful, Connect, Abort, ReadBound, HalfClose };

    // False for an unknown scenario.
    bool configure(const std::string &scenario, const std::string &base) {
        name_ = base;
        auto starts = [&](const char *p) { return scenario.rfind(p, 0) == 0; };
        if (starts("peer_close_by_client_") || starts("peer_close_by_server_")) {
            kind_ = Kind::PeerClose;
            closer_is_client_ = starts("peer_close_by_client_");
            std::string n = scenario.substr(std::strlen("peer_close_by_client_"));
            if (n != "0" && n != "1" && n != "100003") return false;
            n_ = std::stoul(n);
        } else if (scenario == "graceful_disconnect_totals") {
            kind_ = Kind::Graceful;
            n_ = 1000000;
        } else if (scenario == "connect_absent" || scenario == "connect_stale" || scenario == "connect_empty" ||
                   scenario == "connect_long") {
            kind_ = Kind::Connect;
            connect_ = scenario.substr(std::strlen("connect_"));
        } else if (scenario == "abort_queued") {
            kind_ = Kind::Abort;
            n_ = 300000;
        } else if (scenario == "read_bound") {
            kind_ = Kind::ReadBound;
            n_ = 100000;
        } else if (scenario == "half_close_10" || scenario == "half_close_4mib") {
            kind_ = Kind::HalfClose;
            n_ = scenario == "half_close_10" ? 10 : 4u << 20;
        } else {
            return false;
        }
        return true;
    }

    // Listens (unless a connect scenario), creates the client and connects it.
    void start(Env &env) {
        env_ = &env;
        std::string target = name_;
        if (kind_ == Kind::Connect) {
            if (connect_ == "absent") target = name_ + "-absent";
            if (connect_ == "empty") target = "";
            if (connect_ == "long") target = (name_ + "-long-").append(200, 'x').substr(0, 200);
            if (connect_ == "stale") {
                target = name_ + "-stale";
                if (!make_stale_file(interop::expected_full_name(target, false))) return finish();
            }
        } else if (!env.listen(name_)) {
            return finish();
        }
        std::vector<uint8_t> sent = interop::Pattern::bytes(1, 0, n_);
        switch (kind_) {
        case Kind::PeerClose: (closer_is_client_ ? server_ : client_).expected = sent; break;
        case Kind::Graceful:
        case Kind::ReadBound: server_.expected = sent; break;
        case Kind::Abort:
            server_.expected = sent;
            server_.prefix_only = true;
            break;
        case Kind::HalfClose:
            server_.expected = sent;
            client_.expected = sent;
            break;
        case Kind::Connect: break;
        }
        client_.sock = env.make_client();
        int rc = client_.sock->connect_to_server(target);
        emit_line("# client connect_to_server(" + std::to_string(target.size()) + "-byte name) returned " +
                  std::to_string(rc) + ", state now " + std::to_string(client_.sock->state()));
        step();
    }

    // A socket callback: records the line with the getters of this moment, then reacts.
    void on_event(Role role, Event ev, long long arg) {
        if (finished_) return;
        RoleState &r = role == Role::Client ? client_ : server_;
        Sock &s = *r.sock;
        static const char *const names[] = {"connected",     "disconnected",  "ready_read",   "read_channel_finished",
                                            "error",         "state_changed", "bytes_written"};
        std::string line = std::string(r.name) + " " + names[static_cast<int>(ev)];
        bool has_arg = ev == Event::Error || ev == Event::StateChanged || ev == Event::BytesWritten;
        if (has_arg) line += " arg=" + std::to_string(arg);
        line += " state=" + std::to_string(s.state()) + " error=" + std::to_string(s.error()) +
                " avail=" + std::to_string(s.bytes_available()) + " towrite=" + std::to_string(s.bytes_to_write());
        if (ev == Event::Error) line += " text=\"" + s.error_string() + "\"";
        emit_line(line);

        switch (ev) {
        case Event::ReadyRead: drain(r, role == Role::ServerSide && kind_ == Kind::HalfClose); break;
        case Event::BytesWritten:
            r.written += static_cast<uint64_t>(arg);
            if (kind_ == Kind::Abort && role == Role::Client && !aborted_) {
                aborted_ = true;
                emit_line("# client aborts with " + std::to_string(s.bytes_to_write()) + " bytes queued");
                s.abort();
            }
            if (kind_ == Kind::HalfClose && role == Role::Client && r.written == n_ && !shut_) {
                shut_ = true;
                int rc = ::shutdown(s.socket_descriptor(), SHUT_WR);
                emit_line("# client shutdown(SHUT_WR) after " + std::to_string(r.written) + " bytes returned " +
                          std::to_string(rc));
            }
            break;
        case Event::Disconnected:
            drain(r, false);
            if (kind_ == Kind::Graceful && role == Role::Client)
                emit_line("client totals written=" + std::to_string(r.written) +
                          " towrite=" + std::to_string(s.bytes_to_write()));
            r.done = true;
            break;
        case Event::StateChanged:
            if (kind_ == Kind::Connect && arg == kUnconnected) r.done = true;
            break;
        default: break;
        }
        step();
    }

    // The server's new-connection signal: records it, takes the socket.
    void on_new_connection() {
        if (finished_) return;
        emit_line(std::string("server new_connection pending=") + (env_->has_pending_connections() ? "1" : "0"));
        if (server_.sock) return emit_line("# a second connection; left pending");
        server_.sock = env_->take_pending();
        if (!server_.sock) return emit_line("# no pending connection to take");
        if (kind_ == Kind::ReadBound) server_.sock->set_read_buffer_size(4096);
        step();
    }

    // The deadline passed: prints what happened so far.
    void on_timeout() {
        if (finished_) return;
        emit_line("# deadline passed");
        timed_out_ = true;
        finish();
    }

    // Connect scenarios need no data to flow: their deadline is 3 s at most.
    int deadline_ms(int requested) const { return kind_ == Kind::Connect ? std::min(requested, 3000) : requested; }

    bool finished() const { return finished_; }
    int exit_code() const { return timed_out_ ? 1 : 0; }

    ~Scenario() {
        if (!stale_path_.empty()) ::unlink(stale_path_.c_str());
    }

private:
    // Reads everything buffered; the half-close server echoes it at once.
    void drain(RoleState &r, bool echo) {
        uint8_t buffer[65536];
        while (r.sock->bytes_available() > 0) {  // Qt warns when reading a closed device
            size_t n = r.sock->read(buffer, sizeof buffer);
            if (n == 0) break;
            r.received.insert(r.received.end(), buffer, buffer + n);
            if (echo && !r.sock->write(buffer, n)) emit_line(std::string("# ") + r.name + " echo write refused");
        }
    }

    void step() {
        if (finished_) return;
        if (!acted_ && client_.sock && server_.sock && client_.sock->state() == kConnected) {
            acted_ = true;
            act();
        }
        bool done = kind_ == Kind::Connect ? client_.done : client_.done && server_.done;
        if (done) finish();
    }

    // The scenario's one action, once the client is connected and the server has accepted.
    void act() {
        std::vector<uint8_t> data = interop::Pattern::bytes(1, 0, n_);
        Sock &writer = kind_ == Kind::PeerClose && !closer_is_client_ ? *server_.sock : *client_.sock;
        if (n_ > 0 && !writer.write(data.data(), data.size())) emit_line("# write refused");
        switch (kind_) {
        case Kind::PeerClose:
        case Kind::Graceful:
        case Kind::ReadBound: writer.disconnect_from_server(); break;
        default: break;
        }
    }

    void finish() {
        if (finished_) return;
        finished_ = true;
        for (RoleState *r : {&client_, &server_}) {
            if (!r->sock) continue;
            if (!r->done) emit_line(std::string(r->name) + " unfinished");
            const std::vector<uint8_t> &got = r->received, &want = r->expected;
            const char *match = got == want ? "yes"
                                : r->prefix_only && got.size() < want.size() &&
                                          std::equal(got.begin(), got.end(), want.begin())
                                    ? "prefix"
                                    : "no";
            char hash[16];
            std::snprintf(hash, sizeof hash, "%08x", fnv1a(got));
            emit_line(std::string(r->name) + " received len=" + std::to_string(got.size()) + " fnv=" + hash +
                      " match=" + match);
            if (got != want)
                emit_line(std::string("# ") + r->name + " expected " + std::to_string(want.size()) + " bytes: " +
                          interop::first_difference(got, want));
        }
        env_->quit();
    }

    // Binds a socket file and closes the socket without unlinking: what a crashed server leaves.
    bool make_stale_file(const std::string &path) {
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        if (path.size() >= sizeof addr.sun_path) return emit_line("# stale path too long"), false;
        std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
        int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return emit_line("# socket() failed"), false;
        ::unlink(path.c_str());
        bool ok = ::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0;
        ::close(fd);
        if (!ok) return emit_line("# bind(" + path + ") failed: " + std::strerror(errno)), false;
        stale_path_ = path;
        return true;
    }

    Env *env_ = nullptr;
    Kind kind_ = Kind::PeerClose;
    std::string name_, connect_, stale_path_;
    bool closer_is_client_ = true;
    size_t n_ = 0;
    RoleState client_{"client"};
    RoleState server_{"server-side"};
    bool acted_ = false, shut_ = false, aborted_ = false, finished_ = false, timed_out_ = false;
};

struct Options {
    std::string scenario, name;
    int timeout_ms = 10000;
};

inline bool parse_options(int argc, char **argv, Options &o) {
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        bool has_value = i + 1 < argc;
        if (a == "--scenario" && has_value)
            o.scenario = argv[++i];
        else if (a == "--name" && has_value)
            o.name = argv[++i];
        else if (a == "--timeout-ms" && has_value)
            o.timeout_ms = std::atoi(argv[++i]);
        else
            return false;
    }
    return !o.scenario.empty() && !o.name.empty() && o.timeout_ms > 0;
}

inline const char *usage() { return "usage: PROGRAM --scenario SCENARIO --name BASE [--timeout-ms N]\n"; }

}  // namespace trace
