// What the two interop peers share: command-line options, Qt's name rule, the expected socket
// file modes, a deterministic byte pattern, and the scenarios themselves. The scenarios are
// written once against the small `Stream` interface below; qt_peer.cpp implements it with
// QLocalSocket, qlocal_peer.cpp with the qlocal C API. So both sides of every case run the same
// checks, and each peer file only shows how its library is driven.
//
// No Qt and no qlocal in here: only the C++ standard library and POSIX.
#pragma once

#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace interop {

// ---------------------------------------------------------------------------------------------
// Logging: every line is prefixed with the peer ("[qt6 server]", "[qlocal client]").

inline std::string &log_prefix() {
    static std::string prefix = "[peer]";
    return prefix;
}

inline void log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
inline void log(const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    std::fprintf(stderr, "%s %s\n", log_prefix().c_str(), line);
}

// ---------------------------------------------------------------------------------------------
// Deadlines: every wait in the peers is bounded by the one deadline given on the command line.

class Deadline {
public:
    explicit Deadline(int ms) : end_(std::chrono::steady_clock::now() + std::chrono::milliseconds(ms)) {}
    // Milliseconds left, at least 0.
    int remaining_ms() const {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end_ - std::chrono::steady_clock::now());
        return static_cast<int>(std::max<long long>(0, left.count()));
    }
    bool passed() const { return remaining_ms() == 0; }

private:
    std::chrono::steady_clock::time_point end_;
};

// ---------------------------------------------------------------------------------------------
// Options. Both peers take the same arguments:
//
//   PEER server|client --name NAME --scenario SCENARIO [--abstract] [--access ACCESS] [--timeout-ms N]
//
//   SCENARIO  exchange         the client sends a short text, the server answers
//             binary           the same with binary blocks holding every byte value (NUL, 0xFF...)
//             bulk             the client sends 64 MiB, the server checks and echoes every byte,
//                              the client checks every echoed byte
//             close_by_server  the server writes a last message (4 MiB) and disconnects at once;
//                              the client must get every byte and see the peer close
//             close_by_client  the same with the roles swapped
//             close_small_by_server, close_small_by_client
//                              the same with a 13-byte message: data and close reach the
//                              receiver together (for a server, before it even accepts)
//   ACCESS    none|user|group|other|world: the server listens with that socket option; both
//             sides check the socket file's mode (the client also against a server of its own
//             library listening with the same option)

enum class Role { Server, Client };

struct Options {
    Role role = Role::Server;
    std::string name;
    std::string scenario;
    bool abstract_namespace = false;
    std::string access;  // "" when not given
    int timeout_ms = 20000;
};

inline bool parse_options(int argc, char **argv, Options &o) {
    if (argc < 2) return false;
    std::string role = argv[1];
    if (role == "server")
        o.role = Role::Server;
    else if (role == "client")
        o.role = Role::Client;
    else
        return false;
    for (int i = 2; i < argc; ++i) {
        std::string a = argv[i];
        bool has_value = i + 1 < argc;
        if (a == "--name" && has_value)
            o.name = argv[++i];
        else if (a == "--scenario" && has_value)
            o.scenario = argv[++i];
        else if (a == "--access" && has_value)
            o.access = argv[++i];
        else if (a == "--timeout-ms" && has_value)
            o.timeout_ms = std::atoi(argv[++i]);
        else if (a == "--abstract")
            o.abstract_namespace = true;
        else
            return false;
    }
    static const char *const scenarios[] = {"exchange",        "binary",          "bulk",
                                            "close_by_server", "close_by_client", "close_small_by_server",
                                            "close_small_by_client"};
    static const char *const accesses[] = {"", "none", "user", "group", "other", "world"};
    bool scenario_ok = std::any_of(std::begin(scenarios), std::end(scenarios),
                                   [&](const char *s) { return o.scenario == s; });
    bool access_ok = std::any_of(std::begin(accesses), std::end(accesses),
                                 [&](const char *s) { return o.access == s; });
    return !o.name.empty() && scenario_ok && access_ok && o.timeout_ms > 0 &&
           !(o.abstract_namespace && !o.access.empty());
}

