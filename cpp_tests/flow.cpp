#include "flow.hpp"

#include <cstdlib>

#include "flow_stream.hpp"
#include "harness.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <future>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#include <csignal>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
#endif

namespace qt {

namespace {
// The flow's loops; QLOCAL_FLOW_BUSY_POLL_US=N makes them busy-poll N us before sleeping
// (scripts/flows.sh's qlocal-busy-poll rows).
LoopPtr flow_loop() {
    LoopPtr loop = make_loop();
    if (const char *us = std::getenv("QLOCAL_FLOW_BUSY_POLL_US")) {
        if (loop && qlocal_loop_set_busy_poll(loop.get(), std::atoi(us)) != QLOCAL_RESULT_OK) return nullptr;
    }
    return loop;
}
}  // namespace


std::string FlowRow::label() const {
    if (kind == "pingPong") return "pingPong " + std::to_string(connections);
    return "dataExchange " + std::to_string(connections) + " x " + std::to_string(chunk);
}

FlowRow ping_pong(int connections, long long iterations) {
    FlowRow r;
    r.kind = "pingPong";
    r.connections = connections;
    r.chunk = 1;
    r.bytes = std::max<long long>(1, iterations / connections);
    return r;
}

FlowRow data_exchange(int connections, int chunk, long long iterations) {
    FlowRow r;
    r.kind = "dataExchange";
    r.connections = connections;
    r.chunk = chunk;
    r.bytes = iterations * chunk / connections;
    return r;
}

namespace {

using flow_stream::kMaxChunk;
using flow_stream::raise_fd_limit;
const uint8_t *stream_at(int client, long long offset) { return flow_stream::at(client, offset); }

// ---- echo server: its own thread, its own loop ----------------------------------------------
//
// With QLOCAL_FLOW_WORKERS=N (N > 0), the server thread only accepts: its incoming-connection
// callback (Qt's incomingConnection) posts each descriptor to one of N worker threads
// (round-robin, qlocal_loop_post), each with its own loop, which adopts it
// (qlocal_socket_set_socket_descriptor) and echoes on it: the multi-thread server pattern.

struct Conn {
    SocketPtr socket;
    std::vector<uint8_t> buffer;
    std::string *error;  // the owning thread's
};

// Reads what is available (in chunk-sized pieces) and writes the same bytes back.
void echo_ready_read(void *ud, qlocal_socket *s) {
    auto *c = static_cast<Conn *>(ud);
    for (;;) {
        size_t n = 0;
        qlocal_result rc = qlocal_socket_read(s, c->buffer.data(), c->buffer.size(), &n);
        if (rc != QLOCAL_RESULT_OK) {
            *c->error = "server read: " + result_name(rc);
            return;
        }
        if (n == 0) return;
        rc = qlocal_socket_write(s, c->buffer.data(), n);
        if (rc != QLOCAL_RESULT_OK) {
            *c->error = "server write: " + result_name(rc);
            return;
        }
    }
}

// One worker: a thread with its own loop, echoing on the descriptors posted to it.
class EchoWorker {
public:
    bool start(int chunk, std::string &error) {
        chunk_ = chunk;
        std::promise<std::string> ready;
        auto result = ready.get_future();
        thread_ = std::thread([this, &ready] {
            LoopPtr loop = flow_loop();
            if (!loop) return ready.set_value("qlocal_loop_new failed");
            loop_.store(loop.get());
            ready.set_value("");
            qlocal_result rc = qlocal_loop_run(loop.get(), QLOCAL_RUN_MODE_DEFAULT, 30 * 60 * 1000);
            if (rc != QLOCAL_RESULT_OK) error_ = "worker loop: " + result_name(rc);
            loop_.store(nullptr);
            conns_.clear();  // on this thread, before its loop
        });
        error = result.get();
        return error.empty();
    }

    std::string stop() {
        if (thread_.joinable()) {
            if (qlocal_loop *l = loop_.load()) (void)qlocal_loop_stop(l);
            thread_.join();
        }
        return error_;
    }

    // Any thread: the descriptor goes to this worker's loop, which adopts it.
    qlocal_result hand_over(qlocal_descriptor fd) {
        auto *h = new Handoff{this, fd, false};
        return qlocal_loop_post(loop_.load(), &EchoWorker::adopt, h, &EchoWorker::finalize);
    }

private:
    struct Handoff {
        EchoWorker *worker;
        qlocal_descriptor fd;
        bool taken;
    };

