// Misuse and hostile conditions: NULL arguments, wrong thread, destroy inside callbacks,
// the loop's own rules, embedding, and running out of file descriptors.
#include "harness.hpp"

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#ifdef _WIN32
#include <windows.h>
#else
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>
#endif

QLOCAL_TEST(null_arguments_are_refused) {
    CHECK_RC(qlocal_loop_new(nullptr), QLOCAL_RESULT_NULL_ARGUMENT);
    CHECK_OK(qlocal_loop_destroy(nullptr));
    CHECK_OK(qlocal_server_destroy(nullptr));
    CHECK_OK(qlocal_socket_destroy(nullptr));
    CHECK_RC(qlocal_loop_run(nullptr, QLOCAL_RUN_MODE_NO_WAIT, 0), QLOCAL_RESULT_NULL_ARGUMENT);
    CHECK_RC(qlocal_loop_stop(nullptr), QLOCAL_RESULT_NULL_ARGUMENT);
    CHECK_RC(qlocal_loop_wakeup(nullptr), QLOCAL_RESULT_NULL_ARGUMENT);
    CHECK_RC(qlocal_server_new(nullptr, nullptr), QLOCAL_RESULT_NULL_ARGUMENT);
    CHECK_RC(qlocal_socket_new(nullptr, nullptr), QLOCAL_RESULT_NULL_ARGUMENT);
    CHECK_RC(qlocal_server_listen(nullptr, "x"), QLOCAL_RESULT_NULL_ARGUMENT);
    CHECK_RC(qlocal_socket_connect_to_server(nullptr, "x"), QLOCAL_RESULT_NULL_ARGUMENT);
    CHECK_RC(qlocal_socket_write(nullptr, nullptr, 0), QLOCAL_RESULT_NULL_ARGUMENT);
    CHECK_RC(qlocal_server_remove_server(nullptr), QLOCAL_RESULT_NULL_ARGUMENT);
    CHECK(!qlocal_server_is_listening(nullptr));
    CHECK_EQ(qlocal_socket_state(nullptr), QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED);
    CHECK_EQ(qlocal_socket_bytes_available(nullptr), 0u);
    CHECK_STREQ(qlocal_socket_error_string(nullptr), "");
    CHECK_STREQ(qlocal_server_server_name(nullptr), "");
    auto loop = qt::make_loop();
    CHECK_RC(qlocal_server_new(loop.get(), nullptr), QLOCAL_RESULT_NULL_ARGUMENT);
    auto server = qt::make_server(loop.get());
    auto sock = qt::make_socket(loop.get());
    CHECK_RC(qlocal_server_listen(server.get(), nullptr), QLOCAL_RESULT_NULL_ARGUMENT);
    CHECK_RC(qlocal_server_next_pending_connection(server.get(), nullptr), QLOCAL_RESULT_NULL_ARGUMENT);
    CHECK_RC(qlocal_socket_read(sock.get(), nullptr, 10, nullptr), QLOCAL_RESULT_NULL_ARGUMENT);
    size_t n = 5;
    CHECK_RC(qlocal_socket_read(sock.get(), nullptr, 10, &n), QLOCAL_RESULT_NULL_ARGUMENT);
    CHECK_EQ(n, 5u);  // outputs are written only on success
    CHECK_OK(qlocal_socket_read(sock.get(), nullptr, 0, &n));
    CHECK_EQ(n, 0u);
    CHECK_RC(qlocal_socket_write(sock.get(), nullptr, 3), QLOCAL_RESULT_NULL_ARGUMENT);
    CHECK_RC(qlocal_loop_fd(loop.get(), nullptr), QLOCAL_RESULT_NULL_ARGUMENT);
    CHECK_RC(qlocal_loop_run(loop.get(), 42, 0), QLOCAL_RESULT_INVALID_ARGUMENT);
    // Result texts: static, for any integer.
    CHECK_STREQ(qlocal_result_string(QLOCAL_RESULT_OK), "success");
    CHECK_STREQ(qlocal_result_string(123456), "unknown result code");
    CHECK_STREQ(qlocal_result_string(-7), "unknown result code");
}

