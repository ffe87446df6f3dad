#include "harness.hpp"
#include "flow.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>

#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#include <dirent.h>
#include <unistd.h>
#endif

namespace qt {

std::vector<Case> &registry() {
    static std::vector<Case> cases;
    return cases;
}

bool g_failed = false;

void fail(const char *file, int line, const std::string &what) {
    std::fprintf(stderr, "FAILED %s:%d: %s\n", file, line, what.c_str());
    g_failed = true;
}

std::string result_name(qlocal_result r) {
    return std::to_string(static_cast<int>(r)) + " (" + qlocal_result_string(r) + ")";
}

long process_id() {
#ifdef _WIN32
    return static_cast<long>(GetCurrentProcessId());
#else
    return static_cast<long>(getpid());
#endif
}

std::string unique_name(const char *tag) {
    static std::atomic<int> n{0};
    return "qlocal-test-" + std::to_string(process_id()) + "-" + std::to_string(n++) + "-" + tag;
}

LoopPtr make_loop() {
    qlocal_loop *l = nullptr;
    if (qlocal_loop_new(&l) != QLOCAL_RESULT_OK) return nullptr;
    return LoopPtr(l);
}

ServerPtr make_server(qlocal_loop *loop) {
    qlocal_server *s = nullptr;
    if (qlocal_server_new(loop, &s) != QLOCAL_RESULT_OK) return nullptr;
    return ServerPtr(s);
}

SocketPtr make_socket(qlocal_loop *loop) {
    qlocal_socket *s = nullptr;
    if (qlocal_socket_new(loop, &s) != QLOCAL_RESULT_OK) return nullptr;
    return SocketPtr(s);
}

bool run_until(qlocal_loop *loop, const std::function<bool()> &done, int timeout_ms) {
    double deadline = now_ms() + timeout_ms;
    while (!done()) {
        int left = static_cast<int>(deadline - now_ms());
        if (left <= 0) return false;
        qlocal_result r = qlocal_loop_run(loop, QLOCAL_RUN_MODE_ONCE, left);
        if (r != QLOCAL_RESULT_OK && r != QLOCAL_RESULT_TIMEOUT) {
            std::fprintf(stderr, "qlocal_loop_run: %s\n", result_name(r).c_str());
            return false;
        }
    }
    return true;
}

Pair connect_pair(qlocal_loop *loop, const std::string &name, std::string &error) {
    Pair p;
    p.server = make_server(loop);
    p.client = make_socket(loop);
    if (!p.server || !p.client) {
        error = "cannot create objects";
        return p;
    }
    qlocal_result rc = qlocal_server_listen(p.server.get(), name.c_str());
    if (rc != QLOCAL_RESULT_OK) {
        error = "listen: " + result_name(rc);
        return p;
    }
    rc = qlocal_socket_connect_to_server(p.client.get(), name.c_str());
    if (rc == QLOCAL_RESULT_OK) rc = qlocal_socket_wait_for_connected(p.client.get(), 5000);
    if (rc == QLOCAL_RESULT_OK) rc = qlocal_server_wait_for_new_connection(p.server.get(), 5000);
    if (rc != QLOCAL_RESULT_OK) {
        error = "connect: " + result_name(rc);
        return p;
    }
    qlocal_socket *s = nullptr;
    rc = qlocal_server_next_pending_connection(p.server.get(), &s);
    if (rc != QLOCAL_RESULT_OK || !s) {
        error = "next_pending_connection: " + result_name(rc);
        return p;
    }
    p.accepted.reset(s);
    return p;
}

std::string read_all(qlocal_socket *s) {
    std::string out;
    char buf[4096];
    for (;;) {
        size_t n = 0;
        if (qlocal_socket_read(s, reinterpret_cast<uint8_t *>(buf), sizeof buf, &n) != QLOCAL_RESULT_OK || n == 0)
            return out;
        out.append(buf, n);
    }
}

static Recorder *rec(void *ud) { return static_cast<Recorder *>(ud); }

void Recorder::add(qlocal_socket *s, std::string token) {
    if (moments) {
        token += "{s=" + std::to_string(static_cast<int>(qlocal_socket_state(s))) +
                 ",e=" + std::to_string(static_cast<int>(qlocal_socket_error(s))) +
                 ",a=" + std::to_string(qlocal_socket_bytes_available(s)) +
                 ",w=" + std::to_string(qlocal_socket_bytes_to_write(s)) + "}";
    }
    events.push_back(std::move(token));
}

void Recorder::attach(qlocal_socket *s) {
    (void)qlocal_socket_set_userdata(s, this, nullptr);
    (void)qlocal_socket_set_connected_callback(
        s, [](void *ud, qlocal_socket *so) { rec(ud)->add(so, "connected"); });
    (void)qlocal_socket_set_disconnected_callback(s, [](void *ud, qlocal_socket *so) {
        rec(ud)->written_at_disconnected = rec(ud)->written;
        rec(ud)->add(so, "disconnected");
    });
    (void)qlocal_socket_set_ready_read_callback(
        s, [](void *ud, qlocal_socket *so) { rec(ud)->add(so, "ready_read"); });
    (void)qlocal_socket_set_read_channel_finished_callback(
        s, [](void *ud, qlocal_socket *so) { rec(ud)->add(so, "read_channel_finished"); });
    (void)qlocal_socket_set_error_callback(s, [](void *ud, qlocal_socket *so, qlocal_local_socket_error e) {
        rec(ud)->add(so, "error:" + std::to_string(static_cast<int>(e)));
    });
    (void)qlocal_socket_set_state_changed_callback(
        s, [](void *ud, qlocal_socket *so, qlocal_local_socket_state st) {
            rec(ud)->add(so, "state:" + std::to_string(static_cast<int>(st)));
        });
    (void)qlocal_socket_set_about_to_close_callback(
        s, [](void *ud, qlocal_socket *so) { rec(ud)->add(so, "about_to_close"); });
    (void)qlocal_socket_set_bytes_written_callback(s, [](void *ud, qlocal_socket *so, uint64_t n) {
        rec(ud)->written += n;
        rec(ud)->add(so, "bytes_written:" + std::to_string(n));
    });
}

#ifdef _WIN32
namespace {
// SystemExtendedHandleInformation (64): every handle of the system with its process id.
// GetProcessHandleCount would be simpler, but Wine 8 answers it with 0.
struct HandleEntry {
    void *object;
    ULONG_PTR process_id;
    ULONG_PTR handle;
    ULONG access;
    USHORT creator_back_trace;
    USHORT object_type;
    ULONG attributes;
    ULONG reserved;
};
struct HandleTable {
    ULONG_PTR count;
    ULONG_PTR reserved;
    HandleEntry entries[1];
};
using QuerySystemInformation = LONG(WINAPI *)(ULONG, void *, ULONG, ULONG *);
// NtQueryObject with ObjectTypeInformation (2): the buffer starts with the type's name.
using QueryObject = LONG(WINAPI *)(HANDLE, ULONG, void *, ULONG, ULONG *);
struct CountedString {
    USHORT length;  // bytes
    USHORT capacity;
    const wchar_t *text;
};

// The type of a handle of this process ("File", "Event", ...; "?" when the system does not
// say).
std::wstring handle_type(HANDLE h) {
    static const auto query = reinterpret_cast<QueryObject>(
        reinterpret_cast<void *>(GetProcAddress(GetModuleHandleA("ntdll.dll"), "NtQueryObject")));
    alignas(8) unsigned char info[512];
    ULONG len = 0;
    if (!query || query(h, 2, info, sizeof info, &len) != 0) return L"?";
    const auto *name = reinterpret_cast<const CountedString *>(info);
    return std::wstring(name->text, name->length / sizeof(wchar_t));
}

// Events and semaphores are not counted: the C++ runtime (winpthreads: std::mutex,
// std::condition_variable, std::thread) makes them on its own and keeps some; a round of
// random_socket_contract's two threads left 3-4 of them, closed and made again by the next
// round. The library makes none (a loop's waitable event only when embedded).
bool runtime_sync_object(HANDLE h) {
    const std::wstring type = handle_type(h);
    return type == L"Event" || type == L"Semaphore";
}

// The handles of this process; false when the system does not list them.
bool process_handles(std::vector<HANDLE> &out) {
    static const auto query = reinterpret_cast<QuerySystemInformation>(
        reinterpret_cast<void *>(GetProcAddress(GetModuleHandleA("ntdll.dll"), "NtQuerySystemInformation")));
    if (!query) return false;
    std::vector<unsigned char> buf(1 << 20);
    for (;;) {
        ULONG needed = 0;
        LONG status = query(64, buf.data(), static_cast<ULONG>(buf.size()), &needed);
        if (status == static_cast<LONG>(0xC0000004)) {  // STATUS_INFO_LENGTH_MISMATCH
            buf.resize(std::max<size_t>(buf.size() * 2, needed + 65536));
            continue;
        }
        if (status != 0) return false;
        break;
    }
    const auto *table = reinterpret_cast<const HandleTable *>(buf.data());
    const ULONG_PTR me = GetCurrentProcessId();
    for (ULONG_PTR i = 0; i < table->count; ++i)
        if (table->entries[i].process_id == me) out.push_back(reinterpret_cast<HANDLE>(table->entries[i].handle));
    return true;
}
}  // namespace
#endif

size_t open_fds(bool count_sync_objects) {
#ifdef _WIN32
    std::vector<HANDLE> handles;
    if (!process_handles(handles)) return 0;
    size_t n = 0;
    for (HANDLE h : handles) n += count_sync_objects || !runtime_sync_object(h);
    return n;
#else
    (void)count_sync_objects;  // POSIX counts descriptors only
    size_t n = 0;
    if (DIR *d = opendir("/proc/self/fd")) {
        while (readdir(d)) ++n;
        closedir(d);
    }
    return n;
#endif
}

std::string open_handle_types() {
    std::string out;
#ifdef _WIN32
    std::vector<HANDLE> handles;
    if (!process_handles(handles)) return "?";
    std::map<std::wstring, int> counts;
    for (HANDLE h : handles) counts[handle_type(h)]++;
    for (const auto &kv : counts) {
        if (!out.empty()) out += ", ";
        for (wchar_t ch : kv.first) out += static_cast<char>(ch < 128 ? ch : '?');
        out += " " + std::to_string(kv.second);
    }
#endif
    return out;
}

std::string Recorder::joined() const {
    std::string out;
    for (const auto &e : events) {
        if (!out.empty()) out += ",";
        out += e;
    }
    return out;
}

size_t Recorder::count(const std::string &ev) const {
    size_t n = 0;
    for (const auto &e : events) n += (e.substr(0, e.find('{')) == ev);
    return n;
}

}  // namespace qt

