// A small test harness for qlocal's C++ tests: named cases registered at static-init time,
// CHECK macros that report and fail the case (no abort, so RAII cleanup still runs), owning
// handles for the C objects, and helpers for unique socket names and deadlines.
//
// Every case runs in its own process (ctest, or `cargo test` through the qlocal-cpp binary,
// or scripts/test-windows.sh under Wine), so one crash or leak is attributed to one case.
//
// Portable: the same sources build for Linux and, with mingw-w64, for Windows. A case that
// needs POSIX (fork, socketpair, file modes, peer credentials, descriptor adoption, ...) is
// declared with QLOCAL_TEST_POSIX(name, "reason"): on Windows only its name and the reason are
// registered, so `qlocal-cpp list` shows it as not run, with the reason, instead of dropping it.
#pragma once

#include "qlocal.h"
#include "qlocal.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace qt {

struct Case {
    const char *name;
    void (*fn)();             // null when the case does not run on this system
    const char *not_run_why;  // why not (QLOCAL_TEST_POSIX on Windows), else null
};

std::vector<Case> &registry();

struct Register {
    Register(const char *name, void (*fn)(), const char *not_run_why = nullptr) {
        registry().push_back({name, fn, not_run_why});
    }
};

// Set when a CHECK fails in the running case.
extern bool g_failed;

void fail(const char *file, int line, const std::string &what);

std::string result_name(qlocal_result r);

// This process's id (getpid, or GetCurrentProcessId on Windows).
long process_id();

// A socket name unique to this process and call: "qlocal-test-<pid>-<n>-<tag>".
std::string unique_name(const char *tag);

// Milliseconds since an arbitrary start, for deadlines.
inline double now_ms() {
    using namespace std::chrono;
    return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

using LoopPtr = std::unique_ptr<qlocal_loop, qlocal::LoopDeleter>;
using ServerPtr = std::unique_ptr<qlocal_server, qlocal::ServerDeleter>;
using SocketPtr = std::unique_ptr<qlocal_socket, qlocal::SocketDeleter>;

LoopPtr make_loop();
ServerPtr make_server(qlocal_loop *loop);
SocketPtr make_socket(qlocal_loop *loop);

// Runs `loop` (one batch at a time) until `done()` or `timeout_ms`; false on timeout or error.
bool run_until(qlocal_loop *loop, const std::function<bool()> &done, int timeout_ms = 10000);

// A listening server and a connected client/accepted pair, all on `loop`.
struct Pair {
    ServerPtr server;
    SocketPtr client;
    SocketPtr accepted;
};
// Empty `error` on success.
Pair connect_pair(qlocal_loop *loop, const std::string &name, std::string &error);

// `n` bytes of a seeded pseudo-random pattern (an LCG), for checking every byte of a stream.
inline std::vector<uint8_t> pattern(size_t n, uint32_t seed) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) {
        seed = seed * 1664525u + 1013904223u;
        v[i] = static_cast<uint8_t>(seed >> 24);
    }
    return v;
}

// Entries of /proc/self/fd (the directory handle of the count included), or on Windows the
// handles the system lists for this process: compare two counts to see that descriptors or
// handles were closed. `count_sync_objects` false (Windows): events and semaphores are left
// out, which the C++ runtime makes on its own for threads and mutexes (harness.cpp); the
// library makes events only for embedded loops.
size_t open_fds(bool count_sync_objects = true);
// Windows: this process's handles by type ("File 4, Thread 3"), for failure messages; POSIX: "".
std::string open_handle_types();

// Reads everything buffered on `s`.
std::string read_all(qlocal_socket *s);

// Everything a socket reported through its callbacks, in order, as readable tokens
// ("state:2", "connected", "ready_read", "error:1", "read_channel_finished", "disconnected",
// "bytes_written:N").
//
// With `moments`, each token also holds what the getters said inside that callback:
// "state:6{s=6,e=1,a=5,w=0}" = state(), error(), bytes_available(), bytes_to_write().
struct Recorder {
    std::vector<std::string> events;
    bool moments = false;
    // Sum of bytes_written seen, and the sum as it stood inside disconnected.
    uint64_t written = 0;
    uint64_t written_at_disconnected = 0;
    void attach(qlocal_socket *s);
    void attach_moments(qlocal_socket *s) {
        moments = true;
        attach(s);
    }
    std::string joined() const;
    size_t count(const std::string &ev) const;
    void add(qlocal_socket *s, std::string token);
};

}  // namespace qt