QLOCAL_TEST(version_matches_header) {
    std::string expected = std::to_string(QLOCAL_VERSION_MAJOR) + "." +
                           std::to_string(QLOCAL_VERSION_MINOR) + "." +
                           std::to_string(QLOCAL_VERSION_PATCH);
    CHECK_STREQ(qlocal_version_string(), expected);
}

QLOCAL_TEST(wrong_thread_is_refused) {
    auto loop = qt::make_loop();
    std::string err;
    qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("thread"), err);
    CHECK_STREQ(err, "");
    std::vector<qlocal_result> got;
    bool owner_elsewhere = true;
    std::thread other([&] {
        got.push_back(qlocal_socket_write(p.client.get(), reinterpret_cast<const uint8_t *>("x"), 1));
        got.push_back(qlocal_socket_abort(p.client.get()));
        got.push_back(qlocal_socket_destroy(p.accepted.get()));
        got.push_back(qlocal_server_close(p.server.get()));
        got.push_back(qlocal_server_destroy(p.server.get()));
        got.push_back(qlocal_loop_run(loop.get(), QLOCAL_RUN_MODE_NO_WAIT, 0));
        got.push_back(qlocal_loop_destroy(loop.get()));
        qlocal_socket *s = nullptr;
        got.push_back(qlocal_socket_new(loop.get(), &s));
        owner_elsewhere = qlocal_loop_is_owner_thread(loop.get());
        // Infallible queries answer with their documented defaults.
        if (qlocal_socket_state(p.client.get()) != QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED)
            got.push_back(QLOCAL_RESULT_PANIC);
    });
    other.join();
    CHECK_EQ(got.size(), 8u);
    for (qlocal_result r : got) CHECK_RC(r, QLOCAL_RESULT_WRONG_THREAD);
    CHECK(!owner_elsewhere);
    CHECK(qlocal_loop_is_owner_thread(loop.get()));
    // Nothing was changed by the refused calls.
    CHECK_EQ(qlocal_socket_state(p.client.get()), QLOCAL_LOCAL_SOCKET_STATE_CONNECTED);
    CHECK(qlocal_server_is_listening(p.server.get()));
    CHECK_OK(qlocal_socket_write(p.client.get(), reinterpret_cast<const uint8_t *>("ok"), 2));
    CHECK_OK(qlocal_socket_wait_for_ready_read(p.accepted.get(), 2000));
    CHECK_STREQ(qt::read_all(p.accepted.get()), "ok");
}

QLOCAL_TEST(stop_and_wakeup_from_another_thread) {
    auto loop = qt::make_loop();
    std::atomic<int> wakeups{0};
    CHECK_OK(qlocal_loop_set_userdata(loop.get(), &wakeups, nullptr));
    CHECK_OK(qlocal_loop_set_wakeup_callback(loop.get(), [](void *ud, qlocal_loop *) {
        static_cast<std::atomic<int> *>(ud)->fetch_add(1);
    }));
    std::thread other([&] {
        (void)qlocal_loop_wakeup(loop.get());
        (void)qlocal_loop_stop(loop.get());
    });
    // Returns because of the stop (or at once if the stop came first).
    double t0 = qt::now_ms();
    CHECK_OK(qlocal_loop_run(loop.get(), QLOCAL_RUN_MODE_DEFAULT, 10000));
    other.join();
    (void)qlocal_loop_run(loop.get(), QLOCAL_RUN_MODE_NO_WAIT, 0);
    CHECK(qt::now_ms() - t0 < 5000);
    CHECK(wakeups.load() >= 1);
    // A run with nothing to do ends at its timeout.
    t0 = qt::now_ms();
    CHECK_RC(qlocal_loop_run(loop.get(), QLOCAL_RUN_MODE_DEFAULT, 60), QLOCAL_RESULT_TIMEOUT);
    CHECK(qt::now_ms() - t0 >= 55);
    // A stop before run makes the next run return at once.
    CHECK_OK(qlocal_loop_stop(loop.get()));
    t0 = qt::now_ms();
    CHECK_OK(qlocal_loop_run(loop.get(), QLOCAL_RUN_MODE_DEFAULT, 10000));
    CHECK(qt::now_ms() - t0 < 1000);
}