    static void adopt(void *ud) {
        auto *h = static_cast<Handoff *>(ud);
        EchoWorker *w = h->worker;
        qlocal_socket *s = nullptr;
        if (qlocal_socket_new(w->loop_.load(), &s) != QLOCAL_RESULT_OK) {
            w->error_ = "worker: qlocal_socket_new failed";
            return;
        }
        auto conn = std::make_unique<Conn>();
        conn->socket.reset(s);
        qlocal_result rc = qlocal_socket_set_socket_descriptor(s, h->fd);
        if (rc != QLOCAL_RESULT_OK) {
            w->error_ = "worker adopt: " + result_name(rc);
            return;
        }
        h->taken = true;
        conn->buffer.resize(static_cast<size_t>(w->chunk_));
        conn->error = &w->error_;
        (void)qlocal_socket_set_userdata(s, conn.get(), nullptr);
        (void)qlocal_socket_set_ready_read_callback(s, &echo_ready_read);
        w->conns_.push_back(std::move(conn));
    }

    // After adopt, or for a post that never ran: a descriptor nobody took is closed.
    static void finalize(void *ud) {
        auto *h = static_cast<Handoff *>(ud);
        if (!h->taken) {
#ifdef _WIN32
            CloseHandle(reinterpret_cast<HANDLE>(h->fd));
#else
            ::close(static_cast<int>(h->fd));
#endif
        }
        delete h;
    }

    std::thread thread_;
    std::atomic<qlocal_loop *> loop_{nullptr};
    std::vector<std::unique_ptr<Conn>> conns_;
    int chunk_ = 1;
    std::string error_;
};

class EchoServer {
public:
    ~EchoServer() { stop(); }

    // Starts the thread and waits until it listens (or failed to).
    bool start(const std::string &name, int chunk, std::string &error) {
        std::promise<std::string> listening;
        auto result = listening.get_future();
        thread_ = std::thread([this, name, chunk, &listening] { run(name, chunk, listening); });
        error = result.get();
        return error.empty();
    }

    // Stops the loop from this thread and joins; returns the server's own error, if any.
    std::string stop() {
        if (thread_.joinable()) {
            qlocal_loop *l = loop_.load();
            if (l) (void)qlocal_loop_stop(l);
            thread_.join();
        }
        for (auto &w : workers_) {
            std::string e = w->stop();
            if (error_.empty()) error_ = e;
        }
        workers_.clear();
        return error_;
    }

private:
    static void on_incoming(void *ud, qlocal_server *, qlocal_descriptor fd) {
        auto *self = static_cast<EchoServer *>(ud);
        EchoWorker &w = *self->workers_[self->next_worker_++ % self->workers_.size()];
        qlocal_result rc = w.hand_over(fd);
        if (rc != QLOCAL_RESULT_OK) self->error_ = "hand over: " + result_name(rc);
    }

    void run(const std::string &name, int chunk, std::promise<std::string> &listening) {
        LoopPtr loop = flow_loop();
        if (!loop) return listening.set_value("qlocal_loop_new failed");
        ServerPtr server = make_server(loop.get());
        if (!server) return listening.set_value("qlocal_server_new failed");
        chunk_ = chunk;
        (void)qlocal_server_set_userdata(server.get(), this, nullptr);
        (void)qlocal_server_set_new_connection_callback(server.get(), &EchoServer::on_new_connection);
        const char *workers = std::getenv("QLOCAL_FLOW_WORKERS");
        for (int i = 0, n = workers ? std::atoi(workers) : 0; i < n; ++i) {
            auto w = std::make_unique<EchoWorker>();
            std::string e;
            if (!w->start(chunk, e)) return listening.set_value(e);
            workers_.push_back(std::move(w));
        }
        if (!workers_.empty()) {
            // UNSUPPORTED on Windows (it hands out descriptors): the row fails, it does not
            // quietly run without workers.
            qlocal_result hook = qlocal_server_set_incoming_connection_callback(server.get(), &EchoServer::on_incoming);
            if (hook != QLOCAL_RESULT_OK)
                return listening.set_value("incoming-connection callback: " + result_name(hook));
        }
        qlocal_result rc = qlocal_server_listen(server.get(), name.c_str());
        if (rc != QLOCAL_RESULT_OK) {
            return listening.set_value(std::string("listen: ") +
                                       qlocal_server_error_string(server.get()));
        }
        loop_.store(loop.get());
        listening.set_value("");
        // Runs until the main thread calls qlocal_loop_stop; the bound only guards a test
        // that would otherwise hang.
        rc = qlocal_loop_run(loop.get(), QLOCAL_RUN_MODE_DEFAULT, 30 * 60 * 1000);
        if (rc != QLOCAL_RESULT_OK) error_ = "server loop: " + result_name(rc);
        loop_.store(nullptr);
        // RAII: connections, server and loop are destroyed here, on their thread, on every path.
        conns_.clear();
    }