inline const char *usage() {
    return "usage: PEER server|client --name NAME --scenario "
           "exchange|binary|bulk|close_[small_]by_server|close_[small_]by_client [--abstract] "
           "[--access none|user|group|other|world] [--timeout-ms N]\n";
}

// ---------------------------------------------------------------------------------------------
// Names and file modes.

// Qt 6's rule on Linux: a name starting with '/' is a path; an abstract name is used as is; any
// other name lives in the canonical temp directory ($TMPDIR, or /tmp when unset or empty).
inline std::string expected_full_name(const std::string &name, bool abstract_namespace) {
    if (abstract_namespace || (!name.empty() && name[0] == '/')) return name;
    const char *tmp = std::getenv("TMPDIR");
    std::string dir = (tmp && *tmp) ? tmp : "/tmp";
    char resolved[PATH_MAX];
    if (realpath(dir.c_str(), resolved)) dir = resolved;
    return dir + "/" + name;
}

// The socket option bits for an access name; the values are the same in Qt (QLocalServer::
// SocketOption) and in qlocal (QLOCAL_SERVER_*_ACCESS).
inline uint32_t access_bits(const std::string &access) {
    if (access == "user") return 0x1;
    if (access == "group") return 0x2;
    if (access == "other") return 0x4;
    if (access == "world") return 0x7;
    return 0;
}

// The mode Qt gives the socket file: the option's bits, or the umask's choice without one.
inline unsigned expected_mode(const std::string &access) {
    if (access == "user") return 0700;
    if (access == "group") return 0070;
    if (access == "other") return 0007;
    if (access == "world") return 0777;
    mode_t mask = umask(0);
    umask(mask);
    return 0777u & ~static_cast<unsigned>(mask);
}

// Permission bits of the socket file at `path`; false (logged) when missing or not a socket.
inline bool socket_file_mode(const std::string &path, unsigned &mode) {
    struct stat st{};
    if (stat(path.c_str(), &st) != 0) {
        log("stat(%s): %s", path.c_str(), std::strerror(errno));
        return false;
    }
    if (!S_ISSOCK(st.st_mode)) {
        log("%s is not a socket (st_mode 0%o)", path.c_str(), static_cast<unsigned>(st.st_mode));
        return false;
    }
    mode = static_cast<unsigned>(st.st_mode) & 07777;
    return true;
}

// Whether this process may connect to a socket file it owns with `mode` (write permission;
// root passes every check).
inline bool may_connect(unsigned mode) { return geteuid() == 0 || (mode & 0200) != 0; }

// Server side, once listening: checks the socket file's mode against `access` (when one is
// given; `expected` names the reference in the message), then prints "listening" for the
// driver. `connectable` says whether this user's client may connect. False on a wrong mode.
inline bool check_mode_and_announce(const std::string &full_name, const std::string &access,
                                    const char *expected, bool &connectable) {
    connectable = true;
    if (!access.empty()) {
        unsigned mode = 0, want = expected_mode(access);
        if (!socket_file_mode(full_name, mode)) return false;
        if (mode != want) {
            log("socket file mode 0%03o with access \"%s\", %s 0%03o", mode, access.c_str(), expected, want);
            return false;
        }
        log("socket file mode 0%03o with access \"%s\"", mode, access.c_str());
        connectable = may_connect(mode);
    }
    std::printf("listening\n");
    std::fflush(stdout);
    return true;
}

