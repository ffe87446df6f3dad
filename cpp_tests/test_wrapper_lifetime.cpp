// Lifetimes through the C++ wrapper: null objects, moves and release/adopt carrying handlers,
// objects destroyed inside their own handlers, and exceptions thrown by handlers. Shared
// helpers: wrapper_harness.hpp.
#include "wrapper_harness.hpp"

#include <algorithm>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using namespace wrapper_test;

// ---- null objects and failed creates --------------------------------------------------------------

QLOCAL_TEST(wrapper_null_socket_fails_cleanly_with_qt_defaults) {
    LocalSocket null;
    CHECK(!null);
    CHECK(null.raw() == nullptr);
    CHECK_R(null.write("x"), Result::NullArgument);
    CHECK_R(null.connectToServer("x"), Result::NullArgument);
    CHECK_R(null.waitForReadyRead(0), Result::NullArgument);
    CHECK_R(null.onReadyRead([] {}), Result::NullArgument);
    CHECK_ENUM(null.state(), LocalSocket::UnconnectedState);
    CHECK_EQ(null.bytesAvailable(), 0);
    CHECK_EQ(null.read(nullptr, 0), -1);
    CHECK_STREQ(null.readAll(), "");
    CHECK(!null.isValid());
}

QLOCAL_TEST(wrapper_failed_create_gives_the_error_and_a_null_object) {
    qlocal::EventLoop nullLoop;
    auto failed = LocalSocket::create(nullLoop);
    CHECK(!failed.ok());
    CHECK(!failed);
    CHECK_R(failed.error(), Result::NullArgument);
    CHECK(!failed.value());
    auto failedServer = LocalServer::create(nullLoop);
    CHECK_R(failedServer.error(), Result::NullArgument);
    CHECK(!failedServer.value().listen("x"));
}

// ---- moves and release/adopt --------------------------------------------------------------------

QLOCAL_TEST(wrapper_move_keeps_handlers) {
    WRAPPER_PAIR(loop, p, "wmove");
    // Handlers set before a move keep firing after it, and reach the moved-to object.
    LocalSocket *owner = &p.accepted;
    int fired = 0;
    std::string got;
    CHECK_OKW(p.accepted.onReadyRead([&] {
        ++fired;
        got += owner->readAll();
    }));
    qlocal_socket *raw = p.accepted.raw();
    LocalSocket moved(std::move(p.accepted));  // move construction
    owner = &moved;
    CHECK(!p.accepted);
    CHECK(p.accepted.raw() == nullptr);
    CHECK(moved.raw() == raw);
    CHECK_R(p.accepted.write("x"), Result::NullArgument);
    CHECK_OKW(p.client.write("one"));
    CHECK(runUntil(*loop, [&] { return got == "one"; }));

    LocalSocket assigned;
    assigned = std::move(moved);  // move assignment
    owner = &assigned;
    CHECK(!moved);
    CHECK(assigned.raw() == raw);
    // Into a vector that reallocates.
    std::vector<LocalSocket> many;
    many.push_back(std::move(assigned));
    for (int i = 0; i < 20; ++i) many.emplace_back();
    owner = &many.front();
    CHECK_OKW(p.client.write("two"));
    CHECK(runUntil(*loop, [&] { return got == "onetwo"; }));
    CHECK_EQ(fired, 2);
}

QLOCAL_TEST(wrapper_move_onto_a_live_socket_destroys_the_target) {
    WRAPPER_PAIR(loop, p, "wmove1");
    LocalSocket *owner = &p.accepted;
    std::string got;
    CHECK_OKW(p.accepted.onReadyRead([&] { got += owner->readAll(); }));
    // Moving a socket onto a live one destroys the target (its peer sees the disconnect).
    WPair q;
    CHECK_STREQ(connectPair(*loop, qt::unique_name("wmove2"), q), "");
    int qDisconnected = 0;
    CHECK_OKW(q.client.onDisconnected([&] { ++qDisconnected; }));
    q.accepted = std::move(p.accepted);
    owner = &q.accepted;
    CHECK(runUntil(*loop, [&] { return qDisconnected == 1; }));
    CHECK_OKW(p.client.write("three"));
    CHECK(runUntil(*loop, [&] { return got == "three"; }));
}