QLOCAL_TEST(loop_run_inside_callback_is_refused) {
    auto loop = qt::make_loop();
    std::string err;
    qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("nested"), err);
    CHECK_STREQ(err, "");
    struct State {
        qlocal_loop *loop;
        qlocal_result nested = QLOCAL_RESULT_PANIC;
    } st{loop.get()};
    CHECK_OK(qlocal_socket_set_userdata(p.client.get(), &st, nullptr));
    CHECK_OK(qlocal_socket_set_ready_read_callback(p.client.get(), [](void *ud, qlocal_socket *) {
        auto *st = static_cast<State *>(ud);
        st->nested = qlocal_loop_run(st->loop, QLOCAL_RUN_MODE_NO_WAIT, 0);
    }));
    CHECK_OK(qlocal_socket_write(p.accepted.get(), reinterpret_cast<const uint8_t *>("x"), 1));
    CHECK(qt::run_until(loop.get(), [&] { return st.nested != QLOCAL_RESULT_PANIC; }, 2000));
    CHECK_RC(st.nested, QLOCAL_RESULT_WRONG_STATE);
}

QLOCAL_TEST(loop_destroyed_inside_its_callback) {
    // The loop handle is destroyed by a callback of its own: the run in progress returns, the
    // loop's userdata is finalized once, and its objects keep working through wait calls.
    qlocal_loop *loop = nullptr;
    CHECK_OK(qlocal_loop_new(&loop));
    std::string err;
    qt::Pair p = qt::connect_pair(loop, qt::unique_name("loopgone"), err);
    CHECK_STREQ(err, "");
    static int finalized = 0;
    CHECK_OK(qlocal_loop_set_userdata(loop, &finalized, [](void *ud) { ++*static_cast<int *>(ud); }));
    struct State {
        qlocal_loop *loop;
        qlocal_result destroy = QLOCAL_RESULT_PANIC;
    } st{loop};
    CHECK_OK(qlocal_socket_set_userdata(p.client.get(), &st, nullptr));
    CHECK_OK(qlocal_socket_set_ready_read_callback(p.client.get(), [](void *ud, qlocal_socket *) {
        // Once: the handle is gone after it (later ready-reads come from the wait below).
        auto *st = static_cast<State *>(ud);
        if (st->loop) st->destroy = qlocal_loop_destroy(st->loop);
        st->loop = nullptr;
    }));
    CHECK_OK(qlocal_socket_write(p.accepted.get(), reinterpret_cast<const uint8_t *>("x"), 1));
    double t0 = qt::now_ms();
    CHECK_OK(qlocal_loop_run(loop, QLOCAL_RUN_MODE_DEFAULT, 5000));
    CHECK(qt::now_ms() - t0 < 4000);
    CHECK_RC(st.destroy, QLOCAL_RESULT_OK);
    CHECK_EQ(finalized, 1);
    CHECK_OK(qlocal_socket_write(p.accepted.get(), reinterpret_cast<const uint8_t *>("yz"), 2));
    CHECK_OK(qlocal_socket_wait_for_ready_read(p.client.get(), 2000));
    CHECK_STREQ(qt::read_all(p.client.get()), "xyz");
}

namespace {

struct Finalized {
    int count = 0;
    bool in_callback = false;
    bool finalized_during_callback = false;
};

void finalize(void *ud) {
    auto *f = static_cast<Finalized *>(ud);
    f->count++;
    if (f->in_callback) f->finalized_during_callback = true;
}

}  // namespace