// For the case where no connection can come: waits (bounded) until stdin reaches end of file,
// which the driver (run_pair.cpp) arranges once the client has exited.
inline bool wait_for_stdin_eof(const Deadline &deadline) {
    char buf[256];
    for (;;) {
        int left = deadline.remaining_ms();
        if (left == 0) return false;
        pollfd p{0, POLLIN, 0};
        int n = poll(&p, 1, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        ssize_t r = read(0, buf, sizeof buf);
        if (r == 0) return true;
        if (r < 0 && errno != EINTR && errno != EAGAIN) return false;
    }
}

// ---------------------------------------------------------------------------------------------
// A deterministic byte stream: byte `offset` of stream `seed`. The period (65521, a prime) is
// not a power of two, so it never lines up with the chunk sizes; the table holds every byte
// value, NUL and 0xFF included.

class Pattern {
public:
    static constexpr size_t kPeriod = 65521;

    static void fill(uint32_t seed, uint64_t offset, uint8_t *out, size_t n) {
        const std::vector<uint8_t> &t = table();
        size_t at = static_cast<size_t>((offset + seed * 7919ull) % kPeriod);
        for (size_t i = 0; i < n; ++i) {
            out[i] = t[at];
            if (++at == kPeriod) at = 0;
        }
    }

    static std::vector<uint8_t> bytes(uint32_t seed, uint64_t offset, size_t n) {
        std::vector<uint8_t> v(n);
        fill(seed, offset, v.data(), n);
        return v;
    }

    // Checks `n` received bytes against the stream at `offset`; logs the first difference.
    static bool check(uint32_t seed, uint64_t offset, const uint8_t *got, size_t n) {
        const std::vector<uint8_t> &t = table();
        size_t at = static_cast<size_t>((offset + seed * 7919ull) % kPeriod);
        for (size_t i = 0; i < n; ++i) {
            if (got[i] != t[at]) {
                log("byte %llu differs: got 0x%02x, expected 0x%02x",
                    static_cast<unsigned long long>(offset + i), got[i], t[at]);
                return false;
            }
            if (++at == kPeriod) at = 0;
        }
        return true;
    }

private:
    static const std::vector<uint8_t> &table() {
        static const std::vector<uint8_t> t = [] {
            std::vector<uint8_t> v(kPeriod);
            for (size_t k = 0; k < 256; ++k) v[k] = static_cast<uint8_t>(k);
            uint32_t x = 2463534242u;
            for (size_t k = 256; k < kPeriod; ++k) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                v[k] = static_cast<uint8_t>(x >> 11);
            }
            return v;
        }();
        return t;
    }
};

// Where two byte strings first differ, for messages.
inline std::string first_difference(const std::vector<uint8_t> &got, const std::vector<uint8_t> &want) {
    size_t n = std::min(got.size(), want.size());
    size_t i = 0;
    while (i < n && got[i] == want[i]) ++i;
    if (i == n) return "sizes " + std::to_string(got.size()) + " and " + std::to_string(want.size());
    char buf[96];
    std::snprintf(buf, sizeof buf, "byte %zu: got 0x%02x, expected 0x%02x", i, got[i], want[i]);
    return buf;
}

// ---------------------------------------------------------------------------------------------
// The connection as the scenarios see it. States and errors use Qt's numbers
// (QLocalSocket::LocalSocketState / LocalSocketError), which qlocal shares.

constexpr int kUnconnected = 0;
constexpr int kClosing = 6;

class Stream {
public:
    virtual ~Stream() = default;
    // Queues all `n` bytes; false (logged) when refused.
    virtual bool write(const uint8_t *data, size_t n) = 0;
    // Reads up to `capacity` buffered bytes into `buffer`; false (logged) on failure.
    virtual bool read(uint8_t *buffer, size_t capacity, size_t &got) = 0;
    virtual size_t bytes_available() = 0;
    virtual size_t bytes_to_write() = 0;
    virtual int state() = 0;
    // Graceful close (disconnectFromServer): queued bytes are still sent.
    virtual bool disconnect() = 0;
    // Ends the event loop; the verdict is already recorded by the scenario.
    virtual void stop() = 0;
};

// A scenario reacts to the socket's signals. The peers forward every signal to the public
// methods below, which record it (for order checks) and call the scenario's handler.
class Scenario {
public:
    Scenario(Stream &stream, Role role) : s_(stream), role_(role) {}
    virtual ~Scenario() = default;

    // Called once the connection exists (client connected, or server accepted it).
    virtual void start() = 0;
    // A line saying how far the scenario got, logged when the deadline passes.
    virtual std::string progress() const = 0;

    void ready_read() { dispatch("ready_read", [&] { on_ready_read(); }); }
    void bytes_written(uint64_t n) { dispatch(nullptr, [&] { on_bytes_written(n); }); }
    void error(int code) { dispatch(("error:" + std::to_string(code)).c_str(), [] {}); }
    void state_changed(int st) { dispatch(("state:" + std::to_string(st)).c_str(), [] {}); }
    void read_channel_finished() { dispatch("read_channel_finished", [] {}); }
    void disconnected() { dispatch("disconnected", [&] { on_disconnected(); }); }