    static void on_new_connection(void *ud, qlocal_server *server) {
        auto *self = static_cast<EchoServer *>(ud);
        for (;;) {
            qlocal_socket *s = nullptr;
            qlocal_result rc = qlocal_server_next_pending_connection(server, &s);
            if (rc != QLOCAL_RESULT_OK) {
                self->error_ = "next_pending_connection: " + result_name(rc);
                return;
            }
            if (!s) return;
            auto conn = std::make_unique<Conn>();
            conn->socket.reset(s);
            conn->buffer.resize(static_cast<size_t>(self->chunk_));
            conn->error = &self->error_;
            (void)qlocal_socket_set_userdata(s, conn.get(), nullptr);
            (void)qlocal_socket_set_ready_read_callback(s, &echo_ready_read);
            self->conns_.push_back(std::move(conn));
        }
    }

    std::vector<std::unique_ptr<EchoWorker>> workers_;
    size_t next_worker_ = 0;
    std::thread thread_;
    std::atomic<qlocal_loop *> loop_{nullptr};
    std::vector<std::unique_ptr<Conn>> conns_;
    int chunk_ = 1;
    std::string error_;
};

// ---- clients: the calling thread's loop ----------------------------------------------------

struct Clients;

struct Client {
    SocketPtr socket;
    int id = 0;
    long long to_read = 0;
    long long sent = 0;
    long long received = 0;
    Clients *all = nullptr;
};

struct Clients {
    std::vector<std::unique_ptr<Client>> list;
    std::vector<uint8_t> scratch;
    int chunk = 1;
    int connected = 0;
    int done = 0;
    bool started = false;
    std::string error;

    void fail(const std::string &e) {
        if (error.empty()) error = e;
    }

    bool send_chunk(Client &c) {
        qlocal_result rc =
            qlocal_socket_write(c.socket.get(), stream_at(c.id, c.sent), static_cast<size_t>(chunk));
        if (rc != QLOCAL_RESULT_OK) {
            fail("client write: " + result_name(rc));
            return false;
        }
        c.sent += chunk;
        return true;
    }

    static void on_connected(void *ud, qlocal_socket *) {
        auto *c = static_cast<Client *>(ud);
        c->all->connected++;
    }

    static void on_error(void *ud, qlocal_socket *s, qlocal_local_socket_error e) {
        auto *c = static_cast<Client *>(ud);
        c->all->fail("client " + std::to_string(c->id) + " error " + std::to_string(e) + ": " +
                     qlocal_socket_error_string(s));
    }