QLOCAL_TEST(destroy_inside_own_callbacks) {
    auto loop = qt::make_loop();
    std::string err;
    std::string name = qt::unique_name("destroy");
    qt::Pair p = qt::connect_pair(loop.get(), name, err);
    CHECK_STREQ(err, "");
    // A socket destroyed inside its own ready_read: no later callback, finalizer once, after
    // the callback returned.
    static Finalized fin;
    static int later_callbacks = 0;
    qlocal_socket *client = p.client.release();
    CHECK_OK(qlocal_socket_set_userdata(client, &fin, &finalize));
    CHECK_OK(qlocal_socket_set_ready_read_callback(client, [](void *ud, qlocal_socket *s) {
        auto *f = static_cast<Finalized *>(ud);
        f->in_callback = true;
        (void)qlocal_socket_destroy(s);
        f->in_callback = false;
    }));
    CHECK_OK(qlocal_socket_set_disconnected_callback(client, [](void *, qlocal_socket *) { later_callbacks++; }));
    CHECK_OK(qlocal_socket_set_state_changed_callback(
        client, [](void *, qlocal_socket *, qlocal_local_socket_state) { later_callbacks++; }));
    CHECK_OK(qlocal_socket_write(p.accepted.get(), reinterpret_cast<const uint8_t *>("x"), 1));
    CHECK_OK(qlocal_socket_disconnect_from_server(p.accepted.get()));
    CHECK(qt::run_until(loop.get(), [&] { return fin.count == 1; }, 2000));
    CHECK_RC(qlocal_loop_run(loop.get(), QLOCAL_RUN_MODE_ONCE, 50), QLOCAL_RESULT_TIMEOUT);
    CHECK_EQ(fin.count, 1);
    CHECK(!fin.finalized_during_callback);
    CHECK_EQ(later_callbacks, 0);

    // A server destroyed inside its new-connection callback.
    static Finalized sfin;
    qlocal_server *server = p.server.release();
    CHECK_OK(qlocal_server_set_userdata(server, &sfin, &finalize));
    CHECK_OK(qlocal_server_set_new_connection_callback(server, [](void *ud, qlocal_server *s) {
        auto *f = static_cast<Finalized *>(ud);
        f->in_callback = true;
        (void)qlocal_server_destroy(s);
        f->in_callback = false;
    }));
    std::vector<qt::SocketPtr> clients;
    for (int i = 0; i < 3; ++i) {
        clients.push_back(qt::make_socket(loop.get()));
        CHECK_OK(qlocal_socket_connect_to_server(clients.back().get(), name.c_str()));
    }
    CHECK(qt::run_until(loop.get(), [&] { return sfin.count == 1; }, 2000));
    CHECK(!sfin.finalized_during_callback);
    // Replacing userdata finalizes the old one at once.
    static Finalized a, b;
    auto sock = qt::make_socket(loop.get());
    CHECK_OK(qlocal_socket_set_userdata(sock.get(), &a, &finalize));
    CHECK_OK(qlocal_socket_set_userdata(sock.get(), &b, &finalize));
    CHECK_EQ(a.count, 1);
    CHECK_EQ(b.count, 0);
    CHECK(qlocal_socket_userdata(sock.get()) == &b);
    sock.reset();
    CHECK_EQ(b.count, 1);
}

QLOCAL_TEST(loop_destroyed_before_its_objects) {
    qlocal_loop *loop = nullptr;
    CHECK_OK(qlocal_loop_new(&loop));
    std::string err;
    qt::Pair p = qt::connect_pair(loop, qt::unique_name("order"), err);
    CHECK_STREQ(err, "");
    CHECK_OK(qlocal_socket_write(p.client.get(), reinterpret_cast<const uint8_t *>("abc"), 3));
    CHECK_OK(qlocal_loop_destroy(loop));
    // Objects outlive the loop handle: their wait calls still work, destroy frees everything.
    CHECK_OK(qlocal_socket_wait_for_ready_read(p.accepted.get(), 2000));
    CHECK_STREQ(qt::read_all(p.accepted.get()), "abc");
}

