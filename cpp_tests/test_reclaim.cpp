// Beyond Qt: QLOCAL_SERVER_RECLAIM_STALE. A socket file left by a server that died is removed
// and listened on; a live server's name and any other file are never touched; two servers
// reclaiming one name at once: exactly one listens.
#include "harness.hpp"

#include <cstdio>
#include <string>

#ifndef _WIN32
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

// A socket file whose server is gone: bound, listened, closed without unlinking (as a crash).
bool make_stale(const std::string &path) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    bool ok = fd >= 0 && bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0 && listen(fd, 1) == 0;
    if (fd >= 0) close(fd);
    return ok;
}

std::string full(const std::string &name) {
    auto loop = qt::make_loop();
    auto probe = qt::make_server(loop.get());
    if (qlocal_server_listen(probe.get(), name.c_str()) != QLOCAL_RESULT_OK) return "";
    std::string f = qlocal_server_full_server_name(probe.get());
    return f;  // the probe's destroy removes its file
}

bool can_connect(qlocal_loop *loop, const std::string &name) {
    auto c = qt::make_socket(loop);
    return qlocal_socket_connect_to_server(c.get(), name.c_str()) == QLOCAL_RESULT_OK &&
           qlocal_socket_wait_for_connected(c.get(), 2000) == QLOCAL_RESULT_OK;
}

}  // namespace
#endif

QLOCAL_TEST_POSIX(reclaim_stale_removes_a_dead_servers_file_only, QT_WHY_SOCKET_FILES)
#ifndef _WIN32
{
    auto loop = qt::make_loop();
    std::string name = qt::unique_name("stale");
    std::string path = full(name);
    CHECK(!path.empty());
    CHECK(make_stale(path));
    // Qt's default: the name is in use, nothing touched.
    auto plain = qt::make_server(loop.get());
    CHECK_RC(qlocal_server_listen(plain.get(), name.c_str()), QLOCAL_RESULT_ADDRESS_IN_USE);
    struct stat st{};
    CHECK(lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode));
    // With the option: reclaimed.
    auto server = qt::make_server(loop.get());
    CHECK_OK(qlocal_server_set_socket_options(server.get(), QLOCAL_SERVER_RECLAIM_STALE));
    CHECK_EQ(qlocal_server_socket_options(server.get()), static_cast<uint32_t>(QLOCAL_SERVER_RECLAIM_STALE));
    CHECK_OK(qlocal_server_listen(server.get(), name.c_str()));
    CHECK(can_connect(loop.get(), name));
    // A live server's name is never taken: ADDRESS_IN_USE, and it still accepts.
    auto second = qt::make_server(loop.get());
    CHECK_OK(qlocal_server_set_socket_options(second.get(), QLOCAL_SERVER_RECLAIM_STALE));
    CHECK_RC(qlocal_server_listen(second.get(), name.c_str()), QLOCAL_RESULT_ADDRESS_IN_USE);
    CHECK(can_connect(loop.get(), name));
    // Nor any other file (a regular file stays as it was).
    std::string other = qt::unique_name("notasock");
    std::string other_path = full(other);
    int f = open(other_path.c_str(), O_CREAT | O_WRONLY | O_EXCL, 0600);
    CHECK(f >= 0);
    CHECK(write(f, "keep", 4) == 4);
    close(f);
    auto third = qt::make_server(loop.get());
    CHECK_OK(qlocal_server_set_socket_options(third.get(), QLOCAL_SERVER_RECLAIM_STALE | QLOCAL_SERVER_USER_ACCESS));
    CHECK_RC(qlocal_server_listen(third.get(), other.c_str()), QLOCAL_RESULT_ADDRESS_IN_USE);
    CHECK(lstat(other_path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 4);
    unlink(other_path.c_str());
    // With an access option too (bind elsewhere, then link into place).
    CHECK(make_stale(other_path));
    CHECK_OK(qlocal_server_listen(third.get(), other.c_str()));
    CHECK(lstat(other_path.c_str(), &st) == 0 && (st.st_mode & 0777) == 0700);
    CHECK(can_connect(loop.get(), other));
}
#endif

// Two processes reclaim the same stale name at the same moment, many times: each time exactly
// one listens and the other gets ADDRESS_IN_USE (never two listeners, one orphaned).
QLOCAL_TEST_POSIX(reclaim_stale_races_leave_exactly_one_listener, QT_WHY_SOCKET_FILES)
#ifndef _WIN32
{
    for (int round = 0; round < 20; ++round) {
        std::string name = qt::unique_name("race");
        std::string path = full(name);
        CHECK(!path.empty());
        CHECK(make_stale(path));
        int start[2], results[2], done[2];
        CHECK(pipe(start) == 0 && pipe(results) == 0 && pipe(done) == 0);
        pid_t kids[2];
        for (pid_t &kid : kids) {
            kid = fork();
            if (kid == 0) {
                alarm(20);
                close(start[1]);
                close(results[0]);
                close(done[1]);
                char go;
                if (read(start[0], &go, 1) != 1) _exit(3);
                qlocal_loop *loop = nullptr;
                qlocal_server *server = nullptr;
                if (qlocal_loop_new(&loop) != QLOCAL_RESULT_OK || qlocal_server_new(loop, &server) != QLOCAL_RESULT_OK)
                    _exit(3);
                (void)qlocal_server_set_socket_options(server, QLOCAL_SERVER_RECLAIM_STALE);
                char rc = static_cast<char>(qlocal_server_listen(server, name.c_str()));
                if (write(results[1], &rc, 1) != 1) _exit(3);
                // Keep listening until the parent has both answers and checked who accepts.
                if (read(done[0], &go, 1) < 0) _exit(3);
                (void)qlocal_server_destroy(server);
                (void)qlocal_loop_destroy(loop);
                _exit(0);
            }
        }
        close(start[0]);
        close(results[1]);
        close(done[0]);
        CHECK(write(start[1], "gg", 2) == 2);
        char got[2] = {-1, -1};
        for (char &g : got) CHECK(read(results[0], &g, 1) == 1);
        int listening = (got[0] == QLOCAL_RESULT_OK) + (got[1] == QLOCAL_RESULT_OK);
        int in_use = (got[0] == QLOCAL_RESULT_ADDRESS_IN_USE) + (got[1] == QLOCAL_RESULT_ADDRESS_IN_USE);
        auto loop = qt::make_loop();
        bool reachable = can_connect(loop.get(), name);
        close(done[1]);
        close(start[1]);
        close(results[0]);
        for (pid_t kid : kids) {
            int status = 0;
            waitpid(kid, &status, 0);
            CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
        CHECK_EQ(listening, 1);
        CHECK_EQ(in_use, 1);
        CHECK(reachable);
    }
}
#endif