QLOCAL_TEST(wrapper_release_and_adopt_keep_handlers_until_one_is_set) {
    WRAPPER_PAIR(loop, p, "wadopt");
    qlocal_socket *raw = p.accepted.raw();
    int fired = 0;
    std::string got;
    LocalSocket *owner = &p.accepted;
    CHECK_OKW(p.accepted.onReadyRead([&] {
        ++fired;
        got += owner->readAll();
    }));
    // release() hands the handle over with its handlers; adopting it keeps them.
    auto token = std::make_shared<int>(1);
    std::weak_ptr<int> watch = token;
    int connectedSignals = 0;
    CHECK_OKW(p.accepted.onConnected([token, &connectedSignals] { ++connectedSignals; }));
    token.reset();
    qlocal_socket *handle = p.accepted.release();
    CHECK(!p.accepted);
    CHECK(handle == raw);
    LocalSocket adopted(handle);
    owner = &adopted;
    CHECK_OKW(p.client.write("four"));
    CHECK(runUntil(*loop, [&] { return got == "four"; }));
    CHECK(!watch.expired());
    // The first handler set on the adopting object replaces the block: the old handlers are
    // freed, and the new one is the only one that runs.
    int newHandler = 0;
    CHECK_OKW(adopted.onReadyRead([&] {
        ++newHandler;
        got += adopted.readAll();
    }));
    CHECK(watch.expired());
    CHECK_OKW(p.client.write("five"));
    CHECK(runUntil(*loop, [&] { return newHandler == 1; }));
    CHECK_STREQ(got, "fourfive");
    CHECK_EQ(fired, 1);
}

QLOCAL_TEST(wrapper_server_move_keeps_its_handler) {
    WRAPPER_PAIR(loop, p, "wmovesrv");
    // A handler set before the move fires on the moved-to object.
    int newConnections = 0;
    LocalServer server2;
    CHECK_OKW(p.server.onNewConnection([&] {
        ++newConnections;
        LocalSocket s = server2.nextPendingConnection();  // reaches the moved-to server
        if (s) ++newConnections;
    }));
    server2 = std::move(p.server);
    CHECK(!p.server);
    CHECK(!p.server.isListening());
    CHECK(server2.isListening());
    auto c3 = LocalSocket::create(*loop);
    CHECK_OKW(c3->connectToServer(server2.serverName()));
    CHECK(runUntil(*loop, [&] { return newConnections == 2; }));
}

QLOCAL_TEST(wrapper_loop_move_keeps_its_wake_up_handler_and_objects) {
    WRAPPER_PAIR(loop, p, "wmoveloop");
    int newHandler = 0;
    CHECK_OKW(p.accepted.onReadyRead([&] {
        ++newHandler;
        (void)p.accepted.readAll();
    }));
    int wakeUps = 0;
    CHECK_OKW(loop->onWakeUp([&] { ++wakeUps; }));
    qlocal::EventLoop loop2(std::move(*loop));
    CHECK(!*loop);
    CHECK(loop2);
    CHECK_R(loop->wakeUp(), Result::NullArgument);
    CHECK_R(loop->run(qlocal::RunMode::NoWait, 0), Result::NullArgument);
    CHECK_OKW(loop2.wakeUp());
    CHECK(runUntil(loop2, [&] { return wakeUps == 1; }));
    // Objects created on the old loop object still run on the same loop.
    CHECK_OKW(p.client.write("six"));
    CHECK(runUntil(loop2, [&] { return newHandler == 1; }));
}

// ---- destroying objects inside their own handlers ---------------------------------------------

