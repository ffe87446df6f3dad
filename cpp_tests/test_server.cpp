// Server behaviour: defaults, names, listen errors, socket options, pending connections.
#include "harness.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <cstddef>
#include <string>
#include <vector>

#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#endif

namespace {

#ifdef _WIN32
// Qt's full server name of `name` on Windows.
std::string full_name(const std::string &name) { return "\\\\.\\pipe\\" + name; }

// Whether a pipe of that full name exists (an instance waiting or all busy).
bool exists(const std::string &pipe) {
    return WaitNamedPipeA(pipe.c_str(), 1) || GetLastError() == ERROR_SEM_TIMEOUT;
}
#else
std::string temp_dir() {
    const char *t = std::getenv("TMPDIR");
    std::string d = (t && *t) ? t : "/tmp";
    char *real = realpath(d.c_str(), nullptr);
    std::string out = real ? real : d;
    std::free(real);
    return out;
}

// Qt's full server name of `name` on Unix.
std::string full_name(const std::string &name) { return temp_dir() + "/" + name; }

bool exists(const std::string &path) {
    struct stat st {};
    return lstat(path.c_str(), &st) == 0;
}

ino_t inode(const std::string &path) {
    struct stat st {};
    return lstat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// Leaves a socket file behind with nobody listening, as a crashed server does.
bool make_stale_socket_file(const std::string &path) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) return false;
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    bool ok = bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0 && listen(fd, 1) == 0;
    close(fd);
    return ok;
}
#endif

}  // namespace

QLOCAL_TEST(server_defaults) {
    auto loop = qt::make_loop();
    CHECK(loop);
    auto server = qt::make_server(loop.get());
    CHECK(server);
    qlocal_server *s = server.get();
    CHECK_OK(qlocal_server_close(s));
    CHECK(!qlocal_server_is_listening(s));
    CHECK_EQ(qlocal_server_max_pending_connections(s), 30);
    CHECK_EQ(qlocal_server_listen_backlog_size(s), 50);
    CHECK_EQ(qlocal_server_socket_options(s), 0u);
    CHECK(!qlocal_server_has_pending_connections(s));
    CHECK_STREQ(qlocal_server_server_name(s), "");
    CHECK_STREQ(qlocal_server_full_server_name(s), "");
    CHECK_STREQ(qlocal_server_error_string(s), "");
    CHECK_EQ(qlocal_server_error(s), QLOCAL_LOCAL_SOCKET_ERROR_UNKNOWN);
    CHECK_EQ(qlocal_server_socket_descriptor(s), -1);
    qlocal_socket *p = reinterpret_cast<qlocal_socket *>(1);
    CHECK_OK(qlocal_server_next_pending_connection(s, &p));
    CHECK(p == nullptr);
    CHECK_RC(qlocal_server_wait_for_new_connection(s, 3000), QLOCAL_RESULT_WRONG_STATE);
    CHECK_OK(qlocal_server_set_max_pending_connections(s, 10));
    CHECK_EQ(qlocal_server_max_pending_connections(s), 10);
    CHECK_RC(qlocal_server_set_max_pending_connections(s, -1), QLOCAL_RESULT_INVALID_ARGUMENT);
    CHECK_RC(qlocal_server_set_socket_options(s, 0x8000), QLOCAL_RESULT_INVALID_ARGUMENT);
}

QLOCAL_TEST(server_listen_names) {
    auto loop = qt::make_loop();
    auto server = qt::make_server(loop.get());
    qlocal_server *s = server.get();
    std::string name = qt::unique_name("names");
    CHECK_OK(qlocal_server_listen(s, name.c_str()));
    CHECK(qlocal_server_is_listening(s));
    CHECK_STREQ(qlocal_server_server_name(s), name);
    std::string full = full_name(name);
    CHECK_STREQ(qlocal_server_full_server_name(s), full);
    CHECK(exists(full));
    CHECK(qlocal_server_socket_descriptor(s) >= 0);
    // A second listen while listening fails and changes nothing.
    CHECK_RC(qlocal_server_listen(s, "other"), QLOCAL_RESULT_WRONG_STATE);
    CHECK_STREQ(qlocal_server_server_name(s), name);
    // No client: waiting times out.
    double t0 = qt::now_ms();
    CHECK_RC(qlocal_server_wait_for_new_connection(s, 50), QLOCAL_RESULT_TIMEOUT);
    CHECK(qt::now_ms() - t0 >= 45);
    // close() removes the file (Windows: closes the pipe) and resets the names; the server
    // can listen again.
    CHECK_OK(qlocal_server_close(s));
    CHECK(!exists(full));
    CHECK_STREQ(qlocal_server_server_name(s), "");
    std::string name2 = qt::unique_name("names2");
    CHECK_OK(qlocal_server_listen(s, name2.c_str()));
    CHECK(qlocal_server_is_listening(s));
}

