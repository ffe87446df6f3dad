// The wrapper's loop services, written the way Qt code uses QTimer, QTimer::singleShot,
// QMetaObject::invokeMethod (queued) and deleteLater().
#include "qlocal.hpp"

#include "harness.hpp"

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using qlocal::Result;

QLOCAL_TEST(wrapper_timer_repeats_and_single_shot) {
    auto loop = qlocal::EventLoop::create();
    CHECK(loop.ok());
    auto timer = qlocal::Timer::create(*loop);
    CHECK(timer.ok());
    int ticks = 0;
    timer->onTimeout([&] {
        if (++ticks == 3) timer->stop();
    });
    timer->start(5);
    CHECK(timer->isActive());
    CHECK_EQ(timer->interval(), 5);
    CHECK(qt::run_until(loop->raw(), [&] { return ticks == 3; }, 2000));
    CHECK(!timer->isActive());
    CHECK_EQ(timer->remainingTime(), -1);
    CHECK(!qt::run_until(loop->raw(), [&] { return ticks > 3; }, 50));
    // Single-shot, started again with the interval it has.
    timer->setSingleShot(true);
    CHECK(timer->isSingleShot());
    timer->setInterval(10);
    CHECK(timer->start() == Result::Ok);
    CHECK(qt::run_until(loop->raw(), [&] { return ticks == 4; }, 2000));
    CHECK(!qt::run_until(loop->raw(), [&] { return ticks > 4; }, 50));
    // Destroyed inside its own handler: no more timeouts.
    timer->setSingleShot(false);
    timer->onTimeout([&] {
        ++ticks;
        timer->reset();
    });
    timer->start(1);
    CHECK(qt::run_until(loop->raw(), [&] { return ticks == 5; }, 2000));
    CHECK(!*timer);
    CHECK(!qt::run_until(loop->raw(), [&] { return ticks > 5; }, 50));
}

QLOCAL_TEST(wrapper_single_shot_and_post) {
    auto loop = qlocal::EventLoop::create();
    CHECK(loop.ok());
    std::vector<std::string> order;
    double start = qt::now_ms();
    double fired_at = 0;
    CHECK(qlocal::Timer::singleShot(*loop, 30, [&] {
        order.push_back("timer");
        fired_at = qt::now_ms();
    }) == Result::Ok);
    CHECK(loop->post([&] { order.push_back("post 1"); }) == Result::Ok);
    CHECK(loop->post([&] { order.push_back("post 2"); }) == Result::Ok);
    CHECK(order.empty());  // never inside the call
    // From another thread, in order, onto the loop's thread.
    std::thread::id loop_thread = std::this_thread::get_id();
    std::atomic<int> on_loop{0}, elsewhere{0};
    std::thread producer([&] {
        for (int i = 0; i < 100; ++i)
            (void)loop->post([&, i] {
                if (std::this_thread::get_id() == loop_thread && on_loop.load() == i)
                    on_loop++;
                else
                    elsewhere++;
            });
    });
    producer.join();
    CHECK(qt::run_until(loop->raw(), [&] { return order.size() == 3 && on_loop == 100; }, 3000));
    CHECK_EQ(elsewhere.load(), 0);
    // Posts run in the order posted. The timer fires no earlier than its 30 ms; whether that
    // is before or after the posts depends on how long the producer thread took to start (a
    // timer that is due runs ahead of posts in the same turn), so that order is not asserted.
    std::vector<std::string> posts;
    for (const auto &o : order)
        if (o != "timer") posts.push_back(o);
    CHECK_EQ(posts.size(), 2u);
    CHECK_STREQ(posts[0], "post 1");
    CHECK_STREQ(posts[1], "post 2");
    CHECK(fired_at - start >= 29);
    // An exception in a posted call is caught and counted; the loop goes on.
    uint64_t before = qlocal::callbackExceptionCount();
    (void)loop->post([] { throw std::runtime_error("posted"); });
    bool after = false;
    (void)loop->post([&] { after = true; });
    CHECK(qt::run_until(loop->raw(), [&] { return after; }, 2000));
    CHECK_EQ(qlocal::callbackExceptionCount(), before + 1);
    CHECK(loop->post(nullptr) == Result::NullArgument);
    // Calls never run (a single-shot still pending, a post) are freed with the loop.
    auto owned = std::make_shared<int>(7);
    std::weak_ptr<int> watch = owned;
    CHECK(qlocal::Timer::singleShot(*loop, 60000, [owned] { (void)owned; }) == Result::Ok);
    CHECK(loop->post([owned] { (void)owned; }) == Result::Ok);
    owned.reset();
    CHECK(!watch.expired());
    loop->reset();
    CHECK(watch.expired());
}

