// A seeded random test of the socket contract: no lost byte, callbacks that agree with the
// state they describe, nothing after destroy, no descriptor left behind.
//
// random_socket_contract: two threads, each with its own loop. Thread A has the server; both
// threads connect clients to it, so accepted sockets live on A and clients on A and B. A
// seeded PRNG per thread drives writes, reads (read/peek/skip/read_line), read bounds, waits,
// loop runs and every way a connection can end, on random live sockets of that thread.
//   QLOCAL_RANDOM_SEED  the seed (default: from the clock; always printed)
//   QLOCAL_RANDOM_OPS   operations in total, both threads (default kDefaultOps, about 15 s in
//                       the debug build); more than kRoundOps run as several rounds, each with
//                       fresh loops and sockets and its own checks.
// random_close_paths: each way of ending a stream on its own, with fixed seeds and read
// bounds, so a failure names its close path.
//
// What must arrive. Every stream direction (writer -> reader) delivers each byte the writer's
// qlocal_socket_write accepted (OK), in order, unless
//  - the writer aborted, or was destroyed without an earlier disconnect_from_server/close,
//    while not yet unconnected (Qt 6's destructor aborts; after a disconnect, destroy lingers
//    until the queue is flushed), or
//  - the reader stopped reading on its own: it aborted, closed, disconnected or was destroyed
//    before it reached the end (unconnected with nothing buffered).
// So a graceful end by the writer (disconnect, close, half-close with shutdown(SHUT_WR) after
// its last write, destroy after disconnect) must deliver everything, even to a reader with a
// read bound, even when the reader's own write meets EPIPE; and what a reader writes back after
// its peer half-closed (also from inside ready_read) must reach that peer. Bytes that did
// arrive are always checked for order and content, exempt direction or not.
//
// Every check records a failure and the run goes on, so one run reports every kind of defect
// it met: a summary at the end (kind, count, one example), the seed and a command to rerun.
#include "harness.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

// On Windows a named pipe has no half-close: where POSIX half-closes (a random operation, the
// end of a round) the end disconnects instead, and the half-close path of random_close_paths
// is not run. Descriptors are handles there (qt::open_fds counts them), asserted as on Linux.
#ifndef _WIN32
#include <sys/socket.h>
#endif

namespace {

constexpr uint64_t kDefaultOps = 120000;
constexpr uint64_t kRoundOps = 60000;
// The random phase of one round stops here even when its operations are not done.
constexpr double kRoundRandomMs = 90000;
// The default run's random phases together stop here (keeps the case within its 120 s).
constexpr double kDefaultBudgetMs = 40000;
constexpr double kEndPhaseMs = 20000;
constexpr double kIdleMs = 10000;
constexpr size_t kMaxClientsA = 3;
constexpr size_t kMaxClientsB = 4;
constexpr size_t kPeriod = 1000003;  // prime: no write or read size lines up with it
constexpr size_t kMaxWrite = size_t(4) << 20;
constexpr size_t kMaxChunk = size_t(256) << 10;
constexpr size_t kMaxBound = size_t(64) << 10;
constexpr size_t kMaxQueued = size_t(8) << 20;  // no new write while more than this is queued
constexpr uint32_t kHeaderMagic = 0x51524e44;
constexpr size_t kHeaderSize = 8;
constexpr uint32_t kUdLive = 0x5eed1157;
constexpr uint32_t kUdDead = 0xdeadbeef;

// ---- seeded randomness and the byte pattern -----------------------------------------------------

struct Rng {
    uint64_t s;
    uint64_t next() {  // splitmix64
        uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    uint64_t below(uint64_t n) { return n ? next() % n : 0; }
    bool chance(double p) { return static_cast<double>(next() >> 11) * 0x1.0p-53 < p; }
};

uint64_t mix(uint64_t a, uint64_t b) {
    Rng r{a ^ (b * 0x9e3779b97f4a7c15ull)};
    return r.next();
}

// Byte i of a stream with salt s is table[(i + s) % kPeriod]; the table is kMaxWrite longer
// than the period, so any write or check up to kMaxWrite bytes is one contiguous range.
const uint8_t *pattern_table() {
    static const std::vector<uint8_t> table = [] {
        std::vector<uint8_t> t(kPeriod + kMaxWrite);
        Rng r{12345};
        for (size_t i = 0; i < kPeriod; ++i) t[i] = static_cast<uint8_t>(r.next() >> 56);
        for (size_t i = kPeriod; i < t.size(); ++i) t[i] = t[i - kPeriod];
        return t;
    }();
    return table.data();
}

const uint8_t *pattern_at(uint32_t salt, uint64_t pos) { return pattern_table() + (pos + salt) % kPeriod; }

// ---- failures: recorded by kind, printed once -----------------------------------------------------

struct Failures {
    struct Kind {
        size_t count = 0;
        std::vector<std::string> examples;
    };
    std::mutex m;
    std::map<std::string, Kind> kinds;
    std::vector<std::string> order;