// A full name (Unix: an absolute path; Windows: a name starting with \\.\pipe\) is used as given.
QLOCAL_TEST(server_absolute_path) {
    auto loop = qt::make_loop();
    std::string path = full_name(qt::unique_name("abs"));
    std::string err;
    qt::Pair p = qt::connect_pair(loop.get(), path, err);
    CHECK_STREQ(err, "");
    CHECK_STREQ(qlocal_server_server_name(p.server.get()), path);
    CHECK_STREQ(qlocal_server_full_server_name(p.server.get()), path);
    CHECK_STREQ(qlocal_socket_server_name(p.client.get()), path);
    CHECK_STREQ(qlocal_socket_full_server_name(p.client.get()), path);
    CHECK_STREQ(qlocal_socket_full_server_name(p.accepted.get()), path);
    CHECK_OK(qlocal_socket_disconnect_from_server(p.client.get()));
    CHECK_STREQ(qlocal_socket_server_name(p.client.get()), "");
    CHECK_STREQ(qlocal_socket_full_server_name(p.client.get()), "");
}

QLOCAL_TEST(server_invalid_and_long_names) {
    auto loop = qt::make_loop();
    auto server = qt::make_server(loop.get());
    qlocal_server *s = server.get();
    CHECK_RC(qlocal_server_listen(s, ""), QLOCAL_RESULT_INVALID_NAME);
    CHECK_EQ(qlocal_server_error(s), QLOCAL_LOCAL_SOCKET_ERROR_SERVER_NOT_FOUND);
    CHECK(std::strlen(qlocal_server_error_string(s)) > 0);
#ifdef _WIN32
    // A pipe path: at most 256 UTF-16 units; longer names are refused, never truncated.
    const size_t max_len = 256;
#else
    CHECK_RC(qlocal_server_listen(s, "no-such-dir-qlocal/x"), QLOCAL_RESULT_INVALID_NAME);
    // Qt 6 on Linux: at most 106 bytes of path; longer names are refused, never truncated.
    const size_t max_len = 106;
#endif
    std::string base = full_name("");
    std::string ok106 = base + std::string(max_len - base.size(), 'a');
    std::string long107 = base + std::string(max_len + 1 - base.size(), 'b');
    (void)qlocal_server_remove_server(ok106.c_str());
    CHECK_RC(qlocal_server_listen(s, long107.c_str()), QLOCAL_RESULT_NAME_TOO_LONG);
    CHECK(!exists(long107));
    CHECK(!exists(long107.substr(0, max_len)));
    CHECK_OK(qlocal_server_listen(s, ok106.c_str()));
    CHECK_STREQ(qlocal_server_full_server_name(s), ok106);
    CHECK_OK(qlocal_server_close(s));
    std::string huge(300, 'z');
    CHECK_RC(qlocal_server_listen(s, huge.c_str()), QLOCAL_RESULT_NAME_TOO_LONG);
    // The client side refuses at once too: the code comes back, and Qt's callbacks follow
    // from the loop (not from inside the call).
    auto client = qt::make_socket(loop.get());
    qt::Recorder rec;
    rec.attach(client.get());
    CHECK_RC(qlocal_socket_connect_to_server(client.get(), long107.c_str()), QLOCAL_RESULT_NAME_TOO_LONG);
    CHECK_EQ(qlocal_socket_state(client.get()), QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED);
    CHECK_EQ(qlocal_socket_error(client.get()), QLOCAL_LOCAL_SOCKET_ERROR_SERVER_NOT_FOUND);
    CHECK_STREQ(rec.joined(), "");
    CHECK_RC(qlocal_loop_run(loop.get(), QLOCAL_RUN_MODE_NO_WAIT, 0), QLOCAL_RESULT_OK);
    CHECK_STREQ(rec.joined(), "state:2,error:2,state:0");
}

QLOCAL_TEST(server_address_in_use_touches_nothing) {
    auto loop = qt::make_loop();
    std::string name = qt::unique_name("inuse");
    auto first = qt::make_server(loop.get());
    CHECK_OK(qlocal_server_listen(first.get(), name.c_str()));
#ifndef _WIN32
    std::string full = full_name(name);
    ino_t ino = inode(full);
#endif
    auto second = qt::make_server(loop.get());
    CHECK_RC(qlocal_server_listen(second.get(), name.c_str()), QLOCAL_RESULT_ADDRESS_IN_USE);
    CHECK_EQ(qlocal_server_error(second.get()), QLOCAL_LOCAL_SOCKET_ERROR_ADDRESS_IN_USE);
    // Qt replaces a live server's socket when an access option is set; qlocal refuses.
    CHECK_OK(qlocal_server_set_socket_options(second.get(), QLOCAL_SERVER_WORLD_ACCESS));
    CHECK_RC(qlocal_server_listen(second.get(), name.c_str()), QLOCAL_RESULT_ADDRESS_IN_USE);
#ifndef _WIN32
    CHECK_EQ(inode(full), ino);
#endif
    CHECK(!qlocal_server_is_listening(second.get()));
    // The first server still accepts.
    auto client = qt::make_socket(loop.get());
    CHECK_OK(qlocal_socket_connect_to_server(client.get(), name.c_str()));
    CHECK_OK(qlocal_socket_wait_for_connected(client.get(), 2000));
    CHECK_OK(qlocal_server_wait_for_new_connection(first.get(), 2000));
    // Destroying the failed server leaves the first one's file (Windows: pipe) alone.
    second.reset();
#ifdef _WIN32
    auto later = qt::make_socket(loop.get());
    CHECK_OK(qlocal_socket_connect_to_server(later.get(), name.c_str()));
    CHECK_OK(qlocal_socket_wait_for_connected(later.get(), 2000));
    CHECK_OK(qlocal_server_wait_for_new_connection(first.get(), 2000));
#else
    CHECK_EQ(inode(full), ino);
#endif
}