#define QT_CONCAT2(a, b) a##b
#define QT_CONCAT(a, b) QT_CONCAT2(a, b)

// Defines and registers a test case.
#define QLOCAL_TEST(name)                                                 \
    static void name();                                                   \
    static qt::Register QT_CONCAT(register_, name)(#name, &name);         \
    static void name()

// A case that needs POSIX, with the reason it cannot run on Windows. Its body follows inside
// `#ifndef _WIN32` ... `#endif`, so that Windows builds register the name and the reason only:
//
//   QLOCAL_TEST_POSIX(adopts_a_socketpair, "descriptor adoption is UNSUPPORTED on Windows")
//   #ifndef _WIN32
//   { ... }
//   #endif
// The reasons shared by several cases (README, Windows, has the table of C functions).
#define QT_WHY_ADOPT "it adopts an AF_UNIX socketpair; Windows adopts overlapped pipe handles instead (tests/windows.rs, adopt)"
#define QT_WHY_HALF_CLOSE "it half-closes the peer (shutdown(SHUT_WR)); a named pipe has no half-close"
#define QT_WHY_SOCKET_FILES "it checks socket files (stale files, modes, remove_server, inodes); a pipe name is no file"
#define QT_WHY_ABSTRACT "the abstract namespace is Linux's; on Windows the option is kept and ignored"
#define QT_WHY_FD_LIMIT "it lowers RLIMIT_NOFILE; Windows has no per-process handle limit to lower"
#define QT_WHY_CREDENTIALS "it forks a peer (setuid nobody) for peer credentials, which are UNSUPPORTED on Windows"
#define QT_WHY_LOOP_FD "it poll(2)s qlocal_loop_fd, which is an event HANDLE on Windows (embedding_with_poll waits on it there)"
#define QT_WHY_FD_PASSING "it passes descriptors (SCM_RIGHTS: memfds, pipes, socketpairs); descriptor passing is UNSUPPORTED on Windows"
#define QT_WHY_WORKERS "its worker loops adopt the descriptors the incoming-connection callback hands out, which is UNSUPPORTED on Windows"

#ifdef _WIN32
#define QLOCAL_TEST_POSIX(name, reason) \
    static qt::Register QT_CONCAT(register_, name)(#name, nullptr, "not on Windows: " reason);
#else
#define QLOCAL_TEST_POSIX(name, reason) QLOCAL_TEST(name)
#endif

#define CHECK(cond)                                                       \
    do {                                                                  \
        if (!(cond)) {                                                    \
            qt::fail(__FILE__, __LINE__, "CHECK(" #cond ")");             \
            return;                                                       \
        }                                                                 \
    } while (0)

#define CHECK_EQ(a, b)                                                    \
    do {                                                                  \
        auto qt_a_ = (a);                                                 \
        auto qt_b_ = (b);                                                 \
        if (!(qt_a_ == qt_b_)) {                                          \
            qt::fail(__FILE__, __LINE__,                                  \
                     "CHECK_EQ(" #a ", " #b "): " + std::to_string(qt_a_) + \
                         " != " + std::to_string(qt_b_));                 \
            return;                                                       \
        }                                                                 \
    } while (0)

#define CHECK_STREQ(a, b)                                                 \
    do {                                                                  \
        std::string qt_a_ = (a);                                          \
        std::string qt_b_ = (b);                                          \
        if (qt_a_ != qt_b_) {                                             \
            qt::fail(__FILE__, __LINE__,                                  \
                     "CHECK_STREQ(" #a ", " #b "): \"" + qt_a_ +          \
                         "\" != \"" + qt_b_ + "\"");                      \
            return;                                                       \
        }                                                                 \
    } while (0)

// Checks a call's result code, printing its name on mismatch.
#define CHECK_RC(call, expected)                                          \
    do {                                                                  \
        qlocal_result qt_rc_ = (call);                                    \
        if (qt_rc_ != (expected)) {                                       \
            qt::fail(__FILE__, __LINE__,                                  \
                     #call " returned " + qt::result_name(qt_rc_) +       \
                         ", expected " + qt::result_name(expected));      \
            return;                                                       \
        }                                                                 \
    } while (0)

#define CHECK_OK(call) CHECK_RC(call, QLOCAL_RESULT_OK)