    void add(const std::string &kind, const std::string &detail) {
        std::lock_guard<std::mutex> g(m);
        auto it = kinds.find(kind);
        if (it == kinds.end()) {
            order.push_back(kind);
            it = kinds.emplace(kind, Kind{}).first;
        }
        it->second.count++;
        if (it->second.examples.empty()) it->second.examples.push_back(detail.substr(0, 300));
    }
    bool empty() {
        std::lock_guard<std::mutex> g(m);
        return kinds.empty();
    }
    void print(const std::string &header) {
        std::lock_guard<std::mutex> g(m);
        std::fprintf(stderr, "%s: %zu kind(s) of failure\n", header.c_str(), order.size());
        for (const auto &k : order) {
            const Kind &kind = kinds[k];
            std::fprintf(stderr, "  %s: %zux\n", k.c_str(), kind.count);
            for (const auto &e : kind.examples) std::fprintf(stderr, "      %s\n", e.c_str());
        }
    }
    void clear() {
        std::lock_guard<std::mutex> g(m);
        kinds.clear();
        order.clear();
    }
};

Failures g_failures;

void fail(const std::string &kind, const std::string &detail) { g_failures.add(kind, detail); }

int count_fds() {
    // One count at a time: each thread's listing would show up in the other's count.
    static std::mutex m;
    std::lock_guard<std::mutex> g(m);
    // The two threads' runtime events and semaphores (Windows) are not the library's.
    return static_cast<int>(qt::open_fds(false));
}

const char *state_name(int s) {
    switch (s) {
    case QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED: return "UNCONNECTED";
    case QLOCAL_LOCAL_SOCKET_STATE_CONNECTING: return "CONNECTING";
    case QLOCAL_LOCAL_SOCKET_STATE_CONNECTED: return "CONNECTED";
    case QLOCAL_LOCAL_SOCKET_STATE_CLOSING: return "CLOSING";
    default: return "?";
    }
}

// A barrier with a deadline, so a stuck thread turns into a failure instead of a hang.
struct Barrier {
    std::mutex m;
    std::condition_variable cv;
    int parties;
    int waiting = 0;
    uint64_t generation = 0;
    explicit Barrier(int n) : parties(n) {}
    // With `tick`, the waiting thread keeps calling it (its loop must run: a socket destroyed
    // after a disconnect flushes its queue from that loop, and the other thread waits for it).
    bool wait(double timeout_ms, const std::function<void()> &tick = {}) {
        std::unique_lock<std::mutex> l(m);
        uint64_t g = generation;
        if (++waiting == parties) {
            waiting = 0;
            generation++;
            cv.notify_all();
            return true;
        }
        double deadline = qt::now_ms() + timeout_ms;
        bool ok = false;
        while (!ok && qt::now_ms() < deadline) {
            double slice = tick ? 1.0 : deadline - qt::now_ms();
            ok = cv.wait_for(l, std::chrono::microseconds(static_cast<long>(slice * 1000) + 1),
                             [&] { return generation != g; });
            if (!ok && tick) {
                l.unlock();
                tick();
                l.lock();
                ok = generation != g;
            }
        }
        if (!ok) waiting--;
        return ok;
    }
};

// ---- the model: connections, stream directions, socket ends -------------------------------------

enum : uint32_t {
    EX_WRITER_ABORTED = 1,   // writer aborted or was destroyed without disconnect
    EX_READER_STOPPED = 2,   // reader aborted/closed/disconnected/was destroyed before its end
    EX_END_TIMEOUT = 4,      // the end phase gave up on it (reported as such)
};

struct Dir {
    uint32_t salt = 0;
    uint64_t written = 0;  // writer's thread: bytes accepted by qlocal_socket_write
    uint64_t received = 0;  // reader's thread: bytes read or skipped
    bool bad = false;
    uint64_t bad_pos = 0;
    bool reader_final = false;  // reader was unconnected with nothing buffered
    std::atomic<uint32_t> exempt{0};
};

struct Conn {
    uint32_t id = 0;
    Dir dir[2];  // [0] client -> accepted, [1] accepted -> client
    std::atomic<bool> accepted{false};
    std::atomic<bool> closed_by[2] = {{false}, {false}};  // side's user began to close it
    std::atomic<bool> half_closed[2] = {{false}, {false}};
    char thread[2] = {'?', '?'};  // which thread owns each side
    std::vector<std::string> tokens[2];  // what each side did (close paths, bound, ...)
    std::string close_op[2];  // "A#123": the op of the side's first close
    void token(int side, const std::string &t) {
        for (const auto &x : tokens[side])
            if (x == t) return;
        tokens[side].push_back(t);
    }
    std::string joined(int side) const {
        std::string s;
        for (const auto &t : tokens[side]) s += (s.empty() ? "" : ",") + t;
        return s.empty() ? "-" : s;
    }
};

struct Ctx;
struct End;

// The socket's userdata: freed by its finalizer, so it lives exactly as long as the library
// promises (until destroy returns, or until the callback that destroyed it returns).
struct Ud {
    uint32_t magic = kUdLive;
    bool destroyed = false;
    bool disconnected_seen = false;
    int ready_read_depth = 0;
    uint64_t bytes_written_reported = 0;
    End *end = nullptr;
    Ctx *ctx = nullptr;
    std::thread::id owner;
};

struct End {
    Conn *conn = nullptr;  // null until an accepted end has read the connection header
    int side = 0;           // 0 client, 1 accepted
    qlocal_socket *s = nullptr;  // null once destroyed
    Ud *ud = nullptr;
    bool disconnect_called = false;  // disconnect_from_server or close (graceful for output)
    bool half_closed = false;
    Dir *out() const { return &conn->dir[side == 0 ? 0 : 1]; }
    Dir *in() const { return &conn->dir[side == 0 ? 1 : 0]; }
};

struct Round;

enum Event { EV_READY_READ, EV_BYTES_WRITTEN, EV_DISCONNECTED };

struct Ctx {
    char name = '?';
    Rng rng{0};
    Round *round = nullptr;
    qlocal_loop *loop = nullptr;
    qlocal_server *server = nullptr;
    std::vector<std::unique_ptr<End>> ends;  // every end of this thread, for the whole round
    std::vector<End *> live;                  // not yet destroyed
    uint64_t op = 0;
    int dispatch_depth = 0;  // > 0 inside loop runs and waits: the only places for callbacks
    bool random_actions = false;  // callbacks may write, destroy, read partially
    size_t uds_made = 0, uds_finalized = 0;
    std::vector<uint8_t> buf = std::vector<uint8_t>(kMaxChunk + 1);
    // The close-path case steers callbacks through this.
    std::function<void(End &, Event)> hook;

    std::string label;  // names the scenario in failure details (close-path case)