QLOCAL_TEST(embedding_with_poll) {
    auto loop = qt::make_loop();
    qlocal_descriptor fd = -1;
    // Windows (README): an event HANDLE signalled while the loop has work, instead of an fd.
    CHECK_OK(qlocal_loop_fd(loop.get(), &fd));
#ifdef _WIN32
    CHECK(fd != 0 && fd != -1);
#else
    CHECK(fd >= 0);
#endif
    int timeout = 0;
    CHECK_OK(qlocal_loop_timeout(loop.get(), &timeout));
    CHECK_EQ(timeout, -1);
    auto server = qt::make_server(loop.get());
    std::string name = qt::unique_name("embed");
    int accepted = 0;
    CHECK_OK(qlocal_server_set_userdata(server.get(), &accepted, nullptr));
    CHECK_OK(qlocal_server_set_new_connection_callback(server.get(), [](void *ud, qlocal_server *s) {
        qlocal_socket *c = nullptr;
        while (qlocal_server_next_pending_connection(s, &c) == QLOCAL_RESULT_OK && c) {
            ++*static_cast<int *>(ud);
            (void)qlocal_socket_destroy(c);
        }
    }));
    CHECK_OK(qlocal_server_listen(server.get(), name.c_str()));
    auto client = qt::make_socket(loop.get());
    qt::Recorder rec;
    rec.attach(client.get());
    CHECK_OK(qlocal_socket_connect_to_server(client.get(), name.c_str()));
    // Someone else's loop: poll on the fd with the loop's timeout, then dispatch without waiting.
    double deadline = qt::now_ms() + 3000;
    while ((accepted == 0 || rec.count("connected") == 0) && qt::now_ms() < deadline) {
        CHECK_OK(qlocal_loop_timeout(loop.get(), &timeout));
#ifdef _WIN32
        // The host waits on the handle (Qt: QWinEventNotifier), at most until the loop's timeout.
        (void)WaitForSingleObject(reinterpret_cast<HANDLE>(fd), timeout < 0 ? 100 : std::min(timeout, 100));
#else
        pollfd pfd{static_cast<int>(fd), POLLIN, 0};
        int wait = timeout < 0 ? 100 : std::min(timeout, 100);
        (void)poll(&pfd, 1, wait);
#endif
        CHECK_OK(qlocal_loop_run(loop.get(), QLOCAL_RUN_MODE_NO_WAIT, 0));
    }
    CHECK_EQ(accepted, 1);
    CHECK_EQ(rec.count("connected"), 1u);
#ifndef _WIN32
    // A wakeup from another thread makes the fd readable.
    std::thread([&] { (void)qlocal_loop_wakeup(loop.get()); }).join();
    pollfd pfd{static_cast<int>(fd), POLLIN, 0};
    CHECK_EQ(poll(&pfd, 1, 2000), 1);
#endif
}

