// Runs one interop case as two processes: a server and a client, one of them Qt, the other
// qlocal (or any programs following the same protocol).
//
//   interop_run_pair SECONDS --server PROGRAM ARGS... --client PROGRAM ARGS...
//
// 1. Starts the server with its stdout on a pipe and waits for a line starting "listening" (the server
//    prints it once it listens); other stdout lines are passed through.
// 2. Starts the client.
// 3. Waits for both. Exit status 0 only when both exited with 0. When one side fails, the other
//    is killed; when SECONDS pass first, both are.
//
// "{pid}" in any argument becomes this process's id, so runs in parallel (ctest -j, or several
// build trees) use distinct socket names. The server's stdin is a pipe closed once the client
// has exited (a server that expects no connection waits for that). The children get SIGKILL if
// this process dies. Only POSIX; no Qt, no qlocal.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

int g_sigchld_pipe[2] = {-1, -1};

void on_sigchld(int) {
    int saved = errno;
    ssize_t ignored = write(g_sigchld_pipe[1], "c", 1);  // a full pipe already says "a child exited"
    (void)ignored;
    errno = saved;
}

struct Child {
    const char *role;
    std::vector<std::string> argv;
    pid_t pid = -1;
    bool exited = false;
    int status = 0;

    bool succeeded() const { return exited && WIFEXITED(status) && WEXITSTATUS(status) == 0; }
    std::string outcome() const {
        if (pid < 0) return "not started";
        if (!exited) return "still running";
        if (WIFEXITED(status)) return "exited with " + std::to_string(WEXITSTATUS(status));
        if (WIFSIGNALED(status)) return std::string("killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
                                        strsignal(WTERMSIG(status)) + ")";
        return "ended with status " + std::to_string(status);
    }
};

// Starts `c` with `in_fd`/`out_fd` (or -1 to inherit) as stdin/stdout.
bool spawn(Child &c, int in_fd, int out_fd) {
    std::vector<char *> args;
    for (std::string &a : c.argv) args.push_back(&a[0]);
    args.push_back(nullptr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        std::fprintf(stderr, "run_pair: fork: %s\n", std::strerror(errno));
        return false;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
        if ((in_fd >= 0 && dup2(in_fd, 0) < 0) || (out_fd >= 0 && dup2(out_fd, 1) < 0)) _exit(127);
        execv(args[0], args.data());
        std::fprintf(stderr, "run_pair: exec %s: %s\n", args[0], std::strerror(errno));
        _exit(127);
    }
    c.pid = pid;
    return true;
}

void reap(Child &c) {
    if (c.pid < 0 || c.exited) return;
    int status = 0;
    pid_t r = waitpid(c.pid, &status, WNOHANG);
    if (r == c.pid) {
        c.exited = true;
        c.status = status;
    }
}

void kill_child(Child &c) {
    if (c.pid > 0 && !c.exited) kill(c.pid, SIGKILL);
}

std::string joined(const std::vector<std::string> &v) {
    std::string out;
    for (const std::string &s : v) out += (out.empty() ? "" : " ") + s;
    return out;
}

int usage() {
    std::fputs("usage: interop_run_pair SECONDS --server PROGRAM ARGS... --client PROGRAM ARGS...\n", stderr);
    return 2;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 6) return usage();
    int seconds = std::atoi(argv[1]);
    Child server{"server", {}}, client{"client", {}};
    Child *filling = nullptr;
    const std::string pid = std::to_string(getpid());
    for (int i = 2; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--server") {
            filling = &server;
        } else if (a == "--client") {
            filling = &client;
        } else if (filling) {
            for (size_t at; (at = a.find("{pid}")) != std::string::npos;) a.replace(at, 5, pid);
            filling->argv.push_back(a);
        } else {
            return usage();
        }
    }
    if (seconds <= 0 || server.argv.empty() || client.argv.empty()) return usage();
    std::fprintf(stderr, "run_pair: server: %s\nrun_pair: client: %s\n", joined(server.argv).c_str(),
                 joined(client.argv).c_str());

    // SIGCHLD wakes the poll below through a pipe (the self-pipe trick).
    int out_pipe[2], in_pipe[2];
    if (pipe2(g_sigchld_pipe, O_CLOEXEC | O_NONBLOCK) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0 ||
        pipe2(in_pipe, O_CLOEXEC) != 0) {
        std::perror("run_pair: pipe2");
        return 1;
    }
    struct sigaction sa{};
    sa.sa_handler = on_sigchld;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigemptyset(&sa.sa_mask);
    signal(SIGPIPE, SIG_IGN);
    if (sigaction(SIGCHLD, &sa, nullptr) != 0) {
        std::perror("run_pair: sigaction");
        return 1;
    }

    if (!spawn(server, in_pipe[0], out_pipe[1])) return 1;
    close(in_pipe[0]);
    close(out_pipe[1]);
    int server_out = out_pipe[0], server_in = in_pipe[1];

    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    std::string line;
    bool failed = false;
    std::string why;
    for (;;) {
        reap(server);
        reap(client);
        if (client.exited && server_in >= 0) {
            close(server_in);  // tells a server waiting for no connection that the client is done
            server_in = -1;
        }
        if (!failed) {
            if (server.exited && client.pid < 0) {
                failed = true;
                why = "the server exited before it was listening";
            } else if ((server.exited && !server.succeeded()) || (client.exited && !client.succeeded())) {
                failed = true;
                why = "one side failed";
                kill_child(server);
                kill_child(client);
            }
        }
        bool client_done = client.pid < 0 ? failed : client.exited;
        if (server.exited && client_done) break;

        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            if (!failed) why = "the deadline of " + std::to_string(seconds) + " s passed";
            failed = true;
            kill_child(server);
            kill_child(client);
            // SIGKILL ends them at once; wait for it without a deadline of our own (ctest's applies).
            if (server.pid > 0 && !server.exited && waitpid(server.pid, &server.status, 0) == server.pid) server.exited = true;
            if (client.pid > 0 && !client.exited && waitpid(client.pid, &client.status, 0) == client.pid) client.exited = true;
            break;
        }

        pollfd fds[2] = {{g_sigchld_pipe[0], POLLIN, 0}, {server_out, POLLIN, 0}};
        int n = poll(fds, server_out >= 0 ? 2 : 1, static_cast<int>(left.count()));
        if (n < 0 && errno != EINTR) {
            std::perror("run_pair: poll");
            return 1;
        }
        if (n <= 0) continue;
        if (fds[0].revents) {
            char buf[64];
            while (read(g_sigchld_pipe[0], buf, sizeof buf) > 0) {
            }
        }
        if (server_out >= 0 && fds[1].revents) {
            char buf[4096];
            ssize_t r = read(server_out, buf, sizeof buf);
            if (r <= 0) {
                close(server_out);
                server_out = -1;
                continue;
            }
            line.append(buf, static_cast<size_t>(r));
            for (size_t nl; (nl = line.find('\n')) != std::string::npos; line.erase(0, nl + 1)) {
                std::string l = line.substr(0, nl);
                if (l.rfind("listening", 0) == 0 && client.pid < 0 && !failed) {
                    std::fprintf(stderr, "run_pair: the server is listening; starting the client\n");
                    if (!spawn(client, -1, -1)) {
                        failed = true;
                        why = "the client could not be started";
                        kill_child(server);
                    }
                } else {
                    std::fprintf(stderr, "run_pair: server stdout: %s\n", l.c_str());
                }
            }
        }
    }

    std::fprintf(stderr, "run_pair: server %s; client %s\n", server.outcome().c_str(), client.outcome().c_str());
    if (failed || !server.succeeded() || !client.succeeded()) {
        std::fprintf(stderr, "run_pair: FAILED: %s\n", why.empty() ? "one side failed" : why.c_str());
        return 1;
    }
    std::fprintf(stderr, "run_pair: passed\n");
    return 0;
}