    bool finished() const { return finished_; }
    bool passed() const { return passed_; }
    void fail(const std::string &why) {
        if (finished_) return;
        log("FAILED: %s", why.c_str());
        finished_ = true;
        s_.stop();
    }

protected:
    virtual void on_ready_read() {}
    virtual void on_bytes_written(uint64_t) {}
    virtual void on_disconnected() {}

    void pass(const std::string &what) {
        if (finished_) return;
        log("ok: %s", what.c_str());
        finished_ = passed_ = true;
        s_.stop();
    }

    // Reads every buffered byte, handing it to `sink` in pieces; false when a read failed or
    // `sink` refused a piece (the scenario has then failed).
    template <class Sink>
    bool drain(Sink sink) {
        while (!finished_ && s_.bytes_available() > 0) {
            size_t got = 0;
            if (!s_.read(buf_.data(), buf_.size(), got)) return fail_and_false("read failed");
            if (got == 0) return fail_and_false("bytes_available() > 0 but read gave nothing");
            if (!sink(buf_.data(), got)) return false;
        }
        return !finished_;
    }

    // The recorded signals without ready_read (whose count depends on timing), joined by ','.
    std::string signal_order() const {
        std::string out;
        for (const std::string &e : events_) {
            if (e == "ready_read") continue;
            if (!out.empty()) out += ',';
            out += e;
        }
        return out;
    }
    // The connection must have ended with Qt's close signals, and with no other error: for our
    // own disconnect Closing, Unconnected, readChannelFinished, disconnected; for the peer's
    // close the same after errorOccurred(PeerClosedError). (A client's connect signals may come
    // first.)
    bool closed_as_qt_does(bool by_peer) {
        std::string want = std::string(by_peer ? "error:1," : "") + "state:6,state:0,read_channel_finished,disconnected";
        std::string order = signal_order();
        size_t errors = std::count_if(events_.begin(), events_.end(),
                                      [](const std::string &e) { return e.compare(0, 6, "error:") == 0; });
        bool ok = order.size() >= want.size() && order.compare(order.size() - want.size(), want.size(), want) == 0 &&
                  errors == (by_peer ? 1u : 0u);
        if (!ok) fail("signals " + order + ", expected them to end with " + want + " and no other error");
        return ok;
    }

    bool fail_and_false(const std::string &why) {
        fail(why);
        return false;
    }

    Stream &s_;
    Role role_;

private:
    template <class F>
    void dispatch(const char *event, F handler) {
        if (finished_) return;
        if (event) events_.push_back(event);
        handler();
    }

    bool finished_ = false;
    bool passed_ = false;
    std::vector<std::string> events_;
    std::vector<uint8_t> buf_ = std::vector<uint8_t>(256 * 1024);
};

// exchange / binary: the client sends `request`; the server checks it byte for byte and answers
// `reply`; the client checks that and disconnects; the server must then see the peer close.
class Exchange : public Scenario {
public:
    Exchange(Stream &s, Role role, std::vector<uint8_t> request, std::vector<uint8_t> reply)
        : Scenario(s, role), request_(std::move(request)), reply_(std::move(reply)) {}

    void start() override {
        if (role_ == Role::Client && !s_.write(request_.data(), request_.size())) return fail("write request");
        on_ready_read();  // anything that arrived before the signals were connected
    }

    std::string progress() const override {
        return "received " + std::to_string(got_.size()) + " of " + std::to_string(incoming().size()) +
               " bytes; signals " + signal_order();
    }

protected:
    const std::vector<uint8_t> &incoming() const { return role_ == Role::Server ? request_ : reply_; }