QLOCAL_TEST_POSIX(fd_exhaustion_is_reported_and_recovered, QT_WHY_FD_LIMIT)
#ifndef _WIN32
{
    auto loop = qt::make_loop();
    auto server = qt::make_server(loop.get());
    std::string name = qt::unique_name("emfile");
    CHECK_OK(qlocal_server_listen(server.get(), name.c_str()));
    rlimit old{};
    CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0);
    // Take every free descriptor below a low limit.
    rlimit low = old;
    low.rlim_cur = 64;
    CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
    std::vector<int> hogs;
    for (;;) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0) break;
        hogs.push_back(fd);
    }
    // A client cannot even create its socket: a clear error, no crash.
    auto client = qt::make_socket(loop.get());
    CHECK_OK(qlocal_socket_connect_to_server(client.get(), name.c_str()));
    CHECK_EQ(qlocal_socket_state(client.get()), QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED);
    CHECK_EQ(qlocal_socket_error(client.get()), QLOCAL_LOCAL_SOCKET_ERROR_SOCKET_RESOURCE);
    CHECK_RC(qlocal_socket_wait_for_connected(client.get(), 100), QLOCAL_RESULT_RESOURCE_EXHAUSTED);
    // Free one descriptor: the client connects, the server cannot accept (EMFILE).
    close(hogs.back());
    hogs.pop_back();
    CHECK_OK(qlocal_socket_connect_to_server(client.get(), name.c_str()));
    CHECK_OK(qlocal_socket_wait_for_connected(client.get(), 1000));
    CHECK_RC(qlocal_server_wait_for_new_connection(server.get(), 100), QLOCAL_RESULT_RESOURCE_EXHAUSTED);
    CHECK_EQ(qlocal_server_error(server.get()), QLOCAL_LOCAL_SOCKET_ERROR_SOCKET_RESOURCE);
    CHECK(qlocal_server_is_listening(server.get()));
    // Once descriptors are back, the waiting connection is accepted by the loop's retry.
    for (int fd : hogs) close(fd);
    CHECK(setrlimit(RLIMIT_NOFILE, &old) == 0);
    int got = 0;
    CHECK_OK(qlocal_server_set_userdata(server.get(), &got, nullptr));
    CHECK_OK(qlocal_server_set_new_connection_callback(server.get(), [](void *ud, qlocal_server *) {
        ++*static_cast<int *>(ud);
    }));
    CHECK(qt::run_until(loop.get(), [&] { return got == 1; }, 3000));
    qlocal_socket *acc = nullptr;
    CHECK_OK(qlocal_server_next_pending_connection(server.get(), &acc));
    qt::SocketPtr accepted(acc);
    CHECK(acc != nullptr);
    CHECK_OK(qlocal_socket_write(acc, reinterpret_cast<const uint8_t *>("hi"), 2));
    CHECK_OK(qlocal_socket_wait_for_ready_read(client.get(), 2000));
    CHECK_STREQ(qt::read_all(client.get()), "hi");
}
#endif

// A (pointer, length) pair that describes no possible object: longer than PTRDIFF_MAX (no
// object is that large), or running past the end of the address space. The library must refuse
// it with INVALID_ARGUMENT before it touches a byte (the debug library used to abort on
// `slice::from_raw_parts`' precondition; release builds had undefined behaviour).
QLOCAL_TEST(socket_impossible_lengths_are_invalid_argument) {
    auto loop = qt::make_loop();
    std::string err;
    qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("lengths"), err);
    CHECK_STREQ(err, "");
    // Something buffered on the client, so a read that went ahead would copy bytes.
    CHECK_OK(qlocal_socket_write(p.accepted.get(), reinterpret_cast<const uint8_t *>("hello\n"), 6));
    CHECK(qt::run_until(loop.get(), [&] { return qlocal_socket_bytes_available(p.client.get()) == 6; }));

    uint8_t buf[16] = {};
    const size_t too_long[] = {SIZE_MAX, static_cast<size_t>(PTRDIFF_MAX) + 1};
    for (size_t len : too_long) {
        size_t n = 77;
        CHECK_RC(qlocal_socket_read(p.client.get(), buf, len, &n), QLOCAL_RESULT_INVALID_ARGUMENT);
        CHECK_RC(qlocal_socket_peek(p.client.get(), buf, len, &n), QLOCAL_RESULT_INVALID_ARGUMENT);
        CHECK_RC(qlocal_socket_read_line(p.client.get(), buf, len, &n), QLOCAL_RESULT_INVALID_ARGUMENT);
        CHECK_RC(qlocal_socket_write(p.client.get(), buf, len), QLOCAL_RESULT_INVALID_ARGUMENT);
        CHECK_EQ(n, 77u);  // outputs are written only on success
    }
    // A length that is small enough but runs past the top of the address space.
    uintptr_t top = UINTPTR_MAX - 15;
    uint8_t *wrapping = reinterpret_cast<uint8_t *>(top);
    size_t n = 77;
    CHECK_RC(qlocal_socket_read(p.client.get(), wrapping, 32, &n), QLOCAL_RESULT_INVALID_ARGUMENT);
    CHECK_RC(qlocal_socket_peek(p.client.get(), wrapping, 32, &n), QLOCAL_RESULT_INVALID_ARGUMENT);
    CHECK_RC(qlocal_socket_read_line(p.client.get(), wrapping, 32, &n), QLOCAL_RESULT_INVALID_ARGUMENT);
    CHECK_RC(qlocal_socket_write(p.client.get(), wrapping, 32), QLOCAL_RESULT_INVALID_ARGUMENT);
    CHECK_EQ(n, 77u);
    // NULL with a length is still NULL_ARGUMENT; nothing was consumed or queued.
    CHECK_RC(qlocal_socket_read(p.client.get(), nullptr, SIZE_MAX, &n), QLOCAL_RESULT_NULL_ARGUMENT);
    CHECK_EQ(qlocal_socket_bytes_available(p.client.get()), 6u);
    CHECK_EQ(qlocal_socket_bytes_to_write(p.client.get()), 0u);
    // Ordinary lengths still work: any alignment is fine for bytes.
    CHECK_OK(qlocal_socket_peek(p.client.get(), buf + 1, 3, &n));
    CHECK_EQ(n, 3u);
    CHECK_OK(qlocal_socket_read_line(p.client.get(), buf + 3, sizeof buf - 3, &n));
    CHECK_EQ(n, 6u);
    CHECK_STREQ(reinterpret_cast<const char *>(buf + 3), "hello\n");
    CHECK_OK(qlocal_socket_write(p.client.get(), buf + 3, 6));
}