QLOCAL_TEST(wrapper_delete_later_inside_a_handler) {
    auto loop = qlocal::EventLoop::create();
    CHECK(loop.ok());
    auto server = qlocal::LocalServer::create(*loop);
    CHECK(server.ok());
    std::string name = qt::unique_name("wdl");
    CHECK(server->listen(name));
    std::unique_ptr<qlocal::LocalSocket> accepted;
    bool read = false;
    server->onNewConnection([&] {
        accepted = std::make_unique<qlocal::LocalSocket>(server->nextPendingConnection());
        qlocal::LocalSocket *a = accepted.get();
        a->onReadyRead([a, &read] {
            read = a->readAll() == "bye";
            a->deleteLater();  // Qt's idiom: the object goes from the loop's next turn
            CHECK(!*a);
        });
    });
    auto client = qlocal::LocalSocket::create(*loop);
    CHECK(client.ok());
    client->connectToServer(name);
    CHECK(client->waitForConnected(1000));
    CHECK(client->write("bye") == Result::Ok);
    CHECK(qt::run_until(loop->raw(), [&] { return read; }, 2000));
    CHECK(qt::run_until(loop->raw(), [&] { return client->state() == qlocal::LocalSocket::UnconnectedState; }, 2000));
    server->deleteLater();
    CHECK(!*server);
    CHECK(loop->processEvents() == Result::Ok);
}

QLOCAL_TEST(wrapper_iodevice_calls_read_like_qt) {
    auto loop = qlocal::EventLoop::create();
    CHECK(loop.ok());
    auto server = qlocal::LocalServer::create(*loop);
    CHECK(server.ok());
    std::string name = qt::unique_name("wio");
    CHECK(server->listen(name));
    auto client = qlocal::LocalSocket::create(*loop);
    CHECK(client.ok());
    CHECK(!client->isOpen());
    client->connectToServer(name);
    CHECK(client->waitForConnected(1000));
    CHECK(client->isOpen() && client->isReadable() && client->isWritable());
    CHECK_EQ(client->openMode(), 3);
    CHECK(server->waitForNewConnection(1000));
    qlocal::LocalSocket peer = server->nextPendingConnection();
    CHECK(peer.putChar('o') && peer.putChar('k'));
    CHECK(client->waitForReadyRead(1000) || client->bytesAvailable() > 0);
    CHECK(qt::run_until(loop->raw(), [&] { return client->bytesAvailable() == 2; }, 2000));
    client->startTransaction();
    char c = 0;
    CHECK(client->getChar(&c) && c == 'o');
    CHECK(client->isTransactionStarted());
    client->rollbackTransaction();
    CHECK(client->getChar(&c) && c == 'o');
    client->ungetChar('O');
    CHECK(client->readAll() == "Ok");
    CHECK(!client->getChar(&c));
    CHECK(!client->atEnd());
    // Qt's setServerName + open(mode).
    auto reader = qlocal::LocalSocket::create(*loop);
    CHECK(reader.ok());
    reader->setServerName(name);
    CHECK(reader->open(qlocal::LocalSocket::ReadOnly));
    CHECK_EQ(reader->openMode(), qlocal::LocalSocket::ReadOnly);
    CHECK(reader->write("x") == Result::WrongState);
    auto nowhere = qlocal::LocalSocket::create(*loop);
    CHECK(nowhere.ok());
    nowhere->setServerName(qt::unique_name("nobody"));
    CHECK(!nowhere->open());
    int closing = 0;
    client->onAboutToClose([&] { ++closing; });
    client->close();
    CHECK(!client->isOpen());
    CHECK(qt::run_until(loop->raw(), [&] { return closing == 1; }, 2000));
    CHECK(client->atEnd());
}