QLOCAL_TEST_POSIX(server_stale_socket_file, QT_WHY_SOCKET_FILES)
#ifndef _WIN32
{
    auto loop = qt::make_loop();
    std::string name = qt::unique_name("stale");
    std::string full = temp_dir() + "/" + name;
    CHECK(make_stale_socket_file(full));
    ino_t ino = inode(full);
    // A client meets a refusal, reported from the loop and by wait_for_connected.
    auto client = qt::make_socket(loop.get());
    qt::Recorder rec;
    rec.attach(client.get());
    CHECK_OK(qlocal_socket_connect_to_server(client.get(), name.c_str()));
    CHECK_EQ(qlocal_socket_state(client.get()), QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED);
    CHECK_EQ(qlocal_socket_error(client.get()), QLOCAL_LOCAL_SOCKET_ERROR_CONNECTION_REFUSED);
    CHECK_RC(qlocal_socket_wait_for_connected(client.get(), 1000), QLOCAL_RESULT_CONNECTION_REFUSED);
    CHECK_STREQ(rec.joined(), "state:2,error:0,state:0");
    // listen refuses and leaves the file; remove_server clears it; then listen works.
    auto server = qt::make_server(loop.get());
    CHECK_RC(qlocal_server_listen(server.get(), name.c_str()), QLOCAL_RESULT_ADDRESS_IN_USE);
    CHECK_EQ(inode(full), ino);
    CHECK_OK(qlocal_server_remove_server(name.c_str()));
    CHECK(!exists(full));
    CHECK_OK(qlocal_server_remove_server(name.c_str()));  // already gone: still OK
    CHECK_OK(qlocal_server_listen(server.get(), name.c_str()));
}
#endif