    void on_ready_read() override {
        const std::vector<uint8_t> &want = incoming();
        if (!drain([&](const uint8_t *p, size_t n) {
                size_t at = got_.size();
                got_.insert(got_.end(), p, p + n);
                if (got_.size() > want.size()) return fail_and_false("more bytes than sent: " + first_difference(got_, want));
                if (!std::equal(got_.begin() + static_cast<long>(at), got_.end(), want.begin() + static_cast<long>(at)))
                    return fail_and_false("wrong bytes: " + first_difference(got_, want));
                return true;
            }))
            return;
        if (complete_ || got_.size() < want.size()) return;
        complete_ = true;
        if (role_ == Role::Server) {
            if (!s_.write(reply_.data(), reply_.size())) return fail("write reply");
        } else if (!s_.disconnect()) {
            return fail("disconnect");
        }
    }

    void on_disconnected() override {
        on_ready_read();
        if (finished()) return;
        if (!complete_) return fail("disconnected before the whole message arrived: " + progress());
        if (!closed_as_qt_does(role_ == Role::Server)) return;
        if (s_.state() != kUnconnected) return fail("state " + std::to_string(s_.state()) + " after disconnected");
        pass("exchanged " + std::to_string(request_.size()) + " + " + std::to_string(reply_.size()) +
             " bytes; signals " + signal_order());
    }

    std::vector<uint8_t> request_, reply_, got_;
    bool complete_ = false;
};

// The binary blocks: every byte value in both orders, runs of NUL and 0xFF, CR/LF, and a stretch
// of the pattern.
inline std::vector<uint8_t> binary_block(uint32_t seed) {
    std::vector<uint8_t> v = {0x00, 0xff, 0x00, 0x00, 0xff, 0xff, '\r', '\n', 0x00, 0x80, 0x7f, 0xfe};
    for (int i = 0; i < 256; ++i) v.push_back(static_cast<uint8_t>(i));
    for (int i = 255; i >= 0; --i) v.push_back(static_cast<uint8_t>(i));
    std::vector<uint8_t> tail = Pattern::bytes(seed, 0, 100000);
    v.insert(v.end(), tail.begin(), tail.end());
    v.insert(v.end(), {0xff, 0x00, 0xff, 0x00});
    return v;
}

// bulk: the client sends 64 MiB of pattern 1, keeping at most 2 MiB queued; the server checks
// every byte and writes it back; the client checks every echoed byte and then disconnects.
class Bulk : public Scenario {
public:
    static constexpr uint64_t kTotal = 64ull << 20;
    static constexpr size_t kChunk = 256 * 1024;
    static constexpr size_t kMaxQueued = 2u << 20;
    static constexpr uint32_t kSeed = 1;

    Bulk(Stream &s, Role role) : Scenario(s, role) {}

    void start() override {
        pump();
        on_ready_read();
    }

    std::string progress() const override {
        return "sent " + std::to_string(sent_) + ", received " + std::to_string(received_) + " of " +
               std::to_string(kTotal) + " bytes; signals " + signal_order();
    }

protected:
    void pump() {
        if (role_ != Role::Client) return;
        while (!finished() && sent_ < kTotal && s_.bytes_to_write() < kMaxQueued) {
            size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, kTotal - sent_));
            Pattern::fill(kSeed, sent_, chunk_.data(), n);
            if (!s_.write(chunk_.data(), n)) return fail("write at offset " + std::to_string(sent_));
            sent_ += n;
        }
    }

    void on_bytes_written(uint64_t) override { pump(); }

    void on_ready_read() override {
        if (!drain([&](const uint8_t *p, size_t n) {
                if (received_ + n > kTotal) return fail_and_false("more than " + std::to_string(kTotal) + " bytes");
                if (!Pattern::check(kSeed, received_, p, n))
                    return fail_and_false(role_ == Role::Server ? "received data differs" : "echoed data differs");
                received_ += n;
                if (role_ == Role::Server) {
                    if (!s_.write(p, n)) return fail_and_false("echo write");
                    sent_ += n;
                }
                return true;
            }))
            return;
        if (role_ == Role::Client && received_ == kTotal && !disconnecting_) {
            disconnecting_ = true;
            if (!s_.disconnect()) return fail("disconnect");
        }
        pump();
    }

    void on_disconnected() override {
        on_ready_read();
        if (finished()) return;
        if (received_ != kTotal || sent_ != kTotal) return fail("disconnected early: " + progress());
        if (!closed_as_qt_does(role_ == Role::Server)) return;
        pass(role_ == Role::Server ? "received, checked and echoed 64 MiB"
                                   : "sent 64 MiB and checked every echoed byte");
    }

    uint64_t sent_ = 0, received_ = 0;
    bool disconnecting_ = false;
    std::vector<uint8_t> chunk_ = std::vector<uint8_t>(kChunk);
};