static int usage() {
    std::fprintf(stderr,
                 "usage: qlocal-cpp list | run <case> | flows [--quick] [--repeat N] [--only TEXT] | "
                 "flow-row LABEL | flow-rtt ROUNDS | flow-clients <args>\n");
    return 2;
}

// The entry point of the test and benchmark program (called by main.cpp, or by the Rust
// binary that cargo builds).
extern "C" int qlocal_cpp_main(int argc, char **argv) {
    if (argc < 2) return usage();
    std::string cmd = argv[1];
    if (cmd == "list") {
        // One case a line; a case that does not run here is followed by a tab and the reason.
        for (const auto &c : qt::registry()) {
            if (c.fn) std::printf("%s\n", c.name);
            else std::printf("%s\t%s\n", c.name, c.not_run_why);
        }
        return 0;
    }
    if (cmd == "run" && argc == 3) {
        for (const auto &c : qt::registry()) {
            if (std::strcmp(c.name, argv[2]) == 0) {
                if (!c.fn) {
                    // 77: "skipped" for ctest's SKIP_RETURN_CODE and automake.
                    std::printf("case %s not run: %s\n", c.name, c.not_run_why);
                    return 77;
                }
                c.fn();
                if (qt::g_failed) {
                    std::fprintf(stderr, "case %s FAILED\n", c.name);
                    return 1;
                }
                std::printf("case %s passed\n", c.name);
                return 0;
            }
        }
        std::fprintf(stderr, "no case named %s\n", argv[2]);
        return 2;
    }
    if (cmd == "flows") return qt::flows_main(argc - 2, argv + 2);
    if (cmd == "flow-clients") return qt::flow_clients_main(argc - 2, argv + 2);
    if (cmd == "flow-row") return qt::flow_row_main(argc - 2, argv + 2);
    if (cmd == "flow-rtt") return qt::flow_rtt_main(argc - 2, argv + 2);
    return usage();
}