// Qt's removeServer deletes whatever file sits at the name; qlocal removes only a socket
// file and leaves anything else alone with NOT_A_SOCKET.
QLOCAL_TEST_POSIX(server_remove_server_removes_only_socket_files, QT_WHY_SOCKET_FILES)
#ifndef _WIN32
{
    std::string dir = temp_dir();
    // A regular file.
    std::string file_name = qt::unique_name("rm-file");
    std::string file = dir + "/" + file_name;
    int fd = open(file.c_str(), O_CREAT | O_WRONLY | O_EXCL, 0600);
    CHECK(fd >= 0);
    CHECK(write(fd, "keep", 4) == 4);
    close(fd);
    ino_t file_ino = inode(file);
    CHECK_RC(qlocal_server_remove_server(file_name.c_str()), QLOCAL_RESULT_NOT_A_SOCKET);
    CHECK_RC(qlocal_server_remove_server(file.c_str()), QLOCAL_RESULT_NOT_A_SOCKET);
    CHECK_EQ(inode(file), file_ino);
    // A directory.
    std::string sub = dir + "/" + qt::unique_name("rm-dir");
    CHECK(mkdir(sub.c_str(), 0700) == 0);
    CHECK_RC(qlocal_server_remove_server(sub.c_str()), QLOCAL_RESULT_NOT_A_SOCKET);
    struct stat st {};
    CHECK(lstat(sub.c_str(), &st) == 0 && S_ISDIR(st.st_mode));
    // A FIFO.
    std::string fifo = dir + "/" + qt::unique_name("rm-fifo");
    CHECK(mkfifo(fifo.c_str(), 0600) == 0);
    CHECK_RC(qlocal_server_remove_server(fifo.c_str()), QLOCAL_RESULT_NOT_A_SOCKET);
    CHECK(lstat(fifo.c_str(), &st) == 0 && S_ISFIFO(st.st_mode));
    // A symlink to a socket file: neither the link nor its target is removed.
    std::string target = dir + "/" + qt::unique_name("rm-target");
    CHECK(make_stale_socket_file(target));
    std::string link = dir + "/" + qt::unique_name("rm-link");
    CHECK(symlink(target.c_str(), link.c_str()) == 0);
    CHECK_RC(qlocal_server_remove_server(link.c_str()), QLOCAL_RESULT_NOT_A_SOCKET);
    CHECK(lstat(link.c_str(), &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(lstat(target.c_str(), &st) == 0 && S_ISSOCK(st.st_mode));
    // A stale socket file is removed, by relative name or by path; a missing name is OK.
    std::string stale_name = qt::unique_name("rm-stale");
    CHECK(make_stale_socket_file(dir + "/" + stale_name));
    CHECK_OK(qlocal_server_remove_server(stale_name.c_str()));
    CHECK(!exists(dir + "/" + stale_name));
    CHECK_OK(qlocal_server_remove_server(stale_name.c_str()));
    CHECK_OK(qlocal_server_remove_server(target.c_str()));
    CHECK(!exists(target));
    CHECK_OK(qlocal_server_remove_server((dir + "/" + qt::unique_name("rm-missing")).c_str()));
    CHECK_OK(qlocal_server_remove_server("/nonexistent-qlocal-dir/x"));
    // An abstract server has no file: remove_server does nothing to it and says OK.
    auto loop = qt::make_loop();
    std::string abs_name = qt::unique_name("rm-abstract");
    auto server = qt::make_server(loop.get());
    CHECK_OK(qlocal_server_set_socket_options(server.get(), QLOCAL_SERVER_ABSTRACT_NAMESPACE));
    CHECK_OK(qlocal_server_listen(server.get(), abs_name.c_str()));
    CHECK_OK(qlocal_server_remove_server(abs_name.c_str()));
    auto client = qt::make_socket(loop.get());
    CHECK_OK(qlocal_socket_set_socket_options(client.get(), QLOCAL_SOCKET_ABSTRACT_NAMESPACE));
    CHECK_OK(qlocal_socket_connect_to_server(client.get(), abs_name.c_str()));
    CHECK_OK(qlocal_socket_wait_for_connected(client.get(), 2000));
    CHECK_STREQ(qlocal_result_string(QLOCAL_RESULT_NOT_A_SOCKET),
                "the name holds a file that is not a socket; it was left alone");
    // Clean up what the library (rightly) left alone.
    unlink(file.c_str());
    rmdir(sub.c_str());
    unlink(fifo.c_str());
    unlink(link.c_str());
}
#endif

QLOCAL_TEST_POSIX(server_close_keeps_a_newer_servers_file, QT_WHY_SOCKET_FILES)
#ifndef _WIN32
{
    auto loop = qt::make_loop();
    std::string name = qt::unique_name("takeover");
    std::string full = temp_dir() + "/" + name;
    auto old_server = qt::make_server(loop.get());
    CHECK_OK(qlocal_server_listen(old_server.get(), name.c_str()));
    // Someone removes the name and a new server takes it (Qt's "hostile takeover").
    CHECK_OK(qlocal_server_remove_server(name.c_str()));
    auto new_server = qt::make_server(loop.get());
    CHECK_OK(qlocal_server_listen(new_server.get(), name.c_str()));
    ino_t ino = inode(full);
    // Closing the old server must not unlink the new server's socket (Qt does: sddm #2205).
    old_server.reset();
    CHECK_EQ(inode(full), ino);
    auto client = qt::make_socket(loop.get());
    CHECK_OK(qlocal_socket_connect_to_server(client.get(), name.c_str()));
    CHECK_OK(qlocal_socket_wait_for_connected(client.get(), 2000));
    CHECK_OK(qlocal_server_wait_for_new_connection(new_server.get(), 2000));
}
#endif

QLOCAL_TEST_POSIX(server_socket_options_file_modes, QT_WHY_SOCKET_FILES)
#ifndef _WIN32
{
    auto loop = qt::make_loop();
    struct Row {
        unsigned options;
        unsigned mode;
    };
    for (Row r : {Row{QLOCAL_SERVER_USER_ACCESS, 0700}, Row{QLOCAL_SERVER_GROUP_ACCESS, 0070},
                  Row{QLOCAL_SERVER_OTHER_ACCESS, 0007}, Row{QLOCAL_SERVER_WORLD_ACCESS, 0777},
                  Row{QLOCAL_SERVER_USER_ACCESS | QLOCAL_SERVER_GROUP_ACCESS, 0770}}) {
        auto server = qt::make_server(loop.get());
        CHECK_OK(qlocal_server_set_socket_options(server.get(), r.options));
        std::string name = qt::unique_name("mode");
        CHECK_OK(qlocal_server_listen(server.get(), name.c_str()));
        struct stat st {};
        std::string full = temp_dir() + "/" + name;
        CHECK(lstat(full.c_str(), &st) == 0);
        CHECK(S_ISSOCK(st.st_mode));
        CHECK_EQ(st.st_mode & 0777, r.mode);
        // The socket answers at its final name.
        auto client = qt::make_socket(loop.get());
        CHECK_OK(qlocal_socket_connect_to_server(client.get(), name.c_str()));
        CHECK_OK(qlocal_socket_wait_for_connected(client.get(), 2000));
        // No temporary directory is left beside it.
        server.reset();
        CHECK(!exists(full));
    }
}
#endif

QLOCAL_TEST_POSIX(server_abstract_namespace, QT_WHY_ABSTRACT)
#ifndef _WIN32
{
    auto loop = qt::make_loop();
    std::string name = qt::unique_name("abstract/with/slashes");
    auto server = qt::make_server(loop.get());
    CHECK_OK(qlocal_server_set_socket_options(server.get(), QLOCAL_SERVER_ABSTRACT_NAMESPACE));
    CHECK_OK(qlocal_server_listen(server.get(), name.c_str()));
    CHECK_STREQ(qlocal_server_full_server_name(server.get()), name);
    CHECK(!exists(temp_dir() + "/" + name));
    // A path client does not find an abstract server.
    auto path_client = qt::make_socket(loop.get());
    CHECK_OK(qlocal_socket_connect_to_server(path_client.get(), name.c_str()));
    CHECK_RC(qlocal_socket_wait_for_connected(path_client.get(), 1000), QLOCAL_RESULT_SERVER_NOT_FOUND);
    // An abstract client does.
    auto client = qt::make_socket(loop.get());
    CHECK_OK(qlocal_socket_set_socket_options(client.get(), QLOCAL_SOCKET_ABSTRACT_NAMESPACE));
    CHECK_OK(qlocal_socket_connect_to_server(client.get(), name.c_str()));
    CHECK_OK(qlocal_socket_wait_for_connected(client.get(), 2000));
    CHECK_STREQ(qlocal_socket_full_server_name(client.get()), name);
    CHECK_OK(qlocal_server_wait_for_new_connection(server.get(), 2000));
    qlocal_socket *acc = nullptr;
    CHECK_OK(qlocal_server_next_pending_connection(server.get(), &acc));
    qt::SocketPtr accepted(acc);
    CHECK(acc != nullptr);
    CHECK_EQ(qlocal_socket_socket_options(acc), static_cast<uint32_t>(QLOCAL_SOCKET_ABSTRACT_NAMESPACE));
    // Same abstract name twice: address in use.
    auto second = qt::make_server(loop.get());
    CHECK_OK(qlocal_server_set_socket_options(second.get(), QLOCAL_SERVER_ABSTRACT_NAMESPACE));
    CHECK_RC(qlocal_server_listen(second.get(), name.c_str()), QLOCAL_RESULT_ADDRESS_IN_USE);
    // Options can only change while unconnected.
    CHECK_RC(qlocal_socket_set_socket_options(client.get(), 0), QLOCAL_RESULT_WRONG_STATE);
}
#endif

QLOCAL_TEST(server_pending_connections_and_callbacks) {
    auto loop = qt::make_loop();
    auto server = qt::make_server(loop.get());
    std::string name = qt::unique_name("pending");
    CHECK_OK(qlocal_server_set_max_pending_connections(server.get(), 2));
    CHECK_OK(qlocal_server_listen(server.get(), name.c_str()));
    struct Counter {
        int signals = 0;
        int pending_seen = 0;
    } counter;
    CHECK_OK(qlocal_server_set_userdata(server.get(), &counter, nullptr));
    CHECK_OK(qlocal_server_set_new_connection_callback(server.get(), [](void *ud, qlocal_server *s) {
        auto *c = static_cast<Counter *>(ud);
        c->signals++;
        c->pending_seen += qlocal_server_has_pending_connections(s) ? 1 : 0;
    }));
    // Five clients: all connect at once through the kernel backlog.
    std::vector<qt::SocketPtr> clients;
    for (int i = 0; i < 5; ++i) {
        clients.push_back(qt::make_socket(loop.get()));
        CHECK_OK(qlocal_socket_connect_to_server(clients.back().get(), name.c_str()));
        CHECK_EQ(qlocal_socket_state(clients.back().get()), QLOCAL_LOCAL_SOCKET_STATE_CONNECTED);
    }
    // The loop accepts only up to the maximum of pending connections.
    CHECK(qt::run_until(loop.get(), [&] { return counter.signals >= 2; }, 3000));
    CHECK_OK(qlocal_loop_run(loop.get(), QLOCAL_RUN_MODE_NO_WAIT, 0));
    CHECK_EQ(counter.signals, 2);
    CHECK_EQ(counter.pending_seen, 2);
    // Taking connections makes room; the rest are accepted, in order, by the loop.
    std::vector<qt::SocketPtr> taken;
    CHECK(qt::run_until(loop.get(), [&] {
        qlocal_socket *s = nullptr;
        while (qlocal_server_next_pending_connection(server.get(), &s) == QLOCAL_RESULT_OK && s)
            taken.emplace_back(s);
        return taken.size() == 5;
    }, 3000));
    CHECK_EQ(counter.signals, 5);
    // Closing the server leaves taken connections working.
    CHECK_OK(qlocal_server_close(server.get()));
    const char msg[] = "still here";
    CHECK_OK(qlocal_socket_write(taken[0].get(), reinterpret_cast<const uint8_t *>(msg), sizeof msg - 1));
    CHECK_OK(qlocal_socket_wait_for_ready_read(clients[0].get(), 2000));
    CHECK_STREQ(qt::read_all(clients[0].get()), "still here");
}

QLOCAL_TEST(server_close_closes_untaken_connections) {
    auto loop = qt::make_loop();
    auto server = qt::make_server(loop.get());
    std::string name = qt::unique_name("untaken");
    CHECK_OK(qlocal_server_listen(server.get(), name.c_str()));
    auto client = qt::make_socket(loop.get());
    qt::Recorder rec;
    rec.attach(client.get());
    CHECK_OK(qlocal_socket_connect_to_server(client.get(), name.c_str()));
    CHECK_OK(qlocal_server_wait_for_new_connection(server.get(), 2000));
    server.reset();  // the pending connection is closed with it
    CHECK_OK(qlocal_socket_wait_for_disconnected(client.get(), 2000));
    CHECK_EQ(qlocal_socket_state(client.get()), QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED);
    CHECK_EQ(rec.count("disconnected"), 1u);
    CHECK_EQ(rec.count("error:1"), 1u);
}

QLOCAL_TEST(server_listen_on_an_adopted_descriptor) {
    auto loop = qt::make_loop();
#ifdef _WIN32
    // README, Windows: UNSUPPORTED (as Qt, QTBUG-24230); the server stays unlistening and the
    // handle stays the caller's.
    HANDLE h = CreateEventA(nullptr, FALSE, FALSE, nullptr);
    CHECK(h != nullptr);
    auto server = qt::make_server(loop.get());
    CHECK_RC(qlocal_server_listen_descriptor(server.get(), reinterpret_cast<qlocal_descriptor>(h)),
             QLOCAL_RESULT_UNSUPPORTED);
    CHECK(!qlocal_server_is_listening(server.get()));
    CHECK_EQ(qlocal_server_socket_descriptor(server.get()), -1);
    DWORD flags = 0;
    CHECK(GetHandleInformation(h, &flags));
    CHECK(CloseHandle(h));
    // The server can still listen on a name.
    std::string name = qt::unique_name("adopt");
    CHECK_OK(qlocal_server_listen(server.get(), name.c_str()));
#else
    std::string path = temp_dir() + "/" + qt::unique_name("adopt");
    // A socket bound and listening elsewhere (socket activation, a parent process).
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    CHECK(bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0);
    auto server = qt::make_server(loop.get());
    // Not listening yet: refused, and the caller still owns the descriptor.
    CHECK_RC(qlocal_server_listen_descriptor(server.get(), fd), QLOCAL_RESULT_INVALID_ARGUMENT);
    CHECK(fcntl(fd, F_GETFD) != -1);
    CHECK(listen(fd, 5) == 0);
    CHECK_OK(qlocal_server_listen_descriptor(server.get(), fd));
    CHECK(qlocal_server_is_listening(server.get()));
    CHECK_EQ(qlocal_server_socket_descriptor(server.get()), fd);
    CHECK_STREQ(qlocal_server_full_server_name(server.get()), path);
    CHECK_STREQ(qlocal_server_server_name(server.get()), path.substr(path.rfind('/') + 1));
    CHECK_RC(qlocal_server_listen_descriptor(server.get(), fd), QLOCAL_RESULT_WRONG_STATE);
    auto client = qt::make_socket(loop.get());
    CHECK_OK(qlocal_socket_connect_to_server(client.get(), path.c_str()));
    CHECK_OK(qlocal_socket_wait_for_connected(client.get(), 2000));
    CHECK_OK(qlocal_server_wait_for_new_connection(server.get(), 2000));
    // The adopted socket's file was not created by this server: close leaves it.
    server.reset();
    CHECK(exists(path));
    CHECK(fcntl(fd, F_GETFD) == -1);  // but the descriptor was the server's, and is closed
    unlink(path.c_str());
    // Junk is refused without harm.
    auto other = qt::make_server(loop.get());
    CHECK_RC(qlocal_server_listen_descriptor(other.get(), -1), QLOCAL_RESULT_INVALID_ARGUMENT);
    int pipefd[2];
    CHECK(pipe(pipefd) == 0);
    CHECK_RC(qlocal_server_listen_descriptor(other.get(), pipefd[0]), QLOCAL_RESULT_INVALID_ARGUMENT);
    close(pipefd[0]);
    close(pipefd[1]);
    // An abstract listening socket sets the abstract option.
    std::string abs = qt::unique_name("adopt-abstract");
    int afd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un aa{};
    aa.sun_family = AF_UNIX;
    std::memcpy(aa.sun_path + 1, abs.data(), abs.size());
    socklen_t alen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + abs.size());
    CHECK(bind(afd, reinterpret_cast<sockaddr *>(&aa), alen) == 0 && listen(afd, 5) == 0);
    CHECK_OK(qlocal_server_listen_descriptor(other.get(), afd));
    CHECK_STREQ(qlocal_server_full_server_name(other.get()), abs);
    CHECK(qlocal_server_socket_options(other.get()) & QLOCAL_SERVER_ABSTRACT_NAMESPACE);
    auto ac = qt::make_socket(loop.get());
    CHECK_OK(qlocal_socket_set_socket_options(ac.get(), QLOCAL_SOCKET_ABSTRACT_NAMESPACE));
    CHECK_OK(qlocal_socket_connect_to_server(ac.get(), abs.c_str()));
    CHECK_OK(qlocal_socket_wait_for_connected(ac.get(), 2000));
#endif
}

// ---- Qt's incomingConnection / addPendingConnection ------------------------------------------

namespace {
struct Incoming {
    std::vector<qlocal_descriptor> fds;
    int new_connections = 0;
};
void on_incoming(void *ud, qlocal_server *, qlocal_descriptor fd) { static_cast<Incoming *>(ud)->fds.push_back(fd); }
void on_new(void *ud, qlocal_server *) { ++static_cast<Incoming *>(ud)->new_connections; }
}  // namespace

// The hook gets the descriptor instead of the pending queue; a socket made from it and added
// comes back from next_pending_connection (same handle, callbacks kept), announced from the loop.
QLOCAL_TEST(server_incoming_connection_hook_and_add_pending) {
    auto loop = qt::make_loop();
    auto server = qt::make_server(loop.get());
    Incoming in;
    CHECK_OK(qlocal_server_set_userdata(server.get(), &in, nullptr));
    CHECK_OK(qlocal_server_set_new_connection_callback(server.get(), on_new));
#ifdef _WIN32
    // README, Windows: the hook hands out descriptors, and pipe handles are not adopted:
    // UNSUPPORTED, and connections keep Qt's default path (NULL, the default, is accepted).
    CHECK_RC(qlocal_server_set_incoming_connection_callback(server.get(), on_incoming), QLOCAL_RESULT_UNSUPPORTED);
    CHECK_OK(qlocal_server_set_incoming_connection_callback(server.get(), nullptr));
    std::string name = qt::unique_name("incoming");
    CHECK_OK(qlocal_server_listen(server.get(), name.c_str()));
    auto client = qt::make_socket(loop.get());
    CHECK_OK(qlocal_socket_connect_to_server(client.get(), name.c_str()));
    CHECK_OK(qlocal_server_wait_for_new_connection(server.get(), 5000));
    CHECK(in.fds.empty());
    CHECK_EQ(in.new_connections, 1);
    qlocal_socket *unadopted = nullptr;
    CHECK_OK(qlocal_socket_new(loop.get(), &unadopted));
    qt::SocketPtr unadopted_owner(unadopted);
    // The server's waiting instance is not connected, and bound to the server loop's port:
    // refused, and it stays the server's.
    CHECK_RC(qlocal_socket_set_socket_descriptor(unadopted, qlocal_server_socket_descriptor(server.get())),
             QLOCAL_RESULT_INVALID_ARGUMENT);
    CHECK_EQ(qlocal_socket_state(unadopted), QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED);
#else
    CHECK_OK(qlocal_server_set_incoming_connection_callback(server.get(), on_incoming));
    std::string name = qt::unique_name("incoming");
    CHECK_OK(qlocal_server_listen(server.get(), name.c_str()));
    auto client = qt::make_socket(loop.get());
    CHECK_OK(qlocal_socket_connect_to_server(client.get(), name.c_str()));
    CHECK(qt::run_until(loop.get(), [&] { return in.fds.size() == 1; }, 5000));
    CHECK_EQ(in.new_connections, 0);
    CHECK(!qlocal_server_has_pending_connections(server.get()));
    // The descriptor is the callback's: adopt it.
    qlocal_socket *adopted = nullptr;
    CHECK_OK(qlocal_socket_new(loop.get(), &adopted));
    CHECK_OK(qlocal_socket_set_socket_descriptor(adopted, in.fds[0]));
    qt::Recorder rec;
    rec.attach(adopted);
    CHECK_OK(qlocal_server_add_pending_connection(server.get(), adopted));
    CHECK_EQ(in.new_connections, 0);  // from the loop, not inside the call
    CHECK(qlocal_server_has_pending_connections(server.get()));
    CHECK(qt::run_until(loop.get(), [&] { return in.new_connections == 1; }, 5000));
    qlocal_socket *taken = nullptr;
    CHECK_OK(qlocal_server_next_pending_connection(server.get(), &taken));
    CHECK(taken == adopted);
    qt::SocketPtr owned(taken);
    CHECK(qlocal_socket_userdata(taken) == &rec);
    CHECK_OK(qlocal_socket_write(client.get(), reinterpret_cast<const uint8_t *>("hook"), 4));
    CHECK(qt::run_until(loop.get(), [&] { return rec.count("ready_read") == 1; }, 5000));
    CHECK_STREQ(qt::read_all(taken), "hook");
    // wait_for_new_connection with the hook: a connection counts once it was added.
    auto second = qt::make_socket(loop.get());
    CHECK_OK(qlocal_socket_connect_to_server(second.get(), name.c_str()));
    CHECK_RC(qlocal_server_wait_for_new_connection(server.get(), 200), QLOCAL_RESULT_TIMEOUT);
    CHECK_EQ(in.fds.size(), 2u);
    // A callback may refuse one by closing it: the client sees the close.
    close(static_cast<int>(in.fds[1]));
    CHECK_OK(qlocal_socket_wait_for_disconnected(second.get(), 5000));
    // NULL restores Qt's default: the next connection is a pending one.
    CHECK_OK(qlocal_server_set_incoming_connection_callback(server.get(), nullptr));
    auto third = qt::make_socket(loop.get());
    CHECK_OK(qlocal_socket_connect_to_server(third.get(), name.c_str()));
    CHECK_OK(qlocal_server_wait_for_new_connection(server.get(), 5000));
    CHECK_EQ(in.fds.size(), 2u);
    CHECK_EQ(in.new_connections, 2);
#endif
}

QLOCAL_TEST(server_add_pending_connection_refusals) {
    auto loop = qt::make_loop();
    auto other = qt::make_loop();
    auto server = qt::make_server(loop.get());
    auto foreign = qt::make_socket(other.get());
    CHECK_RC(qlocal_server_add_pending_connection(server.get(), foreign.get()), QLOCAL_RESULT_INVALID_ARGUMENT);
    CHECK(!qlocal_server_has_pending_connections(server.get()));
    CHECK_RC(qlocal_server_add_pending_connection(server.get(), nullptr), QLOCAL_RESULT_NULL_ARGUMENT);
    CHECK_RC(qlocal_server_add_pending_connection(nullptr, foreign.get()), QLOCAL_RESULT_NULL_ARGUMENT);
    CHECK_RC(qlocal_server_set_incoming_connection_callback(nullptr, nullptr), QLOCAL_RESULT_NULL_ARGUMENT);
    // A socket added and never taken is destroyed with the server (its finalizer runs).
    static int finalized = 0;
    qlocal_socket *s = nullptr;
    CHECK_OK(qlocal_socket_new(loop.get(), &s));
    CHECK_OK(qlocal_socket_set_userdata(s, &finalized, [](void *ud) { ++*static_cast<int *>(ud); }));
    CHECK_OK(qlocal_server_add_pending_connection(server.get(), s));
    server.reset();
    CHECK_EQ(finalized, 1);
}

// The hook handing the descriptor back to Qt's default: a pending connection as any other,
// announced in the same turn; a descriptor that is not a socket is refused and stays the caller's.
QLOCAL_TEST(server_incoming_connection_default_through_add_pending_descriptor) {
    auto loop = qt::make_loop();
    auto server = qt::make_server(loop.get());
    struct State {
        int incoming = 0, announced_inside = -1, new_connections = 0;
        qlocal_result rc = QLOCAL_RESULT_PANIC;
    } st;
    CHECK_OK(qlocal_server_set_userdata(server.get(), &st, nullptr));
    CHECK_OK(qlocal_server_set_new_connection_callback(
        server.get(), [](void *ud, qlocal_server *) { ++static_cast<State *>(ud)->new_connections; }));
#ifdef _WIN32
    // README, Windows: handing a descriptor in is UNSUPPORTED (pipe handles are not adopted);
    // nothing becomes pending, and the handle stays the caller's.
    std::string name = qt::unique_name("indefault");
    CHECK_OK(qlocal_server_listen(server.get(), name.c_str()));
    HANDLE h = CreateEventA(nullptr, FALSE, FALSE, nullptr);
    CHECK(h != nullptr);
    CHECK_RC(qlocal_server_add_pending_descriptor(server.get(), reinterpret_cast<qlocal_descriptor>(h)),
             QLOCAL_RESULT_UNSUPPORTED);
    CHECK_RC(qlocal_loop_run(loop.get(), QLOCAL_RUN_MODE_NO_WAIT, 0), QLOCAL_RESULT_OK);
    CHECK(!qlocal_server_has_pending_connections(server.get()));
    CHECK_EQ(st.new_connections, 0);
    DWORD flags = 0;
    CHECK(GetHandleInformation(h, &flags));
    CHECK(CloseHandle(h));
#else
    CHECK_OK(qlocal_server_set_incoming_connection_callback(
        server.get(), [](void *ud, qlocal_server *s, qlocal_descriptor fd) {
            auto *st = static_cast<State *>(ud);
            ++st->incoming;
            st->rc = qlocal_server_add_pending_descriptor(s, fd);
            st->announced_inside = st->new_connections;
        }));
    std::string name = qt::unique_name("indefault");
    CHECK_OK(qlocal_server_listen(server.get(), name.c_str()));
    auto client = qt::make_socket(loop.get());
    CHECK_OK(qlocal_socket_connect_to_server(client.get(), name.c_str()));
    CHECK_OK(qlocal_server_wait_for_new_connection(server.get(), 5000));
    CHECK_EQ(st.incoming, 1);
    CHECK_OK(st.rc);
    CHECK_EQ(st.announced_inside, 0);  // not inside the call that queued it
    CHECK_EQ(st.new_connections, 1);   // but in the same turn
    qlocal_socket *taken = nullptr;
    CHECK_OK(qlocal_server_next_pending_connection(server.get(), &taken));
    CHECK(taken != nullptr);
    qt::SocketPtr owned(taken);
    CHECK_STREQ(qlocal_socket_full_server_name(taken), qlocal_server_full_server_name(server.get()));
    CHECK_OK(qlocal_socket_write(client.get(), reinterpret_cast<const uint8_t *>("dflt"), 4));
    CHECK_OK(qlocal_socket_wait_for_ready_read(taken, 5000));
    CHECK_STREQ(qt::read_all(taken), "dflt");
    int pipefd[2];
    CHECK(pipe(pipefd) == 0);
    CHECK_RC(qlocal_server_add_pending_descriptor(server.get(), pipefd[0]), QLOCAL_RESULT_INVALID_ARGUMENT);
    CHECK(fcntl(pipefd[0], F_GETFD) != -1);
    close(pipefd[0]);
    close(pipefd[1]);
    CHECK_RC(qlocal_server_add_pending_descriptor(server.get(), -1), QLOCAL_RESULT_INVALID_ARGUMENT);
#endif
}