// close_[small_]by_server / _client: the sender writes "first\n", 4 MiB of pattern 3 (none in
// the small variant) and "\0last\xff\n" and calls disconnect at once, while bytes may still be
// queued; it must reach Unconnected with nothing left to write. The receiver reads nothing until "disconnected" (so the
// bytes must stay readable after it, as in Qt), then checks every byte and Qt's peer-close
// signal order: errorOccurred(PeerClosed), Closing, Unconnected, readChannelFinished,
// disconnected.
class PeerClose : public Scenario {
public:
    PeerClose(Stream &s, Role role, bool sender, size_t middle) : Scenario(s, role), sender_(sender), middle_(middle) {
        static const uint8_t first[] = {'f', 'i', 'r', 's', 't', '\n'};
        static const uint8_t last[] = {0x00, 'l', 'a', 's', 't', 0xff, '\n'};
        message_.assign(std::begin(first), std::end(first));
        std::vector<uint8_t> bulk = Pattern::bytes(3, 0, middle_);
        message_.insert(message_.end(), bulk.begin(), bulk.end());
        message_.insert(message_.end(), std::begin(last), std::end(last));
    }

    void start() override {
        if (!sender_) return;
        // Three writes, then the disconnect right away.
        const size_t first = 6, last = 7;
        if (!s_.write(message_.data(), first) || (middle_ && !s_.write(message_.data() + first, middle_)) ||
            !s_.write(message_.data() + first + middle_, last))
            return fail("write");
        if (!s_.disconnect()) return fail("disconnect");
        int st = s_.state();
        if (st != kClosing && st != kUnconnected) return fail("state " + std::to_string(st) + " after disconnect");
    }

    std::string progress() const override {
        return std::string(sender_ ? "sender" : "receiver") + ", bytes to write " + std::to_string(s_.bytes_to_write()) +
               ", bytes available " + std::to_string(s_.bytes_available()) + "; signals " + signal_order();
    }

protected:
    void on_disconnected() override {
        if (sender_) {
            if (s_.bytes_to_write() != 0) return fail(std::to_string(s_.bytes_to_write()) + " bytes never sent");
            if (s_.state() != kUnconnected) return fail("state " + std::to_string(s_.state()));
            if (!closed_as_qt_does(false)) return;
            return pass("wrote " + std::to_string(message_.size()) + " bytes and closed; signals " + signal_order());
        }
        size_t available = s_.bytes_available();
        std::vector<uint8_t> got;
        if (!drain([&](const uint8_t *p, size_t n) {
                got.insert(got.end(), p, p + n);
                return true;
            }))
            return;
        if (got != message_) return fail("bytes readable after disconnected: " + first_difference(got, message_));
        if (!closed_as_qt_does(true)) return;
        if (s_.state() != kUnconnected) return fail("state " + std::to_string(s_.state()));
        pass("all " + std::to_string(available) + " bytes readable after the peer closed; signals " + signal_order());
    }

    bool sender_;
    size_t middle_;
    std::vector<uint8_t> message_;
};

inline std::unique_ptr<Scenario> make_scenario(const Options &o, Stream &s) {
    if (o.scenario == "exchange") {
        auto text = [](const char *t) { return std::vector<uint8_t>(t, t + std::strlen(t)); };
        return std::make_unique<Exchange>(s, o.role, text("hello from the client\n"), text("hello from the server\n"));
    }
    if (o.scenario == "binary") return std::make_unique<Exchange>(s, o.role, binary_block(11), binary_block(12));
    if (o.scenario == "bulk") return std::make_unique<Bulk>(s, o.role);
    bool server_sends = o.scenario == "close_by_server" || o.scenario == "close_small_by_server";
    size_t middle = o.scenario.find("small") == std::string::npos ? 4u << 20 : 0;
    return std::make_unique<PeerClose>(s, o.role, server_sends == (o.role == Role::Server), middle);
}

}  // namespace interop
