// Beyond Qt: the peer's credentials (qlocal_socket_peer_credentials) and the server option that
// closes connections from another user before anything sees them (QLOCAL_SERVER_CURRENT_USER_ONLY).
// The other user is a child process that switches to "nobody" (uid/gid 65534), which needs root;
// without root those checks are reported as skipped and the same-user ones still run.
#include "harness.hpp"

#ifndef _WIN32
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include <cstdio>
#include <cstring>
#include <string>

#ifndef _WIN32
namespace {

constexpr uid_t kNobody = 65534;

// A child that (as `uid`, when we are root) connects to `path`, writes one byte and waits for the
// connection to end. Exit status: 0 when the server closed it without answering (or reset it),
// 1 when it got an answer byte, 2 when it could not connect.
pid_t spawn_peer(const std::string &path, bool as_nobody) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    alarm(10);  // the child's own deadline
    if (as_nobody && (setgid(kNobody) != 0 || setuid(kNobody) != 0)) _exit(2);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    if (fd < 0 || connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0) _exit(2);
    signal(SIGPIPE, SIG_IGN);
    // A server that closed the connection at once may make this write fail (EPIPE): that is
    // the refusal too.
    ssize_t w = write(fd, "x", 1);
    char c;
    ssize_t n = w == 1 ? read(fd, &c, 1) : 0;
    _exit(n == 1 ? 1 : 0);
}

// Runs `loop` until the child exits (or the deadline): its exit status, -1 on timeout.
int wait_child(qlocal_loop *loop, pid_t pid, int timeout_ms = 10000) {
    int status = 0;
    bool done = qt::run_until(loop, [&] { return waitpid(pid, &status, WNOHANG) == pid; }, timeout_ms);
    if (!done) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace
#endif

QLOCAL_TEST(peer_credentials_name_the_process_at_the_other_end) {
    auto loop = qt::make_loop();
    std::string err;
    qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("cred"), err);
    CHECK_STREQ(err, "");
    qlocal_peer_credentials c{-7, 7, 7};
#ifdef _WIN32
    // README, Windows: uid/gid are Unix notions, so UNSUPPORTED on a connected pipe, output
    // untouched.
    CHECK_RC(qlocal_socket_peer_credentials(p.accepted.get(), &c), QLOCAL_RESULT_UNSUPPORTED);
    CHECK_RC(qlocal_socket_peer_credentials(p.client.get(), &c), QLOCAL_RESULT_UNSUPPORTED);
    CHECK_EQ(c.pid, -7);
#else
    CHECK_OK(qlocal_socket_peer_credentials(p.accepted.get(), &c));
    CHECK_EQ(c.pid, static_cast<int32_t>(getpid()));
    CHECK_EQ(c.uid, static_cast<uint32_t>(geteuid()));
    CHECK_EQ(c.gid, static_cast<uint32_t>(getegid()));
    CHECK_OK(qlocal_socket_peer_credentials(p.client.get(), &c));
    CHECK_EQ(c.pid, static_cast<int32_t>(getpid()));
#endif
    CHECK_RC(qlocal_socket_peer_credentials(p.client.get(), nullptr), QLOCAL_RESULT_NULL_ARGUMENT);
    CHECK_RC(qlocal_socket_peer_credentials(nullptr, &c), QLOCAL_RESULT_NULL_ARGUMENT);
    auto lone = qt::make_socket(loop.get());
    c = {-7, 7, 7};
    CHECK_RC(qlocal_socket_peer_credentials(lone.get(), &c), QLOCAL_RESULT_WRONG_STATE);
    CHECK_EQ(c.pid, -7);  // untouched on failure
}

QLOCAL_TEST_POSIX(peer_credentials_of_a_child_and_current_user_only, QT_WHY_CREDENTIALS)
#ifndef _WIN32
{
    auto loop = qt::make_loop();
    auto server = qt::make_server(loop.get());
    // World access so that another user may connect at all.
    CHECK_OK(qlocal_server_set_socket_options(server.get(), QLOCAL_SERVER_WORLD_ACCESS));
    std::string name = qt::unique_name("credchild");
    CHECK_OK(qlocal_server_listen(server.get(), name.c_str()));
    std::string path = qlocal_server_full_server_name(server.get());
    int announced = 0;
    CHECK_OK(qlocal_server_set_userdata(server.get(), &announced, nullptr));
    CHECK_OK(qlocal_server_set_new_connection_callback(server.get(),
                                                       [](void *ud, qlocal_server *) { ++*static_cast<int *>(ud); }));
    const bool root = geteuid() == 0;
    if (!root) std::fprintf(stderr, "note: not root: the other-user checks are skipped\n");

    // Without the option: the child's pid and uid.
    pid_t child = spawn_peer(path, root);
    CHECK(child > 0);
    CHECK(qt::run_until(loop.get(), [&] { return announced == 1; }, 10000));
    qlocal_socket *raw = nullptr;
    CHECK_OK(qlocal_server_next_pending_connection(server.get(), &raw));
    qt::SocketPtr accepted(raw);
    qlocal_peer_credentials c{};
    CHECK_OK(qlocal_socket_peer_credentials(accepted.get(), &c));
    CHECK_EQ(c.pid, static_cast<int32_t>(child));
    CHECK_EQ(c.uid, root ? static_cast<uint32_t>(kNobody) : static_cast<uint32_t>(geteuid()));
    CHECK_OK(qlocal_socket_write(accepted.get(), reinterpret_cast<const uint8_t *>("y"), 1));
    CHECK_EQ(wait_child(loop.get(), child), 1);  // it got the answer
    accepted.reset();

    // With the option: another user's connection is closed before any callback.
    CHECK_OK(qlocal_server_set_socket_options(server.get(),
                                              QLOCAL_SERVER_WORLD_ACCESS | QLOCAL_SERVER_CURRENT_USER_ONLY));
    CHECK_EQ(qlocal_server_socket_options(server.get()),
             static_cast<uint32_t>(QLOCAL_SERVER_WORLD_ACCESS | QLOCAL_SERVER_CURRENT_USER_ONLY));
    if (root) {
        pid_t other = spawn_peer(path, true);
        CHECK(other > 0);
        CHECK_EQ(wait_child(loop.get(), other), 0);  // closed without an answer
        CHECK_EQ(announced, 1);
        CHECK(!qlocal_server_has_pending_connections(server.get()));
    }
    // The same user still gets in.
    pid_t same = spawn_peer(path, false);
    CHECK(same > 0);
    CHECK(qt::run_until(loop.get(), [&] { return announced == 2; }, 10000));
    CHECK_OK(qlocal_server_next_pending_connection(server.get(), &raw));
    accepted.reset(raw);
    CHECK_OK(qlocal_socket_peer_credentials(accepted.get(), &c));
    CHECK_EQ(c.pid, static_cast<int32_t>(same));
    accepted.reset();
    CHECK_EQ(wait_child(loop.get(), same), 0);
}
#endif
