// qlocal::EventLoop through the C++ wrapper: the embedding queries, stop/wakeUp from another
// thread, exec's timeout and quit, polling it from another loop, release/adopt, and destroying
// it inside its own callback. Shared helpers: wrapper_harness.hpp.
#include "wrapper_harness.hpp"

#include <atomic>
#ifndef _WIN32
#include <poll.h>
#endif
#include <string>
#include <thread>

using namespace wrapper_test;

namespace {

// A loop taken out of its Expected, as an application holds one.
qlocal::EventLoop newLoop() {
    auto created = qlocal::EventLoop::create();
    return created.ok() ? std::move(created).value() : qlocal::EventLoop();
}

}  // namespace

QLOCAL_TEST(wrapper_loop_embedding_queries_on_an_idle_loop) {
    auto created = qlocal::EventLoop::create();
    CHECK(created.ok());
    qlocal::EventLoop loop = std::move(created).value();
    CHECK(loop);
    CHECK(loop.isOwnerThread());
    qlocal_descriptor fd = -1;
    // Windows (README): an event HANDLE, never 0 or -1.
    CHECK(loop.fd() != -1 && loop.fd() != 0);
    CHECK_OKW(loop.fd(fd));
    CHECK_EQ(fd, loop.fd());
    CHECK_EQ(loop.timeoutMs(), -1);  // nothing to do
    int t = 5;
    CHECK_OKW(loop.timeoutMs(t));
    CHECK_EQ(t, -1);
    CHECK_OKW(loop.processEvents());
}

QLOCAL_TEST(wrapper_loop_stop_and_wake_up_from_another_thread) {
    qlocal::EventLoop loop = newLoop();
    CHECK(loop);
    std::atomic<int> wakeUps{0};
    Result nested = Result::Panic;
    CHECK_OKW(loop.onWakeUp([&] {
        wakeUps++;
        nested = loop.processEvents();  // not re-entrant
    }));
    std::thread other([&] {
        (void)loop.wakeUp();
        (void)loop.stop();
    });
    double t0 = qt::now_ms();
    CHECK_OKW(loop.exec(10000));
    other.join();
    CHECK(runUntil(loop, [&] { return wakeUps.load() >= 1; }, 2000));
    CHECK(qt::now_ms() - t0 < 5000);
    CHECK_R(nested, Result::WrongState);
}

QLOCAL_TEST(wrapper_exec_ends_at_its_timeout_or_at_once_after_quit) {
    qlocal::EventLoop loop = newLoop();
    CHECK(loop);
    double t0 = qt::now_ms();
    CHECK_R(loop.exec(60), Result::Timeout);
    CHECK(qt::now_ms() - t0 >= 55);
    CHECK_OKW(loop.quit());
    t0 = qt::now_ms();
    CHECK_OKW(loop.exec(10000));
    CHECK(qt::now_ms() - t0 < 1000);
}

QLOCAL_TEST_POSIX(wrapper_loop_embedded_in_a_poll_loop, QT_WHY_LOOP_FD)
#ifndef _WIN32
{
    qlocal::EventLoop loop = newLoop();
    CHECK(loop);
    // Poll-style use of fd()/timeoutMs()/processEvents().
    auto server = LocalServer::create(loop);
    std::string name = qt::unique_name("wembed");
    CHECK(server->listen(name));
    int accepted = 0;
    CHECK_OKW(server->onNewConnection([&] {
        while (LocalSocket s = server->nextPendingConnection()) ++accepted;
    }));
    auto client = LocalSocket::create(loop);
    bool connected = false;
    CHECK_OKW(client->onConnected([&] { connected = true; }));
    CHECK_OKW(client->connectToServer(name));
    double deadline = qt::now_ms() + 3000;
    while ((accepted == 0 || !connected) && qt::now_ms() < deadline) {
        int timeout = loop.timeoutMs();
        pollfd pfd{static_cast<int>(loop.fd()), POLLIN, 0};
        (void)poll(&pfd, 1, timeout < 0 || timeout > 100 ? 100 : timeout);
        CHECK_OKW(loop.processEvents());
    }
    CHECK_EQ(accepted, 1);
    CHECK(connected);
}
#endif

QLOCAL_TEST(wrapper_loop_release_and_adopt) {
    qlocal::EventLoop loop = newLoop();
    CHECK(loop);
    CHECK_OKW(loop.onWakeUp([] {}));
    CHECK_OKW(loop.onWakeUp(nullptr));
    qlocal_loop *raw = loop.release();
    CHECK(!loop);
    CHECK_EQ(loop.fd(), -1);
    CHECK_EQ(loop.timeoutMs(), 0);
    CHECK(!loop.isOwnerThread());
    qlocal::EventLoop adopted(raw);
    CHECK(adopted.raw() == raw);
    CHECK_OKW(adopted.processEvents());
}

QLOCAL_TEST(wrapper_event_loop_reset_inside_its_wake_up_handler) {
    auto created = qlocal::EventLoop::create();
    CHECK(created.ok());
    qlocal::EventLoop loop = std::move(created.value());
    int calls = 0;
    CHECK(loop.onWakeUp([&] {
        ++calls;
        loop.reset();  // destroys the loop inside its own callback
    }) == qlocal::Result::Ok);
    CHECK(loop.wakeUp() == qlocal::Result::Ok);
    qlocal_loop *raw = loop.raw();
    // exec() returns after the handler; the loop is gone and the object is null.
    CHECK(qlocal_loop_run(raw, QLOCAL_RUN_MODE_DEFAULT, 5000) == QLOCAL_RESULT_OK);
    CHECK_EQ(calls, 1);
    CHECK(!loop);
}