    std::string opname() const {
        return (label.empty() ? "" : label + " ") + std::string(1, name) + "#" + std::to_string(op);
    }
};

struct Round {
    std::string name;  // the server's name
    std::mutex m;
    std::vector<std::unique_ptr<Conn>> conns;
    Barrier barrier{2};
    int fds_with_loops = -1;
    std::atomic<int> random_done{0};
};

bool alive(const End &e) { return e.s != nullptr; }

void check_rc(Ctx &c, const char *call, qlocal_result rc, std::initializer_list<qlocal_result> ok,
              int state_before) {
    for (qlocal_result r : ok)
        if (rc == r) return;
    fail(std::string("unexpected result from ") + call,
         c.opname() + ": " + qt::result_name(rc) + " in state " + state_name(state_before));
}

template <class F>
qlocal_result dispatching(Ctx &c, F f) {
    c.dispatch_depth++;
    qlocal_result rc = f();
    c.dispatch_depth--;
    return rc;
}

// ---- reading and checking -----------------------------------------------------------------------

void verify(End &e, const uint8_t *data, size_t n, bool advance) {
    Dir *d = e.in();
    if (!d->bad && std::memcmp(data, pattern_at(d->salt, d->received), n) != 0) {
        const uint8_t *want = pattern_at(d->salt, d->received);
        size_t i = 0;
        while (data[i] == want[i]) ++i;
        d->bad = true;
        d->bad_pos = d->received + i;
    }
    if (advance) d->received += n;
}

void update_final(End &e) {
    if (alive(e) && e.conn && qlocal_socket_state(e.s) == QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED &&
        qlocal_socket_bytes_available(e.s) == 0)
        e.in()->reader_final = true;
}

Conn *find_conn(Round &r, uint32_t id) {
    std::lock_guard<std::mutex> g(r.m);
    return id < r.conns.size() ? r.conns[id].get() : nullptr;
}

// An accepted end learns its connection from the 8-byte header the client sent first.
bool identify(Ctx &c, End &e) {
    if (e.conn) return true;
    if (!alive(e) || qlocal_socket_bytes_available(e.s) < kHeaderSize) return false;
    uint8_t h[kHeaderSize];
    size_t n = 0;
    qlocal_result rc = qlocal_socket_read(e.s, h, sizeof h, &n);
    if (rc != QLOCAL_RESULT_OK || n != sizeof h) {
        fail("connection header unreadable", c.opname() + ": " + qt::result_name(rc));
        return false;
    }
    uint32_t magic, id;
    std::memcpy(&magic, h, 4);
    std::memcpy(&id, h + 4, 4);
    Conn *conn = magic == kHeaderMagic ? find_conn(*c.round, id) : nullptr;
    if (!conn || conn->accepted.exchange(true)) {
        fail("bad connection header", c.opname());
        return false;
    }
    conn->thread[1] = c.name;
    e.conn = conn;
    return true;
}

// One read-side operation (or, with `all`, reads until nothing is buffered).
void read_ops(Ctx &c, End &e, bool all) {
    if (!alive(e) || !identify(c, e)) return;
    for (int guard = 0; guard < 100000; ++guard) {
        size_t avail = qlocal_socket_bytes_available(e.s);
        if (avail == 0) break;
        size_t most = std::min(avail, kMaxChunk);
        size_t cap = all ? most : 1 + c.rng.below(most + (c.rng.chance(0.1) ? 100 : 0));
        cap = std::min(cap, kMaxChunk);
        size_t n = 0;
        uint64_t kind = c.rng.below(10);
        if (kind < 5) {
            qlocal_result rc = qlocal_socket_read(e.s, c.buf.data(), cap, &n);
            check_rc(c, "qlocal_socket_read", rc, {QLOCAL_RESULT_OK}, qlocal_socket_state(e.s));
            if (n != std::min(cap, avail)) fail("read returned less than buffered", c.opname());
            verify(e, c.buf.data(), n, true);
        } else if (kind < 7) {
            qlocal_result rc = qlocal_socket_peek(e.s, c.buf.data(), cap, &n);
            check_rc(c, "qlocal_socket_peek", rc, {QLOCAL_RESULT_OK}, qlocal_socket_state(e.s));
            verify(e, c.buf.data(), n, false);
            if (qlocal_socket_bytes_available(e.s) != avail) fail("peek consumed bytes", c.opname());
            size_t m = 0;
            rc = qlocal_socket_read(e.s, c.buf.data(), n, &m);
            check_rc(c, "qlocal_socket_read", rc, {QLOCAL_RESULT_OK}, qlocal_socket_state(e.s));
            if (m != n) fail("read after peek returned another count", c.opname());
            verify(e, c.buf.data(), m, true);
        } else if (kind < 8) {
            qlocal_result rc = qlocal_socket_skip(e.s, cap, &n);
            check_rc(c, "qlocal_socket_skip", rc, {QLOCAL_RESULT_OK}, qlocal_socket_state(e.s));
            if (n != std::min(cap, avail)) fail("skip skipped less than buffered", c.opname());
            e.in()->received += n;
        } else {
            size_t lcap = std::max<size_t>(2, std::min(cap + 1, kMaxChunk));
            qlocal_result rc = qlocal_socket_read_line(e.s, c.buf.data(), lcap, &n);
            check_rc(c, "qlocal_socket_read_line", rc, {QLOCAL_RESULT_OK}, qlocal_socket_state(e.s));
            if (n == 0 || n > lcap - 1 || c.buf[n] != 0 ||
                std::memchr(c.buf.data(), '\n', n - 1) != nullptr ||
                (n < std::min(lcap - 1, avail) && c.buf[n - 1] != '\n'))
                fail("read_line broke its contract", c.opname() + ": " + std::to_string(n) + " bytes");
            verify(e, c.buf.data(), n, true);
        }
        if (!all) break;
    }
    update_final(e);
}

// ---- writing and closing --------------------------------------------------------------------------

size_t random_size(Rng &r) {
    if (r.chance(0.004)) return kMaxWrite;
    uint64_t k = r.below(19);
    size_t n = (size_t(1) << k) + r.below(size_t(1) << k);
    return std::min(n, kMaxChunk);
}

void do_write(Ctx &c, End &e, size_t n) {
    if (!alive(e) || !e.conn || e.half_closed) return;
    int st = qlocal_socket_state(e.s);
    if (st == QLOCAL_LOCAL_SOCKET_STATE_CONNECTED && qlocal_socket_bytes_to_write(e.s) > kMaxQueued) return;
    Dir *d = e.out();
    qlocal_result rc = qlocal_socket_write(e.s, pattern_at(d->salt, d->written), n);
    // Once a send met the closed peer, writes say so (those bytes could never arrive) while
    // the socket is still CONNECTED, reading the peer's last bytes: only after the peer closed.
    bool peer_gone = e.conn->closed_by[1 - e.side];
    if (st == QLOCAL_LOCAL_SOCKET_STATE_CONNECTED && peer_gone)
        check_rc(c, "qlocal_socket_write (connected, peer closed)", rc,
                 {QLOCAL_RESULT_OK, QLOCAL_RESULT_PEER_CLOSED}, st);
    else if (st == QLOCAL_LOCAL_SOCKET_STATE_CONNECTED) {
        if (rc != QLOCAL_RESULT_OK)
            fail("unexpected result from qlocal_socket_write (connected)",
                 c.opname() + ": " + qt::result_name(rc) + "; this side " + e.conn->joined(e.side) +
                     "; peer " + e.conn->joined(1 - e.side) + (e.conn->accepted ? "" : "; not accepted"));
    }
    else
        check_rc(c, "qlocal_socket_write (not connected)", rc, {QLOCAL_RESULT_WRONG_STATE}, st);
    if (rc == QLOCAL_RESULT_OK) {
        d->written += n;
        if (e.conn->closed_by[1 - e.side] || e.conn->half_closed[1 - e.side])
            e.conn->token(e.side, "wrote-after-peer-closed");
    }
}

void note_close(Ctx &c, End &e, const char *token) {
    if (!e.conn) return;
    e.conn->closed_by[e.side] = true;
    if (e.conn->close_op[e.side].empty()) e.conn->close_op[e.side] = c.opname();
    e.conn->token(e.side, token);
}

// The reader stops reading before its end: what it did not get is not owed to it.
void reader_stops(End &e) {
    update_final(e);
    if (e.conn && !e.in()->reader_final) e.in()->exempt |= EX_READER_STOPPED;
}

void do_disconnect(Ctx &c, End &e) {
    int st = qlocal_socket_state(e.s);
    if (st != QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED) reader_stops(e);
    // Recorded before the call: the other thread may see its effect (EPIPE) at once.
    note_close(c, e, "disconnect");
    check_rc(c, "qlocal_socket_disconnect_from_server", qlocal_socket_disconnect_from_server(e.s),
             {QLOCAL_RESULT_OK}, st);
    e.disconnect_called = true;
}

// close and abort drop the buffered input: those bytes count as consumed, unchecked, so the
// pattern stays aligned for bytes that still arrive while a closed socket is CLOSING.
void drop_buffered(End &e) { e.in()->received += qlocal_socket_bytes_available(e.s); }

void do_close(Ctx &c, End &e) {
    int st = qlocal_socket_state(e.s);
    reader_stops(e);
    drop_buffered(e);
    note_close(c, e, "close");
    check_rc(c, "qlocal_socket_close", qlocal_socket_close(e.s), {QLOCAL_RESULT_OK}, st);
    e.disconnect_called = true;
}

void do_abort(Ctx &c, End &e) {
    int st = qlocal_socket_state(e.s);
    reader_stops(e);
    if (st != QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED) e.out()->exempt |= EX_WRITER_ABORTED;
    drop_buffered(e);
    note_close(c, e, "abort");
    check_rc(c, "qlocal_socket_abort", qlocal_socket_abort(e.s), {QLOCAL_RESULT_OK}, st);
}

#ifdef _WIN32
constexpr bool kHalfClose = false;
#else
constexpr bool kHalfClose = true;
#endif

void do_half_close(Ctx &c, End &e, const char *token = "half-close") {
    if (e.half_closed || qlocal_socket_state(e.s) != QLOCAL_LOCAL_SOCKET_STATE_CONNECTED ||
        qlocal_socket_bytes_to_write(e.s) != 0)
        return;
    if (!kHalfClose) {
        fail("half-close on a system without one", c.opname());
        return;
    }
#ifndef _WIN32
    int fd = static_cast<int>(qlocal_socket_socket_descriptor(e.s));
    if (fd < 0 || ::shutdown(fd, SHUT_WR) != 0) {
        fail("shutdown(SHUT_WR) failed on a connected socket", c.opname());
        return;
    }
#endif
    e.half_closed = true;
    e.conn->half_closed[e.side] = true;
    note_close(c, e, token);
}

void forget(Ctx &c, End &e) {
    for (size_t i = 0; i < c.live.size(); ++i)
        if (c.live[i] == &e) {
            c.live[i] = c.live.back();
            c.live.pop_back();
            break;
        }
}

void do_destroy(Ctx &c, End &e, bool in_callback) {
    if (!alive(e)) return;
    if (e.conn) {
        int st = qlocal_socket_state(e.s);
        reader_stops(e);
        if (!e.disconnect_called && st != QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED)
            e.out()->exempt |= EX_WRITER_ABORTED;
        if (st != QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED)
            note_close(c, e, in_callback ? "destroy-in-callback" : "destroy");
    }
    e.ud->destroyed = true;
    qlocal_socket *s = e.s;
    e.s = nullptr;
    forget(c, e);
    check_rc(c, "qlocal_socket_destroy", qlocal_socket_destroy(s), {QLOCAL_RESULT_OK}, -1);
}

// ---- callbacks ------------------------------------------------------------------------------------

void ud_finalize(void *p) {
    Ud *u = static_cast<Ud *>(p);
    if (u->magic != kUdLive) {
        fail("finalizer ran twice", "");
        return;
    }
    if (!u->destroyed) fail("finalizer ran before destroy", u->ctx->opname());
    u->magic = kUdDead;
    u->ctx->uds_finalized++;
    delete u;
}

Ud *enter(void *p, qlocal_socket *s, const char *cb) {
    Ud *u = static_cast<Ud *>(p);
    if (!u || u->magic != kUdLive) {
        fail("callback after the finalizer", cb);
        return nullptr;
    }
    Ctx &c = *u->ctx;
    if (u->destroyed) {
        fail("callback after destroy", std::string(cb) + " at " + c.opname());
        return nullptr;
    }
    if (u->owner != std::this_thread::get_id()) fail("callback on another thread", cb);
    if (c.dispatch_depth == 0)
        fail("callback outside a loop run or wait", std::string(cb) + " at " + c.opname());
    if (u->end->s != s) fail("callback with another handle", cb);
    return u;
}

// A callback may end its own socket (the library promises this is safe).
bool maybe_destroy_in_callback(Ctx &c, End &e, double p) {
    if (!c.random_actions || !e.conn || !c.rng.chance(p)) return false;
    switch (c.rng.below(3)) {
    case 0: read_ops(c, e, true); break;  // everything read first: nothing owed to it
    case 1: do_disconnect(c, e); break;   // destroy after disconnect: the queue still goes out
    default: break;                       // plain destroy: abort
    }
    do_destroy(c, e, true);
    return true;
}

void on_connected(void *p, qlocal_socket *s) {
    Ud *u = enter(p, s, "connected");
    if (!u) return;
    int st = qlocal_socket_state(s);
    if (st != QLOCAL_LOCAL_SOCKET_STATE_CONNECTED)
        fail("connected callback while not connected", std::string("state ") + state_name(st));
}

void on_state(void *p, qlocal_socket *s, qlocal_local_socket_state arg) {
    Ud *u = enter(p, s, "state_changed");
    if (!u) return;
    int st = qlocal_socket_state(s);
    if (st != arg)
        fail("state_changed(arg) but state() differs",
             std::string("state_changed(") + state_name(arg) + "), state() " + state_name(st) + " at " +
                 u->ctx->opname());
    maybe_destroy_in_callback(*u->ctx, *u->end, 0.002);
}

void on_error(void *p, qlocal_socket *s, qlocal_local_socket_error arg) {
    Ud *u = enter(p, s, "error");
    if (!u) return;
    int err = qlocal_socket_error(s);
    if (err != arg)
        fail("error(arg) but error() differs",
             "error(" + std::to_string(arg) + "), error() " + std::to_string(err) + " at " + u->ctx->opname());
    Conn *conn = u->end->conn;
    if (conn && arg != QLOCAL_LOCAL_SOCKET_ERROR_SOCKET_TIMEOUT) {  // timeouts: from waits
        conn->token(u->end->side, "error:" + std::to_string(arg));
        if (conn->close_op[u->end->side].empty()) conn->close_op[u->end->side] = u->ctx->opname() + " (error)";
    }
    maybe_destroy_in_callback(*u->ctx, *u->end, 0.01);
}

void on_disconnected(void *p, qlocal_socket *s) {
    Ud *u = enter(p, s, "disconnected");
    if (!u) return;
    int st = qlocal_socket_state(s);
    if (st != QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED)
        fail("disconnected callback while not unconnected", std::string("state ") + state_name(st));
    if (u->disconnected_seen) fail("disconnected twice", u->ctx->opname());
    u->disconnected_seen = true;
    if (u->end->conn) u->end->conn->token(u->end->side, "disconnected");
    Ctx &c = *u->ctx;
    End &e = *u->end;
    if (c.hook) c.hook(e, EV_DISCONNECTED);
    if (alive(e) && c.random_actions && c.rng.chance(0.3)) {
        // Qt's deleteLater in disconnected, after reading what is left.
        read_ops(c, e, true);
        do_destroy(c, e, true);
        return;
    }
    maybe_destroy_in_callback(c, e, 0.05);
}

void on_read_channel_finished(void *p, qlocal_socket *s) {
    Ud *u = enter(p, s, "read_channel_finished");
    if (!u) return;
    maybe_destroy_in_callback(*u->ctx, *u->end, 0.01);
}

void on_bytes_written(void *p, qlocal_socket *s, uint64_t n) {
    Ud *u = enter(p, s, "bytes_written");
    if (!u) return;
    Ctx &c = *u->ctx;
    End &e = *u->end;
    if (u->disconnected_seen) fail("bytes_written after disconnected", c.opname());
    int st = qlocal_socket_state(s);
    if (st == QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED) fail("bytes_written while UNCONNECTED", c.opname());
    u->bytes_written_reported += n;
    if (e.conn && u->bytes_written_reported > e.out()->written + (e.side == 0 ? kHeaderSize : 0))
        fail("bytes_written reports more than was written", c.opname());
    if (c.hook) c.hook(e, EV_BYTES_WRITTEN);
    if (alive(e)) maybe_destroy_in_callback(c, e, 0.003);
}

void on_ready_read(void *p, qlocal_socket *s) {
    Ud *u = enter(p, s, "ready_read");
    if (!u) return;
    Ctx &c = *u->ctx;
    End &e = *u->end;
    if (++u->ready_read_depth > 1) fail("ready_read re-entered", c.opname());
    if (c.hook) {
        c.hook(e, EV_READY_READ);
    } else {
        read_ops(c, e, !c.random_actions || c.rng.chance(0.8));
        if (alive(e) && e.conn && c.random_actions) {
            // Writes from inside ready_read, most often right after the peer half-closed.
            bool peer_half = e.conn->half_closed[1 - e.side];
            if (c.rng.chance(peer_half ? 0.5 : 0.05) &&
                qlocal_socket_state(s) == QLOCAL_LOCAL_SOCKET_STATE_CONNECTED) {
                if (peer_half) e.conn->token(e.side, "wrote-in-ready-read-after-peer-half-close");
                do_write(c, e, 1 + c.rng.below(kMaxChunk));
            }
            maybe_destroy_in_callback(c, e, 0.005);
        }
    }
    u->ready_read_depth--;  // u lives until this callback returns, destroyed or not
}

void attach(Ctx &c, End &e) {
    Ud *u = new Ud;
    u->end = &e;
    u->ctx = &c;
    u->owner = std::this_thread::get_id();
    e.ud = u;
    c.uds_made++;
    int st = qlocal_socket_state(e.s);
    check_rc(c, "qlocal_socket_set_userdata", qlocal_socket_set_userdata(e.s, u, &ud_finalize),
             {QLOCAL_RESULT_OK}, st);
    check_rc(c, "set callback", qlocal_socket_set_connected_callback(e.s, &on_connected), {QLOCAL_RESULT_OK}, st);
    check_rc(c, "set callback", qlocal_socket_set_disconnected_callback(e.s, &on_disconnected),
             {QLOCAL_RESULT_OK}, st);
    check_rc(c, "set callback", qlocal_socket_set_ready_read_callback(e.s, &on_ready_read), {QLOCAL_RESULT_OK},
             st);
    check_rc(c, "set callback", qlocal_socket_set_read_channel_finished_callback(e.s, &on_read_channel_finished),
             {QLOCAL_RESULT_OK}, st);
    check_rc(c, "set callback", qlocal_socket_set_error_callback(e.s, &on_error), {QLOCAL_RESULT_OK}, st);
    check_rc(c, "set callback", qlocal_socket_set_state_changed_callback(e.s, &on_state), {QLOCAL_RESULT_OK}, st);
    check_rc(c, "set callback", qlocal_socket_set_bytes_written_callback(e.s, &on_bytes_written),
             {QLOCAL_RESULT_OK}, st);
}

End *new_end(Ctx &c, qlocal_socket *s, int side) {
    c.ends.push_back(std::make_unique<End>());
    End *e = c.ends.back().get();
    e->s = s;
    e->side = side;
    c.live.push_back(e);
    attach(c, *e);
    return e;
}

void on_new_connection(void *p, qlocal_server *server) {
    Ctx &c = *static_cast<Ctx *>(p);
    if (c.dispatch_depth == 0) fail("new_connection outside a loop run or wait", c.opname());
    for (int i = 0; i < 100; ++i) {
        qlocal_socket *s = nullptr;
        qlocal_result rc = qlocal_server_next_pending_connection(server, &s);
        check_rc(c, "qlocal_server_next_pending_connection", rc, {QLOCAL_RESULT_OK}, -1);
        if (rc != QLOCAL_RESULT_OK || !s) break;
        identify(c, *new_end(c, s, 1));
    }
}

End *connect_client(Ctx &c) {
    qlocal_socket *s = nullptr;
    qlocal_result rc = qlocal_socket_new(c.loop, &s);
    check_rc(c, "qlocal_socket_new", rc, {QLOCAL_RESULT_OK}, -1);
    if (rc != QLOCAL_RESULT_OK) return nullptr;
    Round &r = *c.round;
    Conn *conn;
    {
        std::lock_guard<std::mutex> g(r.m);
        r.conns.push_back(std::make_unique<Conn>());
        conn = r.conns.back().get();
        conn->id = static_cast<uint32_t>(r.conns.size() - 1);
    }
    conn->thread[0] = c.name;
    for (int d = 0; d < 2; ++d) conn->dir[d].salt = static_cast<uint32_t>((conn->id * 2u + d) * 7919u % kPeriod);
    End *e = new_end(c, s, 0);
    e->conn = conn;
    rc = qlocal_socket_connect_to_server(s, r.name.c_str());
    check_rc(c, "qlocal_socket_connect_to_server", rc, {QLOCAL_RESULT_OK}, QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED);
    if (qlocal_socket_state(s) == QLOCAL_LOCAL_SOCKET_STATE_CONNECTING) {
        bool random_actions = c.random_actions;
        c.random_actions = false;  // no destroy before the header is out
        rc = dispatching(c, [&] { return qlocal_socket_wait_for_connected(s, 5000); });
        c.random_actions = random_actions;
        check_rc(c, "qlocal_socket_wait_for_connected", rc, {QLOCAL_RESULT_OK}, QLOCAL_LOCAL_SOCKET_STATE_CONNECTING);
    }
    if (!alive(*e)) return nullptr;  // a callback destroyed it
    if (qlocal_socket_state(s) != QLOCAL_LOCAL_SOCKET_STATE_CONNECTED) {
        fail("connect did not succeed", c.opname() + ": state " + state_name(qlocal_socket_state(s)));
        conn->accepted = true;  // never will be: nothing to wait for
        conn->dir[0].exempt |= EX_END_TIMEOUT;
        conn->dir[1].exempt |= EX_END_TIMEOUT;
        do_destroy(c, *e, false);
        return nullptr;
    }
    uint8_t h[kHeaderSize];
    std::memcpy(h, &kHeaderMagic, 4);
    std::memcpy(h + 4, &conn->id, 4);
    rc = qlocal_socket_write(s, h, sizeof h);
    check_rc(c, "qlocal_socket_write (header)", rc, {QLOCAL_RESULT_OK}, QLOCAL_LOCAL_SOCKET_STATE_CONNECTED);
    return e;
}

// ---- random operations ----------------------------------------------------------------------------

void run_loop_op(Ctx &c) {
    bool once = c.rng.chance(0.5);
    int32_t mode = once ? QLOCAL_RUN_MODE_ONCE : QLOCAL_RUN_MODE_NO_WAIT;
    int32_t t = once ? static_cast<int32_t>(c.rng.below(4)) : 0;
    qlocal_result rc = dispatching(c, [&] { return qlocal_loop_run(c.loop, mode, t); });
    check_rc(c, "qlocal_loop_run", rc, {QLOCAL_RESULT_OK, QLOCAL_RESULT_TIMEOUT}, -1);
}

void wait_op(Ctx &c, End &e, int which) {
    int st = qlocal_socket_state(e.s);
    int32_t t = static_cast<int32_t>(c.rng.below(5));
    qlocal_socket *s = e.s;
    bool unconnected = st == QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED;
    if (which == 0) {
        qlocal_result rc = dispatching(c, [&] { return qlocal_socket_wait_for_ready_read(s, t); });
        if (unconnected)
            check_rc(c, "qlocal_socket_wait_for_ready_read (unconnected)", rc, {QLOCAL_RESULT_WRONG_STATE}, st);
        else
            check_rc(c, "qlocal_socket_wait_for_ready_read", rc,
                     {QLOCAL_RESULT_OK, QLOCAL_RESULT_TIMEOUT, QLOCAL_RESULT_PEER_CLOSED, QLOCAL_RESULT_WRONG_STATE},
                     st);
    } else if (which == 1) {
        qlocal_result rc = dispatching(c, [&] { return qlocal_socket_wait_for_bytes_written(s, t); });
        if (unconnected)
            check_rc(c, "qlocal_socket_wait_for_bytes_written (unconnected)", rc, {QLOCAL_RESULT_WRONG_STATE}, st);
        else
            check_rc(c, "qlocal_socket_wait_for_bytes_written", rc,
                     {QLOCAL_RESULT_OK, QLOCAL_RESULT_TIMEOUT, QLOCAL_RESULT_WRONG_STATE}, st);
    } else {
        qlocal_result rc = dispatching(c, [&] { return qlocal_socket_wait_for_disconnected(s, t); });
        if (unconnected)
            check_rc(c, "qlocal_socket_wait_for_disconnected (unconnected)", rc, {QLOCAL_RESULT_WRONG_STATE}, st);
        else
            check_rc(c, "qlocal_socket_wait_for_disconnected", rc,
                     {QLOCAL_RESULT_OK, QLOCAL_RESULT_TIMEOUT, QLOCAL_RESULT_WRONG_STATE}, st);
    }
    if (alive(e)) update_final(e);
}

void set_bound(Ctx &c, End &e) {
    size_t bound = c.rng.chance(0.33) ? 0 : 1 + c.rng.below(kMaxBound);
    int st = qlocal_socket_state(e.s);
    check_rc(c, "qlocal_socket_set_read_buffer_size", qlocal_socket_set_read_buffer_size(e.s, bound),
             {QLOCAL_RESULT_OK}, st);
    if (bound) e.conn->token(e.side, "read-bound");
}

End *pick(Ctx &c) {
    std::vector<End *> ready;
    for (End *e : c.live)
        if (e->conn) ready.push_back(e);
    return ready.empty() ? nullptr : ready[c.rng.below(ready.size())];
}

size_t live_clients(const Ctx &c) {
    size_t n = 0;
    for (const End *e : c.live) n += e->side == 0;
    return n;
}

void random_op(Ctx &c) {
    uint64_t p = c.rng.below(1000);
    size_t max_clients = c.name == 'A' ? kMaxClientsA : kMaxClientsB;
    if (p < 20) {
        if (live_clients(c) < max_clients) connect_client(c);
        else run_loop_op(c);
        return;
    }
    if (p < 170) return run_loop_op(c);
    End *e = pick(c);
    if (!e) return run_loop_op(c);
    p = c.rng.below(1000);
    if (p < 300) {
        do_write(c, *e, random_size(c.rng));
    } else if (p < 560) {
        read_ops(c, *e, c.rng.chance(0.3));
    } else if (p < 590) {
        set_bound(c, *e);
    } else if (p < 630) {
        wait_op(c, *e, 0);
    } else if (p < 660) {
        wait_op(c, *e, 1);
    } else if (p < 675) {
        wait_op(c, *e, 2);
    } else if (p < 690) {
        bool wrote = false;
        int st = qlocal_socket_state(e->s);
        check_rc(c, "qlocal_socket_flush", qlocal_socket_flush(e->s, &wrote), {QLOCAL_RESULT_OK}, st);
    } else if (p < 702) {
        do_disconnect(c, *e);
    } else if (p < 710) {
        do_close(c, *e);
    } else if (p < 716) {
        do_abort(c, *e);
    } else if (p < 728) {
        if (kHalfClose) do_half_close(c, *e);
        else do_disconnect(c, *e);
    } else if (p < 736) {
        if (c.rng.chance(0.6)) do_disconnect(c, *e);
        do_destroy(c, *e, false);
    } else if (p < 760) {
        update_final(*e);  // a finished socket: read everything, then destroy it
        if (qlocal_socket_state(e->s) == QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED) {
            read_ops(c, *e, true);
            do_destroy(c, *e, false);
        }
    } else {
        do_write(c, *e, random_size(c.rng));
    }
}

// ---- the end of a round ------------------------------------------------------------------------

// Reads everything, half-closes each connected end once its queue is empty, and destroys each
// end once it is unconnected and drained. On thread A it also waits until every connection
// the clients made was accepted. True when everything ended.
bool finish_all(Ctx &c, double deadline, bool wait_for_accepts) {
    while (qt::now_ms() < deadline) {
        bool done = true;
        for (size_t i = 0; i < c.live.size();) {
            End *e = c.live[i];
            if (!identify(c, *e)) {
                if (qlocal_socket_state(e->s) == QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED &&
                    qlocal_socket_bytes_available(e->s) < kHeaderSize) {
                    fail("connection header lost", c.opname());
                    do_destroy(c, *e, false);
                    continue;
                }
                done = false;
                ++i;
                continue;
            }
            read_ops(c, *e, true);
            if (!alive(*e)) continue;
            int st = qlocal_socket_state(e->s);
            if (st == QLOCAL_LOCAL_SOCKET_STATE_CONNECTED && !e->half_closed &&
                qlocal_socket_bytes_to_write(e->s) == 0) {
                if (kHalfClose) do_half_close(c, *e, "end-half-close");
                else do_disconnect(c, *e);
            }
            if (st == QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED && qlocal_socket_bytes_available(e->s) == 0) {
                do_destroy(c, *e, false);  // removes it from c.live
                continue;
            }
            done = false;
            ++i;
        }
        if (wait_for_accepts) {
            std::lock_guard<std::mutex> g(c.round->m);
            for (const auto &conn : c.round->conns)
                if (!conn->accepted) done = false;
        }
        if (done) return true;
        qlocal_result rc = dispatching(c, [&] { return qlocal_loop_run(c.loop, QLOCAL_RUN_MODE_ONCE, 5); });
        check_rc(c, "qlocal_loop_run", rc, {QLOCAL_RESULT_OK, QLOCAL_RESULT_TIMEOUT}, -1);
    }
    return false;
}

void give_up_on_the_rest(Ctx &c) {
    int shown = 0;
    while (!c.live.empty()) {
        End *e = c.live.back();
        if (shown++ < 3)
            fail("end phase did not finish (deadline)",
                 std::string("thread ") + c.name + " side " + (e->side ? "accepted" : "client") + " state " +
                     state_name(qlocal_socket_state(e->s)) + " available " +
                     std::to_string(qlocal_socket_bytes_available(e->s)) + " to write " +
                     std::to_string(qlocal_socket_bytes_to_write(e->s)) + " bound " +
                     std::to_string(qlocal_socket_read_buffer_size(e->s)) + (e->half_closed ? " half-closed" : "") +
                     (e->conn ? "; this side " + e->conn->joined(e->side) + "; peer " +
                                    e->conn->joined(1 - e->side) + " on thread " + e->conn->thread[1 - e->side]
                              : "; unidentified"));
        if (e->conn) {
            e->in()->exempt |= EX_END_TIMEOUT;
            e->out()->exempt |= EX_END_TIMEOUT;
        }
        do_destroy(c, *e, false);
    }
}

// Runs the loop until the process holds no more descriptors than it did with just the loops.
void run_until_idle(Ctx &c, int fds_with_loops, bool report, double idle_ms = kIdleMs) {
    double deadline = qt::now_ms() + idle_ms;
    while (count_fds() > fds_with_loops && qt::now_ms() < deadline) {
        qlocal_result rc = dispatching(c, [&] { return qlocal_loop_run(c.loop, QLOCAL_RUN_MODE_ONCE, 10); });
        check_rc(c, "qlocal_loop_run", rc, {QLOCAL_RESULT_OK, QLOCAL_RESULT_TIMEOUT}, -1);
    }
    int n = count_fds();
    if (report && n > fds_with_loops) {
        std::string types = qt::open_handle_types();
        fail("descriptors still open after every socket and server was destroyed",
             std::to_string(n - fds_with_loops) + " more than with just the loops, after " +
                 std::to_string(static_cast<int>(idle_ms)) + " ms of loop runs" +
                 (types.empty() ? "" : " (open now: " + types + ")"));
    }
}

void check_finalizers(Ctx &c) {
    if (c.uds_finalized != c.uds_made)
        fail("userdata finalizer did not run for every destroyed socket",
             std::string("thread ") + c.name + ": " + std::to_string(c.uds_made) + " set, " +
                 std::to_string(c.uds_finalized) + " finalized");
}

bool has(const std::vector<std::string> &v, const std::string &t) {
    for (const auto &x : v)
        if (x == t) return true;
    return false;
}

// How the writer's side of a direction ended: its first close, or the library closing it.
std::string writer_ending(const Conn &conn, int side) {
    const auto &t = conn.tokens[side];
    for (const auto &x : t) {
        if (x.rfind("error:", 0) == 0) return "closed by the library (" + x + ")";
        if (x == "disconnect" || x == "close") {
            if (has(t, "destroy")) return x + " then destroy";
            if (has(t, "destroy-in-callback")) return x + " then destroy in a callback";
            return x;
        }
        if (x == "half-close" || x == "end-half-close" || x == "abort" || x == "destroy" ||
            x == "destroy-in-callback")
            return x;
    }
    return "with no close op and no error callback seen";
}

std::string reader_conditions(const Conn &conn, int side) {
    const auto &t = conn.tokens[side];
    std::string s = has(t, "read-bound") ? "bounded" : "unbounded";
    if (has(t, "half-close") || has(t, "end-half-close")) s += ", half-closed itself";
    if (has(t, "wrote-after-peer-closed")) s += ", wrote after the writer closed";
    return s;
}

// What every stream direction owes its reader.
void check_conns(Round &r, const std::string &prefix, const std::string &detail = "") {
    std::lock_guard<std::mutex> g(r.m);
    for (const auto &cp : r.conns) {
        Conn &conn = *cp;
        if (!conn.accepted) {
            fail(prefix + "connection never accepted", "conn " + std::to_string(conn.id));
            continue;
        }
        for (int d = 0; d < 2; ++d) {
            Dir &dir = conn.dir[d];
            int w = d, rd = 1 - d;  // side 0 writes dir 0
            std::string stream = "conn " + std::to_string(conn.id) +
                                 (d == 0 ? " client->accepted" : " accepted->client") + " (" + conn.thread[w] +
                                 "->" + conn.thread[rd] + ")";
            if (dir.bad)
                fail(prefix + "bytes out of order or corrupt",
                     detail + stream + ": first wrong byte at " + std::to_string(dir.bad_pos) + " of " +
                         std::to_string(dir.written));
            if (dir.received > dir.written)
                fail(prefix + "more bytes read than written",
                     detail + stream + ": written " + std::to_string(dir.written) + ", received " +
                         std::to_string(dir.received));
            if (dir.exempt != 0) continue;
            if (dir.received != dir.written || !dir.reader_final) {
                // `detail` names the scenario; a close op's name already does.
                std::string op = conn.close_op[w].empty() ? detail + "end phase" : "op " + conn.close_op[w];
                fail(prefix + "lost bytes: writer " + writer_ending(conn, w) + "; reader " +
                         reader_conditions(conn, rd),
                     op + ", " + stream + ": expected " + std::to_string(dir.written) + ", got " +
                         std::to_string(dir.received) + (dir.reader_final ? "" : " (reader never reached its end)") +
                         " [writer " + conn.joined(w) + " | reader " + conn.joined(rd) + "]");
            }
        }
    }
}

// ---- one round of the random test ---------------------------------------------------------------

void thread_main(Round &r, Ctx &c, uint64_t ops, double random_deadline) {
    qlocal_result rc = qlocal_loop_new(&c.loop);
    check_rc(c, "qlocal_loop_new", rc, {QLOCAL_RESULT_OK}, -1);
    if (!r.barrier.wait(10000)) fail("barrier timed out", "loops");
    if (c.name == 'A') {
        r.fds_with_loops = count_fds();
        check_rc(c, "qlocal_server_new", qlocal_server_new(c.loop, &c.server), {QLOCAL_RESULT_OK}, -1);
        check_rc(c, "qlocal_server_set_userdata", qlocal_server_set_userdata(c.server, &c, nullptr),
                 {QLOCAL_RESULT_OK}, -1);
        check_rc(c, "qlocal_server_set_new_connection_callback",
                 qlocal_server_set_new_connection_callback(c.server, &on_new_connection), {QLOCAL_RESULT_OK}, -1);
        check_rc(c, "qlocal_server_listen", qlocal_server_listen(c.server, r.name.c_str()), {QLOCAL_RESULT_OK}, -1);
    }
    if (!r.barrier.wait(10000)) fail("barrier timed out", "listen");

    c.random_actions = true;
    while (c.op < ops && qt::now_ms() < random_deadline) {
        c.op++;
        random_op(c);
    }
    c.random_actions = false;
    // Serve the other thread's sockets until it is done too.
    r.random_done++;
    double serve_deadline = random_deadline + 30000;
    while (r.random_done < 2 && qt::now_ms() < serve_deadline) {
        for (size_t i = 0; i < c.live.size(); ++i) read_ops(c, *c.live[i], true);
        qlocal_result lrc = dispatching(c, [&] { return qlocal_loop_run(c.loop, QLOCAL_RUN_MODE_ONCE, 5); });
        check_rc(c, "qlocal_loop_run", lrc, {QLOCAL_RESULT_OK, QLOCAL_RESULT_TIMEOUT}, -1);
    }

    if (!finish_all(c, qt::now_ms() + kEndPhaseMs, c.name == 'A')) give_up_on_the_rest(c);
    auto run_loop = [&c] { (void)dispatching(c, [&] { return qlocal_loop_run(c.loop, QLOCAL_RUN_MODE_ONCE, 5); }); };
    if (!r.barrier.wait(kEndPhaseMs + 10000, run_loop)) fail("barrier timed out", "end phase");
    if (c.server) {
        check_rc(c, "qlocal_server_destroy", qlocal_server_destroy(c.server), {QLOCAL_RESULT_OK}, -1);
        c.server = nullptr;
    }
    if (!r.barrier.wait(10000, run_loop)) fail("barrier timed out", "server destroyed");
    run_until_idle(c, r.fds_with_loops, c.name == 'A');
    check_finalizers(c);
    if (!r.barrier.wait(kIdleMs + 10000)) fail("barrier timed out", "idle");
    check_rc(c, "qlocal_loop_destroy", qlocal_loop_destroy(c.loop), {QLOCAL_RESULT_OK}, -1);
    c.loop = nullptr;
}

// ---- one close path at a time --------------------------------------------------------------------

// One connection on one loop: the writer queues more than the kernel takes, ends its stream
// the way `path` says, and the reader (read bound `bound`, slow when bounded) reads to the end.
void run_path(const std::string &path, size_t bound, uint64_t seed) {
    Round r;
    r.name = qt::unique_name("path");
    Ctx c;
    c.name = 'S';
    c.round = &r;
    c.rng.s = mix(seed, 7);
    check_rc(c, "qlocal_loop_new", qlocal_loop_new(&c.loop), {QLOCAL_RESULT_OK}, -1);
    if (!c.loop) return;
    int fds_with_loop = count_fds();
    check_rc(c, "qlocal_server_new", qlocal_server_new(c.loop, &c.server), {QLOCAL_RESULT_OK}, -1);
    check_rc(c, "qlocal_server_set_userdata", qlocal_server_set_userdata(c.server, &c, nullptr), {QLOCAL_RESULT_OK},
             -1);
    check_rc(c, "qlocal_server_set_new_connection_callback",
             qlocal_server_set_new_connection_callback(c.server, &on_new_connection), {QLOCAL_RESULT_OK}, -1);
    check_rc(c, "qlocal_server_listen", qlocal_server_listen(c.server, r.name.c_str()), {QLOCAL_RESULT_OK}, -1);
    End *client = connect_client(c);
    End *acc = nullptr;
    double deadline = qt::now_ms() + 5000;
    while (client && !acc && qt::now_ms() < deadline) {
        (void)dispatching(c, [&] { return qlocal_loop_run(c.loop, QLOCAL_RUN_MODE_ONCE, 5); });
        for (End *e : c.live)
            if (e->side == 1 && identify(c, *e)) acc = e;
    }
    if (!client || !acc) {
        fail("[" + path + "] no connection", "seed " + std::to_string(seed));
        give_up_on_the_rest(c);
    } else {
        End *w = (seed & 1) ? client : acc;
        End *rd = (seed & 1) ? acc : client;
        c.label = "bound=" + std::to_string(bound) + " seed=" + std::to_string(seed) +
                  (w == client ? " writer=client" : " writer=accepted");
        check_rc(c, "qlocal_socket_set_read_buffer_size", qlocal_socket_set_read_buffer_size(rd->s, bound),
                 {QLOCAL_RESULT_OK}, -1);
        if (bound) rd->conn->token(rd->side, "read-bound");
        for (int i = 0; i < 3; ++i) do_write(c, *w, random_size(c.rng) % 100000 + 1);
        do_write(c, *w, size_t(1) << 20);  // more than the kernel takes: a queue is left
        c.op = 1;
        int replies = 0;
        bool rd_wrote = false;
        bool half = path == "half-close";
        // The reader's ready_read: read (one step when bounded); after a half-close by the
        // writer, answer from inside the callback while still connected.
        c.hook = [&](End &e, Event ev) {
            if (ev == EV_READY_READ) {
                read_ops(c, e, e.side != rd->side || bound == 0);
                if (half && &e == rd && alive(e) && e.conn->half_closed[w->side] && replies < 8 &&
                    qlocal_socket_state(e.s) == QLOCAL_LOCAL_SOCKET_STATE_CONNECTED) {
                    e.conn->token(e.side, "wrote-in-ready-read-after-peer-half-close");
                    do_write(c, e, replies == 0 ? kMaxWrite : kMaxChunk);  // first: more than the kernel takes
                    replies++;
                }
            } else if (ev == EV_BYTES_WRITTEN && path == "destroy-in-bytes_written" && &e == w && alive(e)) {
                do_disconnect(c, e);
                do_destroy(c, e, true);
            }
        };
        if (path == "disconnect" || path == "epipe") {
            do_disconnect(c, *w);
        } else if (path == "close") {
            do_close(c, *w);
        } else if (path == "disconnect+destroy") {
            do_disconnect(c, *w);
            do_destroy(c, *w, false);
        }
        deadline = qt::now_ms() + 15000;
        bool finished = false;
        while (!finished && qt::now_ms() < deadline) {
            c.op++;
            if (half && alive(*w) && !w->half_closed && qlocal_socket_bytes_to_write(w->s) == 0) do_half_close(c, *w);
            if (path == "epipe" && !rd_wrote && alive(*w) && alive(*rd) &&
                qlocal_socket_state(w->s) == QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED) {
                // The writer is gone while the bounded reader still has bytes in the kernel:
                // its own write meets EPIPE, and what the writer sent must still be readable.
                rd->conn->token(rd->side, "write-meets-epipe");
                do_write(c, *rd, 1000);
                rd_wrote = true;
            }
            finished = true;
            for (size_t i = 0; i < c.live.size();) {
                End *e = c.live[i];
                read_ops(c, *e, e != rd || bound == 0);
                if (!alive(*e)) continue;
                int st = qlocal_socket_state(e->s);
                if (half && e == rd && replies >= 8 && st == QLOCAL_LOCAL_SOCKET_STATE_CONNECTED &&
                    qlocal_socket_bytes_to_write(e->s) == 0)
                    do_half_close(c, *e, "end-half-close");
                if (st == QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED && qlocal_socket_bytes_available(e->s) == 0) {
                    do_destroy(c, *e, false);
                    continue;
                }
                finished = false;
                ++i;
            }
            if (!finished) {
                // A slow reader with bytes still buffered has work now: do not wait.
                bool buffered = false;
                for (End *e : c.live) buffered |= qlocal_socket_bytes_available(e->s) > 0;
                int32_t t = buffered ? 0 : 5;
                qlocal_result rc =
                    dispatching(c, [&] { return qlocal_loop_run(c.loop, QLOCAL_RUN_MODE_ONCE, t); });
                check_rc(c, "qlocal_loop_run", rc, {QLOCAL_RESULT_OK, QLOCAL_RESULT_TIMEOUT}, -1);
            }
        }
        if (!finished) give_up_on_the_rest(c);
        c.hook = nullptr;
    }
    check_rc(c, "qlocal_server_destroy", qlocal_server_destroy(c.server), {QLOCAL_RESULT_OK}, -1);
    c.server = nullptr;
    // Every reader has drained, so nothing should linger long; after one run left descriptors
    // open, the others wait briefly, which keeps the case within its deadline.
    static bool leaked_before = false;
    run_until_idle(c, fds_with_loop, true, leaked_before ? 200 : 3000);
    leaked_before = leaked_before || count_fds() > fds_with_loop;
    check_finalizers(c);
    check_rc(c, "qlocal_loop_destroy", qlocal_loop_destroy(c.loop), {QLOCAL_RESULT_OK}, -1);
    check_conns(r, "[" + path + "] ", c.label + ": ");
}

uint64_t env_u64(const char *name, uint64_t fallback, bool *set) {
    const char *v = std::getenv(name);
    if (set) *set = v && *v;
    if (!v || !*v) return fallback;
    return std::strtoull(v, nullptr, 0);
}

}  // namespace

QLOCAL_TEST(random_socket_contract)
{
    bool seed_set = false, ops_set = false;
    uint64_t clock_seed = static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
    uint64_t seed = env_u64("QLOCAL_RANDOM_SEED", clock_seed % 1000000007ull, &seed_set);
    uint64_t total_ops = env_u64("QLOCAL_RANDOM_OPS", kDefaultOps, &ops_set);
    uint64_t rounds = (total_ops + kRoundOps - 1) / kRoundOps;
    if (rounds == 0) rounds = 1;
    std::printf("random_socket_contract: QLOCAL_RANDOM_SEED=%llu QLOCAL_RANDOM_OPS=%llu (%llu round(s))\n",
                static_cast<unsigned long long>(seed), static_cast<unsigned long long>(total_ops),
                static_cast<unsigned long long>(rounds));
    std::fflush(stdout);
    g_failures.clear();
    (void)pattern_table();
    double budget_end = qt::now_ms() + kDefaultBudgetMs;
    uint64_t left = total_ops;
    for (uint64_t round = 0; round < rounds; ++round) {
        uint64_t ops = std::min(left, kRoundOps);
        left -= ops;
        // A round's seed reruns that round alone: QLOCAL_RANDOM_SEED=<it> QLOCAL_RANDOM_OPS=<ops>.
        uint64_t round_seed = rounds == 1 ? seed : mix(seed, round) % 1000000007ull;
        int fds_before = count_fds();
        double t0 = qt::now_ms();
        double deadline = t0 + kRoundRandomMs;
        if (!ops_set) deadline = std::min(deadline, budget_end);
        Round r;
        r.name = qt::unique_name("random");
        Ctx a, b;
        a.name = 'A';
        b.name = 'B';
        a.rng.s = mix(round_seed, 1);
        b.rng.s = mix(round_seed, 2);
        a.round = b.round = &r;
        std::thread ta([&] { thread_main(r, a, (ops + 1) / 2, deadline); });
        std::thread tb([&] { thread_main(r, b, ops / 2, deadline); });
        ta.join();
        tb.join();
        check_conns(r, "");
        int fds_after = count_fds();
        if (fds_after != fds_before)
            fail("descriptors leaked by the round",
                 std::to_string(fds_before) + " open before, " + std::to_string(fds_after) + " after");
        size_t conns = r.conns.size();
        uint64_t moved = 0;
        for (const auto &conn : r.conns) moved += conn->dir[0].received + conn->dir[1].received;
        std::printf("round %llu: seed %llu, ops A %llu B %llu, %zu connections, %.0f MiB read, %.1f s\n",
                    static_cast<unsigned long long>(round), static_cast<unsigned long long>(round_seed),
                    static_cast<unsigned long long>(a.op), static_cast<unsigned long long>(b.op), conns,
                    static_cast<double>(moved) / (1 << 20), (qt::now_ms() - t0) / 1000.0);
        std::fflush(stdout);
        if (!g_failures.empty()) {
            g_failures.print("random_socket_contract seed " + std::to_string(round_seed) + " round " +
                             std::to_string(round));
            std::fprintf(stderr,
                         "rerun: QLOCAL_RANDOM_SEED=%llu QLOCAL_RANDOM_OPS=%llu cargo run -p qlocal-cpp-tests -- run "
                         "random_socket_contract\n",
                         static_cast<unsigned long long>(round_seed), static_cast<unsigned long long>(ops));
            qt::fail(__FILE__, __LINE__, "the socket contract was broken (summary above)");
            return;
        }
    }
}

QLOCAL_TEST(random_close_paths) {
    g_failures.clear();
    (void)pattern_table();
    int fds_before = count_fds();
    const char *paths[] = {"disconnect", "close", "disconnect+destroy", "destroy-in-bytes_written", "half-close",
                           "epipe"};
    size_t runs = 0;
    double t0 = qt::now_ms();
    for (const char *path : paths) {
        if (!kHalfClose && std::strcmp(path, "half-close") == 0) continue;
        for (size_t bound : {size_t(0), size_t(1000), size_t(65536)})
            for (uint64_t seed : {1, 2, 3}) {
                run_path(path, bound, seed);
                ++runs;
            }
    }
    int fds_after = count_fds();
    if (fds_after != fds_before)
        fail("descriptors leaked",
             std::to_string(fds_before) + " open before, " + std::to_string(fds_after) + " after");
    std::printf("random_close_paths: %zu runs, %.1f s\n", runs, (qt::now_ms() - t0) / 1000.0);
    if (!g_failures.empty()) {
        g_failures.print("random_close_paths (each run: one connection, one close path, seeds 1-3)");
        qt::fail(__FILE__, __LINE__, "a close path broke the socket contract (summary above)");
    }
}