// errorString() texts are Qt 6's for the same situation ("<Qt function>: <Qt text>"), so code
// that shows or compares them reads the same; the trace tests compare them with real Qt too.
QLOCAL_TEST(error_strings_are_qts) {
    auto loop = qt::make_loop();
    auto s = qt::make_socket(loop.get());
    CHECK_STREQ(qlocal_socket_error_string(s.get()), "Unknown error");
    CHECK_RC(qlocal_socket_connect_to_server(s.get(), ""), QLOCAL_RESULT_INVALID_NAME);
    CHECK_STREQ(qlocal_socket_error_string(s.get()), "QLocalSocket::connectToServer: Invalid name");
    std::string absent = "/tmp/" + qt::unique_name("absent");
    CHECK_OK(qlocal_socket_connect_to_server(s.get(), absent.c_str()));
    CHECK_STREQ(qlocal_socket_error_string(s.get()), "QLocalSocket::connectToServer: Invalid name");
    std::string err;
    qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("texts"), err);
    CHECK_STREQ(err, "");
    CHECK_RC(qlocal_socket_wait_for_ready_read(p.client.get(), 1), QLOCAL_RESULT_TIMEOUT);
    CHECK_STREQ(qlocal_socket_error_string(p.client.get()), "QLocalSocket: Socket operation timed out");
    p.accepted.reset();
    CHECK_RC(qlocal_socket_wait_for_disconnected(p.client.get(), 2000), QLOCAL_RESULT_OK);
    CHECK_STREQ(qlocal_socket_error_string(p.client.get()), "QLocalSocket: Remote closed");
    auto second = qt::make_server(loop.get());
    CHECK_RC(qlocal_server_listen(second.get(), qlocal_server_full_server_name(p.server.get())),
             QLOCAL_RESULT_ADDRESS_IN_USE);
    CHECK_STREQ(qlocal_server_error_string(second.get()), "QLocalServer::listen: Address in use");
    CHECK_RC(qlocal_server_listen(second.get(), ""), QLOCAL_RESULT_INVALID_NAME);
    CHECK_STREQ(qlocal_server_error_string(second.get()), "QLocalServer::listen: Name error");
}