QLOCAL_TEST(wrapper_socket_reset_inside_its_own_ready_read) {
    WRAPPER_PAIR(loop, p, "wdestroy");
    // The handler resets the LocalSocket that owns it. The handler (and what it captured)
    // stays alive until it returns, then is freed; no later signal of the socket runs.
    auto token = std::make_shared<int>(42);
    std::weak_ptr<int> watch = token;
    int calls = 0, later = 0;
    bool nullInside = false, capturesAliveInside = false;
    std::string readInside;
    CHECK_OKW(p.accepted.onReadyRead([&, token] {
        ++calls;
        readInside = p.accepted.readAll();
        p.accepted = LocalSocket();  // destroys the socket running this handler
        nullInside = !p.accepted;
        capturesAliveInside = *token == 42 && !watch.expired();
    }));
    CHECK_OKW(p.accepted.onDisconnected([&] { ++later; }));
    CHECK_OKW(p.accepted.onStateChanged([&](qlocal::LocalSocketState) { ++later; }));
    CHECK_OKW(p.accepted.onReadChannelFinished([&] { ++later; }));
    token.reset();
    CHECK(!watch.expired());  // held by the handler

    int clientDisconnected = 0;
    CHECK_OKW(p.client.onDisconnected([&] { ++clientDisconnected; }));
    CHECK_OKW(p.client.write("bye"));
    CHECK(runUntil(*loop, [&] { return calls == 1 && clientDisconnected == 1; }, 3000));
    CHECK(nullInside);
    CHECK(capturesAliveInside);
    CHECK_STREQ(readInside, "bye");
    CHECK(watch.expired());  // the handler was freed once the socket was gone
    spin(*loop, 50);
    CHECK_EQ(calls, 1);
    CHECK_EQ(later, 0);
    CHECK_ENUM(p.client.error(), LocalSocket::PeerClosedError);
}

QLOCAL_TEST(wrapper_connections_erase_themselves_on_disconnect) {
    WRAPPER_PAIR(loop, p, "werase");
    // Qt's common pattern: connections kept in a container erase themselves on disconnect
    // (the LocalSocket object itself is destroyed inside its handler).
    std::vector<std::unique_ptr<LocalSocket>> conns;
    std::string name = p.server.serverName();
    CHECK_OKW(p.server.onNewConnection([&] {
        while (LocalSocket s = p.server.nextPendingConnection()) {
            conns.push_back(std::make_unique<LocalSocket>(std::move(s)));
            LocalSocket *self = conns.back().get();
            (void)self->onDisconnected([&conns, self] {
                conns.erase(std::find_if(conns.begin(), conns.end(),
                                         [self](const std::unique_ptr<LocalSocket> &c) { return c.get() == self; }));
            });
        }
    }));
    std::vector<LocalSocket> clients;
    for (int i = 0; i < 4; ++i) {
        auto c = LocalSocket::create(*loop);
        CHECK(c.ok());
        CHECK_OKW(c->connectToServer(name));
        clients.push_back(std::move(c).value());
    }
    CHECK(runUntil(*loop, [&] { return conns.size() == 4; }));
    for (auto &c : clients) CHECK_OKW(c.disconnectFromServer());
    CHECK(runUntil(*loop, [&] { return conns.empty(); }));
}

QLOCAL_TEST(wrapper_readopt_inside_a_handler_keeps_the_running_handler_alive) {
    // Inside a handler, the handle is released and re-adopted and the new owner sets a handler:
    // the C object replaces (finalizes) the block that holds the running handler, which must
    // stay alive until it returns.
    WRAPPER_PAIR(loop, q, "wreadopt");
    LocalSocket holder;
    int oldCalls = 0, newCalls = 0;
    std::string oldSaw;
    CHECK_OKW(q.accepted.onReadyRead([&, tag = std::string("old handler")] {
        holder = LocalSocket(q.accepted.release());
        (void)holder.onReadyRead([&] {
            ++newCalls;
            (void)holder.readAll();
        });
        ++oldCalls;
        oldSaw = tag + ": " + holder.readAll();
    }));
    CHECK_OKW(q.client.write("x"));
    CHECK(runUntil(*loop, [&] { return oldCalls == 1; }));
    CHECK_STREQ(oldSaw, "old handler: x");
    CHECK_OKW(q.client.write("y"));
    CHECK(runUntil(*loop, [&] { return newCalls == 1; }));
    CHECK_EQ(oldCalls, 1);
}