    // Reads everything available, checks it byte for byte, and keeps one chunk in flight.
    static void on_ready_read(void *ud, qlocal_socket *s) {
        auto *c = static_cast<Client *>(ud);
        Clients &all = *c->all;
        for (;;) {
            size_t n = 0;
            qlocal_result rc = qlocal_socket_read(s, all.scratch.data(), all.scratch.size(), &n);
            if (rc != QLOCAL_RESULT_OK) return all.fail("client read: " + result_name(rc));
            if (n == 0) break;
            if (static_cast<long long>(n) > c->to_read || c->received + static_cast<long long>(n) > c->sent)
                return all.fail("client " + std::to_string(c->id) + " got more bytes than it sent");
            if (std::memcmp(all.scratch.data(), stream_at(c->id, c->received), n) != 0)
                return all.fail("client " + std::to_string(c->id) + " got wrong bytes at offset " +
                                std::to_string(c->received));
            c->received += static_cast<long long>(n);
            c->to_read -= static_cast<long long>(n);
        }
        if (c->to_read == 0) {
            all.done++;
        } else if (c->received == c->sent) {
            all.send_chunk(*c);
        }
    }
};

// Connects and runs the client side of `row`; fills setup/run times.
FlowResult run_clients(const FlowRow &row, const std::string &name, int timeout_ms) {
    FlowResult res;
    raise_fd_limit();
    LoopPtr loop = flow_loop();
    if (!loop) {
        res.error = "qlocal_loop_new failed";
        return res;
    }
    Clients all;
    all.chunk = row.chunk;
    all.scratch.resize(std::max<size_t>(static_cast<size_t>(row.chunk), 65536));
    long long per_client = std::max<long long>(1, row.bytes / row.chunk) * row.chunk;
    double t0 = now_ms();
    double deadline = t0 + timeout_ms;
    for (int i = 0; i < row.connections; ++i) {
        auto c = std::make_unique<Client>();
        c->id = i;
        c->to_read = per_client;
        c->all = &all;
        c->socket = make_socket(loop.get());
        if (!c->socket) {
            res.error = "qlocal_socket_new failed";
            return res;
        }
        qlocal_socket *s = c->socket.get();
        (void)qlocal_socket_set_userdata(s, c.get(), nullptr);
        (void)qlocal_socket_set_connected_callback(s, &Clients::on_connected);
        (void)qlocal_socket_set_error_callback(s, &Clients::on_error);
        (void)qlocal_socket_set_ready_read_callback(s, &Clients::on_ready_read);
        qlocal_result rc = qlocal_socket_connect_to_server(s, name.c_str());
        if (rc != QLOCAL_RESULT_OK) {
            res.error = "connect_to_server: " + result_name(rc);
            return res;
        }
        all.list.push_back(std::move(c));
    }
    bool ok = run_until(
        loop.get(), [&] { return !all.error.empty() || all.connected == row.connections; },
        static_cast<int>(std::max(1.0, deadline - now_ms())));
    if (!all.error.empty() || !ok) {
        res.error = all.error.empty() ? "timed out connecting (" + std::to_string(all.connected) +
                                            " of " + std::to_string(row.connections) + ")"
                                      : all.error;
        return res;
    }
    double t1 = now_ms();
    res.setup_ms = t1 - t0;
    for (auto &c : all.list) {
        if (!all.send_chunk(*c)) break;
    }
    ok = run_until(
        loop.get(), [&] { return !all.error.empty() || all.done == row.connections; },
        static_cast<int>(std::max(1.0, deadline - now_ms())));
    res.run_ms = now_ms() - t1;
    if (!all.error.empty() || !ok) {
        res.error = all.error.empty() ? "timed out (" + std::to_string(all.done) + " of " +
                                            std::to_string(row.connections) + " clients done)"
                                      : all.error;
        return res;
    }
    res.ok = true;
    return res;
}

std::string flow_name(const FlowRow &row) {
    return unique_name(row.kind == "pingPong" ? "pp" : "dx");
}

// Runs this program with `args` (argv[0] included) and collects what it prints on stdout, its
// stderr going to ours. False with `error` when it could not be started or waited for; a
// child still running after `timeout_ms` is killed.
#ifdef _WIN32
bool run_self(const std::vector<std::string> &args, int timeout_ms, std::string &out, int &exit_code,
              std::string &error) {
    char exe[MAX_PATH];
    DWORD len = GetModuleFileNameA(nullptr, exe, sizeof exe);
    if (len == 0 || len == sizeof exe) {
        error = "GetModuleFileNameA: " + std::to_string(GetLastError());
        return false;
    }
    // The arguments are names and numbers: no spaces or quotes to escape.
    std::string cmdline = "\"" + std::string(exe) + "\"";
    for (size_t i = 1; i < args.size(); ++i) cmdline += " " + args[i];
    SECURITY_ATTRIBUTES sa{sizeof sa, nullptr, TRUE};
    HANDLE rd = nullptr;
    HANDLE wr = nullptr;
    // The child prints one line: far below the pipe's buffer, so it never blocks on it.
    if (!CreatePipe(&rd, &wr, &sa, 1 << 16) || !SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0)) {
        error = "CreatePipe: " + std::to_string(GetLastError());
        return false;
    }
    STARTUPINFOA si{};
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    si.hStdOutput = wr;
    si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
    PROCESS_INFORMATION pi{};
    BOOL started = CreateProcessA(exe, cmdline.data(), nullptr, nullptr, TRUE, 0, nullptr, nullptr, &si, &pi);
    DWORD start_error = GetLastError();
    CloseHandle(wr);
    if (!started) {
        CloseHandle(rd);
        error = "CreateProcessA: " + std::to_string(start_error);
        return false;
    }
    CloseHandle(pi.hThread);
    // The child has its own deadline (timeout_ms); this one, a little later, is for a child
    // that hangs anyway. Killing it closes its end of the pipe, so the reads below end.
    bool finished = WaitForSingleObject(pi.hProcess, static_cast<DWORD>(timeout_ms) + 10000) == WAIT_OBJECT_0;
    if (!finished) {
        TerminateProcess(pi.hProcess, 1);
        WaitForSingleObject(pi.hProcess, INFINITE);
    }
    char buf[512];
    DWORD n = 0;
    while (ReadFile(rd, buf, sizeof buf, &n, nullptr) && n > 0) out.append(buf, n);
    CloseHandle(rd);
    DWORD code = 1;
    GetExitCodeProcess(pi.hProcess, &code);
    CloseHandle(pi.hProcess);
    if (!finished) {
        error = "client process still running after " + std::to_string(timeout_ms + 10000) + " ms: killed";
        return false;
    }
    exit_code = static_cast<int>(code);
    return true;
}
#else
bool run_self(const std::vector<std::string> &args, int timeout_ms, std::string &out, int &exit_code,
              std::string &error) {
    int fds[2];
    if (pipe(fds) != 0) {
        error = std::string("pipe: ") + std::strerror(errno);
        return false;
    }
    std::vector<std::string> copy = args;
    std::vector<char *> argv;
    for (auto &a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    pid_t pid = 0;
    int err = posix_spawn(&pid, "/proc/self/exe", &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (err != 0) {
        close(fds[0]);
        error = std::string("posix_spawn: ") + std::strerror(err);
        return false;
    }
    // The child has its own deadline (timeout_ms); this one, a little later, is for a child
    // that hangs anyway: killing it closes its end of the pipe, so the reads end.
    double deadline = now_ms() + timeout_ms + 10000;
    bool killed = false;
    char buf[512];
    for (;;) {
        int left = static_cast<int>(deadline - now_ms());
        if (left <= 0 && !killed) {
            kill(pid, SIGKILL);
            killed = true;
        }
        pollfd p{fds[0], POLLIN, 0};
        int r = poll(&p, 1, killed ? -1 : left);
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) continue;
        ssize_t n = read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (killed) {
        error = "client process still running after " + std::to_string(timeout_ms + 10000) + " ms: killed";
        return false;
    }
    exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return true;
}
#endif

// Runs the clients in a child process (this program with "flow-clients") and reads its result.
FlowResult run_clients_in_child(const FlowRow &row, const std::string &name, int timeout_ms) {
    FlowResult res;
    std::vector<std::string> args = {"qlocal-cpp",
                                     "flow-clients",
                                     name,
                                     row.kind,
                                     std::to_string(row.connections),
                                     std::to_string(row.chunk),
                                     std::to_string(row.bytes),
                                     std::to_string(timeout_ms)};
    std::string out;
    int exit_code = 1;
    if (!run_self(args, timeout_ms, out, exit_code, res.error)) return res;
    std::istringstream in(out);
    std::string word;
    in >> word;
    if (word == "ok") {
        in >> res.setup_ms >> res.run_ms;
        res.ok = exit_code == 0;
        if (!res.ok) res.error = "client process failed";
    } else {
        std::getline(in, res.error);
        res.error = "client process: " + word + res.error;
    }
    return res;
}

}  // namespace

FlowResult run_flow(const FlowRow &row, int timeout_ms) {
    FlowResult res;
    if (row.chunk <= 0 || static_cast<size_t>(row.chunk) > kMaxChunk || row.connections <= 0) {
        res.error = "bad row";
        return res;
    }
    raise_fd_limit();
    std::string name = flow_name(row);
    EchoServer server;
    if (!server.start(name, row.chunk, res.error)) return res;
    res = row.child_clients ? run_clients_in_child(row, name, timeout_ms)
                            : run_clients(row, name, timeout_ms);
    std::string server_error = server.stop();
    if (res.ok && !server_error.empty()) {
        res.ok = false;
        res.error = server_error;
    }
    return res;
}

int flow_clients_main(int argc, char **argv) {
    if (argc != 6) {
        std::printf("error usage: flow-clients NAME KIND CONNECTIONS CHUNK BYTES TIMEOUT_MS\n");
        return 2;
    }
    FlowRow row;
    row.kind = argv[1];
    row.connections = std::atoi(argv[2]);
    row.chunk = std::atoi(argv[3]);
    row.bytes = std::atoll(argv[4]);
    FlowResult r = run_clients(row, argv[0], std::atoi(argv[5]));
    if (!r.ok) {
        std::printf("error %s\n", r.error.c_str());
        return 1;
    }
    std::printf("ok %.3f %.3f\n", r.setup_ms, r.run_ms);
    return 0;
}

namespace {

std::vector<FlowRow> full_grid() {
    std::vector<FlowRow> rows;
    for (int c : {10, 50, 100, 1000}) rows.push_back(ping_pong(c));
    FlowRow r9990 = ping_pong(9990);
    rows.push_back(r9990);
    FlowRow r10000 = ping_pong(10000);
    r10000.child_clients = true;
    rows.push_back(r10000);
    for (int c : {1, 5, 10})
        for (int k : {100, 1000, 10000, 100000}) rows.push_back(data_exchange(c, k));
    return rows;
}

std::vector<FlowRow> quick_grid() {
    std::vector<FlowRow> rows;
    for (int c : {10, 100, 1000}) rows.push_back(ping_pong(c, 20000));
    for (int c : {1, 5, 10})
        for (int k : {100, 10000, 100000}) rows.push_back(data_exchange(c, k, 2000));
    return rows;
}

}  // namespace

// One row of the full grid by its exact label; prints "ok SETUP_MS RUN_MS" or "error TEXT"
// (for scripts/flows.sh, which times qlocal and Qt row by row in the same run).
int flow_row_main(int argc, char **argv) {
    if (argc != 1) {
        std::printf("error usage: flow-row LABEL\n");
        return 2;
    }
    for (const FlowRow &row : full_grid()) {
        if (row.label() != argv[0]) continue;
        FlowResult r = run_flow(row, 10 * 60 * 1000);
        if (!r.ok) {
            std::printf("error %s\n", r.error.c_str());
            return 1;
        }
        std::printf("ok %.3f %.3f\n", r.setup_ms, r.run_ms);
        return 0;
    }
    std::printf("error unknown row %s\n", argv[0]);
    return 2;
}

int flows_main(int argc, char **argv) {
    bool quick = false;
    int repeat = 1;
    std::string only;
    for (int i = 0; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--quick") quick = true;
        else if (a == "--repeat" && i + 1 < argc) repeat = std::max(1, std::atoi(argv[++i]));
        else if (a == "--only" && i + 1 < argc) only = argv[++i];
        else {
            std::fprintf(stderr,
                         "flows: unknown argument %s (use --quick, --repeat N, --only TEXT)\n",
                         a.c_str());
            return 2;
        }
    }
    std::vector<FlowRow> rows;
    for (const FlowRow &r : quick ? quick_grid() : full_grid())
        if (only.empty() || r.label().find(only) != std::string::npos) rows.push_back(r);
    std::printf("qlocal %s: the original QLocalSocket benchmark flows (%s grid, best of %d)\n",
                qlocal_version_string(), quick ? "quick" : "full", repeat);
    std::printf("%-26s %8s %12s %10s %10s %10s\n", "row", "conns", "bytes/conn", "setup ms",
                "run ms", "MB/s");
    int failures = 0;
    for (const FlowRow &row : rows) {
        FlowResult best;
        for (int k = 0; k < repeat; ++k) {
            FlowResult r = run_flow(row, 10 * 60 * 1000);
            if (!r.ok) {
                best = r;
                break;
            }
            if (!best.ok || r.run_ms < best.run_ms) best = r;
        }
        std::string label = row.label() + (row.child_clients ? " (2 procs)" : "");
        long long per_client = std::max<long long>(1, row.bytes / row.chunk) * row.chunk;
        if (!best.ok) {
            ++failures;
            std::printf("%-26s %8d %12lld FAILED: %s\n", label.c_str(), row.connections, per_client,
                        best.error.c_str());
        } else {
            double mb = 2.0 * per_client * row.connections / 1e6;  // both directions
            std::printf("%-26s %8d %12lld %10.1f %10.1f %10.1f\n", label.c_str(), row.connections,
                        per_client, best.setup_ms, best.run_ms, mb / (best.run_ms / 1000.0));
        }
        std::fflush(stdout);
    }
    return failures == 0 ? 0 : 1;
}

}  // namespace qt