QLOCAL_TEST(wrapper_server_reset_inside_its_own_new_connection) {
    WRAPPER_PAIR(loop, p, "wsrvreset");
    std::string name = p.server.serverName();
    int serverCalls = 0;
    CHECK_OKW(p.server.onNewConnection([&] {
        ++serverCalls;
        p.server.reset();
    }));
    auto late = LocalSocket::create(*loop);
    CHECK(late.ok());
    CHECK_OKW(late->connectToServer(name));
    auto late2 = LocalSocket::create(*loop);
    CHECK_OKW(late2->connectToServer(name));
    CHECK(runUntil(*loop, [&] { return serverCalls == 1; }));
    CHECK(!p.server);
    spin(*loop, 50);
    CHECK_EQ(serverCalls, 1);
}

// ---- exceptions thrown by handlers --------------------------------------------------------------

namespace {

std::vector<std::string> g_swallowed;

void recordException(std::exception_ptr e) noexcept {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception &x) {
        g_swallowed.push_back(x.what());
    } catch (...) {
        g_swallowed.push_back("non-std");
    }
}

}  // namespace

QLOCAL_TEST(wrapper_exceptions_do_not_escape) {
    qlocal::CallbackExceptionHandler previous = qlocal::setCallbackExceptionHandler(&recordException);
    uint64_t before = qlocal::callbackExceptionCount();
    WRAPPER_LISTENING(loop, server, name, "wthrow");

    // Each handler throws on its first call, after doing its work.
    std::vector<std::unique_ptr<LocalSocket>> conns;
    int echoes = 0;
    CHECK_OKW(server->onNewConnection([&] {
        while (LocalSocket s = server->nextPendingConnection()) {
            conns.push_back(std::make_unique<LocalSocket>(std::move(s)));
            LocalSocket *c = conns.back().get();
            (void)c->onReadyRead([c, &echoes] {
                (void)c->write(c->readAll());
                if (echoes++ == 0) throw std::runtime_error("ready read");
            });
        }
        throw std::logic_error("new connection");
    }));
    auto client = LocalSocket::create(*loop);
    int states = 0;
    std::string echoed;
    CHECK_OKW(client->onStateChanged([&](qlocal::LocalSocketState) {
        if (states++ == 0) throw 7;  // not a std::exception
    }));
    CHECK_OKW(client->onReadyRead([&] { echoed += client->readAll(); }));
    int wakeUps = 0;
    CHECK_OKW(loop->onWakeUp([&] {
        ++wakeUps;
        throw std::runtime_error("wake up");
    }));

    CHECK_OKW(client->connectToServer(name));
    CHECK(runUntil(*loop, [&] { return conns.size() == 1 && states == 2; }));
    CHECK_OKW(client->write("a"));
    CHECK(runUntil(*loop, [&] { return echoed == "a"; }));
    CHECK_OKW(loop->wakeUp());
    CHECK(runUntil(*loop, [&] { return wakeUps == 1; }));
    // A throw inside a wait call's callback: the wait returns normally.
    int bytesWrittenCalls = 0;
    CHECK_OKW(client->onBytesWritten([&](uint64_t) {
        if (bytesWrittenCalls++ == 0) throw std::runtime_error("bytes written");
    }));
    CHECK_OKW(client->write("b"));
    CHECK_OKW(client->waitForBytesWritten(2000));

    // The loop keeps working; every exception was counted and reported.
    CHECK(runUntil(*loop, [&] { return echoed == "ab"; }));
    CHECK_EQ(qlocal::callbackExceptionCount() - before, 5u);
    CHECK_EQ(g_swallowed.size(), 5u);
    std::vector<std::string> sorted = g_swallowed;
    std::sort(sorted.begin(), sorted.end());
    CHECK_STREQ(sorted[0], "bytes written");
    CHECK_STREQ(sorted[1], "new connection");
    CHECK_STREQ(sorted[2], "non-std");
    CHECK_STREQ(sorted[3], "ready read");
    CHECK_STREQ(sorted[4], "wake up");
    CHECK(qlocal::setCallbackExceptionHandler(previous) == &recordException);
}
