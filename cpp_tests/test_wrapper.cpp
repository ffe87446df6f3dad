// The C++ wrapper (include/qlocal.hpp): echo through Qt-style handlers, ownership of accepted
// connections, destroying objects inside their own handlers, moves, errors, exceptions thrown
// by handlers, and the original benchmark flow (pingPong, dataExchange) written against it.
#include "qlocal.hpp"

#include "harness.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <functional>
#include <future>
#include <memory>
#include <poll.h>
#include <unistd.h>
#include <sys/socket.h>
#include <stdexcept>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <vector>

namespace {

using qlocal::LocalServer;
using qlocal::LocalSocket;
using qlocal::Result;

std::string rname(Result r) {
    return std::to_string(static_cast<int>(r)) + " (" + qlocal::resultString(r) + ")";
}

// Runs `loop` one batch at a time until `done()` or `timeoutMs`; false on timeout or error.
bool runUntil(qlocal::EventLoop &loop, const std::function<bool()> &done, int timeoutMs = 10000) {
    double deadline = qt::now_ms() + timeoutMs;
    while (!done()) {
        int left = static_cast<int>(deadline - qt::now_ms());
        if (left <= 0) return false;
        Result r = loop.run(qlocal::RunMode::Once, left);
        if (r != Result::Ok && r != Result::Timeout) {
            std::fprintf(stderr, "EventLoop::run: %s\n", rname(r).c_str());
            return false;
        }
    }
    return true;
}

// Runs `loop` for `ms` milliseconds whatever happens (to show that nothing more does).
void spin(qlocal::EventLoop &loop, int ms) {
    double deadline = qt::now_ms() + ms;
    for (int left = ms; left > 0; left = static_cast<int>(deadline - qt::now_ms()))
        (void)loop.run(qlocal::RunMode::Once, left);
}

// A listening server with a connected client and the accepted end, all on one loop.
struct WPair {
    LocalServer server;
    LocalSocket client;
    LocalSocket accepted;
};

std::string connectPair(qlocal::EventLoop &loop, const std::string &name, WPair &p) {
    auto server = LocalServer::create(loop);
    auto client = LocalSocket::create(loop);
    if (!server || !client) return "create failed";
    p.server = std::move(server).value();
    p.client = std::move(client).value();
    if (qlocal::Outcome o = p.server.listen(name); !o) return "listen: " + rname(o);
    Result r = p.client.connectToServer(name);
    if (r == Result::Ok) r = p.client.waitForConnected(5000);
    if (r == Result::Ok) r = p.server.waitForNewConnection(5000);
    if (r != Result::Ok) return "connect: " + rname(r);
    p.accepted = p.server.nextPendingConnection();
    if (!p.accepted) return "nextPendingConnection gave nothing";
    return "";
}

std::string stateName(qlocal::LocalSocketState s) { return std::to_string(static_cast<int>(s)); }
std::string errorName(qlocal::LocalSocketError e) { return std::to_string(static_cast<int>(e)); }

// Records every signal of a socket, as "state:2", "connected", "ready_read", "error:1",
// "read_channel_finished", "disconnected", "bytes_written:N".
struct Signals {
    std::vector<std::string> events;
    Result attach(LocalSocket &s) {
        Result r = Result::Ok;
        auto keep = [&r](Result x) {
            if (r == Result::Ok) r = x;
        };
        keep(s.onConnected([this] { events.push_back("connected"); }));
        keep(s.onDisconnected([this] { events.push_back("disconnected"); }));
        keep(s.onReadyRead([this] { events.push_back("ready_read"); }));
        keep(s.onReadChannelFinished([this] { events.push_back("read_channel_finished"); }));
        keep(s.onErrorOccurred([this](qlocal::LocalSocketError e) { events.push_back("error:" + errorName(e)); }));
        keep(s.onStateChanged([this](qlocal::LocalSocketState st) { events.push_back("state:" + stateName(st)); }));
        keep(s.onBytesWritten([this](uint64_t n) { events.push_back("bytes_written:" + std::to_string(n)); }));
        return r;
    }
    std::string joined() const {
        std::string out;
        for (const auto &e : events) out += (out.empty() ? "" : ",") + e;
        return out;
    }
    size_t count(const std::string &e) const { return static_cast<size_t>(std::count(events.begin(), events.end(), e)); }
};

}  // namespace

// Compares Results (an Outcome converts), printing both names on mismatch.
#define CHECK_R(expr, expected)                                                                   \
    do {                                                                                          \
        Result w_r_ = (expr);                                                                     \
        Result w_e_ = (expected);                                                                 \
        if (w_r_ != w_e_) {                                                                       \
            qt::fail(__FILE__, __LINE__, #expr " returned " + rname(w_r_) + ", expected " + rname(w_e_)); \
            return;                                                                               \
        }                                                                                         \
    } while (0)

#define CHECK_OKW(expr) CHECK_R(expr, Result::Ok)

// Compares two values of an enum (or anything static_cast-able to long long).
#define CHECK_ENUM(a, b) CHECK_EQ(static_cast<long long>(a), static_cast<long long>(b))

// ---- echo ------------------------------------------------------------------------------------

QLOCAL_TEST(wrapper_echo) {
    auto loop = qlocal::EventLoop::create();
    CHECK(loop.ok());
    auto server = LocalServer::create(*loop);
    CHECK(server.ok());
    std::string name = qt::unique_name("wecho");
    CHECK(server->listen(name));
    CHECK(server->isListening());
    CHECK_STREQ(server->serverName(), name);

    // The Qt echo server, written with the wrapper: accepted sockets are owned by the vector.
    std::vector<std::unique_ptr<LocalSocket>> connections;
    CHECK_OKW(server->onNewConnection([&] {
        while (LocalSocket s = server->nextPendingConnection()) {
            auto c = std::make_unique<LocalSocket>(std::move(s));
            LocalSocket *p = c.get();
            (void)p->onReadyRead([p] { (void)p->write(p->readAll()); });
            connections.push_back(std::move(c));
        }
    }));

    auto client = LocalSocket::create(*loop);
    CHECK(client.ok());
    bool connected = false;
    std::string echoed;
    CHECK_OKW(client->onConnected([&] { connected = true; }));
    CHECK_OKW(client->onReadyRead([&] { echoed += client->readAll(); }));
    CHECK_OKW(client->connectToServer(name));
    // As in Qt on Linux, the state is decided before connectToServer returns; the signal
    // comes from the loop.
    CHECK_ENUM(client->state(), LocalSocket::ConnectedState);
    CHECK(!connected);
    CHECK(runUntil(*loop, [&] { return connected && connections.size() == 1; }));
    CHECK_STREQ(client->fullServerName(), server->fullServerName());

    const std::string binary("\0\xff\n", 3);
    CHECK_OKW(client->write("hello, "));
    CHECK_OKW(client->write(std::string("world")));
    CHECK_OKW(client->write(binary.data(), binary.size()));
    CHECK(runUntil(*loop, [&] { return echoed.size() >= 15; }));
    CHECK_STREQ(echoed, "hello, world" + binary);

    // A second client is echoed independently.
    auto second = LocalSocket::create(*loop);
    CHECK(second.ok());
    std::string echoed2;
    CHECK_OKW(second->onReadyRead([&] { echoed2 += second->readAll(); }));
    CHECK_OKW(second->connectToServer(name));
    CHECK_OKW(second->write("two"));
    CHECK(runUntil(*loop, [&] { return echoed2 == "two"; }));
    CHECK_EQ(connections.size(), 2u);
    CHECK_STREQ(echoed, "hello, world" + binary);
}

// ---- ownership of accepted connections --------------------------------------------------------

QLOCAL_TEST(wrapper_next_pending_connection_ownership) {
    auto loop = qlocal::EventLoop::create();
    CHECK(loop.ok());
    auto server = LocalServer::create(*loop);
    CHECK(server.ok());
    std::string name = qt::unique_name("wown");
    CHECK(server->listen(name));
    CHECK(!server->hasPendingConnections());
    CHECK(!server->nextPendingConnection());  // none pending: a null socket

    struct Client {
        LocalSocket socket;
        int disconnected = 0;
        std::vector<qlocal::LocalSocketError> errors;
    };
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < 5; ++i) {
        auto c = std::make_unique<Client>();
        auto s = LocalSocket::create(*loop);
        CHECK(s.ok());
        c->socket = std::move(s).value();
        Client *p = c.get();
        CHECK_OKW(c->socket.onDisconnected([p] { p->disconnected++; }));
        CHECK_OKW(c->socket.onErrorOccurred([p](qlocal::LocalSocketError e) { p->errors.push_back(e); }));
        CHECK_OKW(c->socket.connectToServer(name));
        clients.push_back(std::move(c));
    }
    CHECK(server->waitForNewConnection(2000));
    CHECK(runUntil(*loop, [&] {
        (void)server->waitForNewConnection(0);  // accepts what is queued
        return server->hasPendingConnections();
    }));
    {
        // Take three; they are destroyed by RAII at the end of this scope.
        std::vector<LocalSocket> taken;
        CHECK(runUntil(*loop, [&] {
            while (taken.size() < 3) {
                LocalSocket s = server->nextPendingConnection();
                if (!s) break;  // the loop accepts the next ones
                taken.push_back(std::move(s));
            }
            return taken.size() == 3;
        }));
        for (const LocalSocket &s : taken) {
            CHECK(s);
            CHECK_ENUM(s.state(), LocalSocket::ConnectedState);
            CHECK(s.socketDescriptor() >= 0);
        }
    }
    // The peers of the three destroyed sockets see the connection end (PeerClosedError, then
    // disconnected); the two untaken ones stay connected.
    CHECK(runUntil(*loop, [&] {
        int n = 0;
        for (auto &c : clients) n += c->disconnected;
        return n == 3;
    }));
    int closedPeers = 0;
    for (auto &c : clients) {
        if (c->disconnected == 0) {
            CHECK_ENUM(c->socket.state(), LocalSocket::ConnectedState);
            continue;
        }
        ++closedPeers;
        CHECK_EQ(c->disconnected, 1);
        CHECK_EQ(c->errors.size(), 1u);
        CHECK_ENUM(c->errors[0], LocalSocket::PeerClosedError);
        CHECK_ENUM(c->socket.error(), LocalSocket::PeerClosedError);
        CHECK_ENUM(c->socket.state(), LocalSocket::UnconnectedState);
    }
    CHECK_EQ(closedPeers, 3);

    // A taken socket outlives the server object; untaken ones close with it.
    CHECK(runUntil(*loop, [&] {
        (void)server->waitForNewConnection(0);
        return server->hasPendingConnections();
    }));
    LocalSocket kept = server->nextPendingConnection();
    CHECK(kept);
    server->reset();
    CHECK(!*server);
    CHECK(!server->isListening());
    CHECK(runUntil(*loop, [&] {
        int n = 0;
        for (auto &c : clients) n += c->disconnected;
        return n == 4;
    }));
    Client *survivor = nullptr;
    for (auto &c : clients)
        if (c->disconnected == 0) survivor = c.get();
    CHECK(survivor != nullptr);
    CHECK_OKW(kept.write("still here"));
    CHECK_OKW(survivor->socket.waitForReadyRead(2000));
    CHECK_STREQ(survivor->socket.readAll(), "still here");
    // And its destruction is seen by the last client.
    kept = LocalSocket();
    CHECK(runUntil(*loop, [&] { return survivor->disconnected == 1; }));
}

// ---- destroying objects inside their own handlers ---------------------------------------------

QLOCAL_TEST(wrapper_destroy_socket_inside_own_ready_read) {
    auto loop = qlocal::EventLoop::create();
    CHECK(loop.ok());
    WPair p;
    CHECK_STREQ(connectPair(*loop, qt::unique_name("wdestroy"), p), "");

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

    // Inside a handler, the handle is released and re-adopted and the new owner sets a handler:
    // the C object replaces (finalizes) the block that holds the running handler, which must
    // stay alive until it returns.
    WPair q;
    CHECK_STREQ(connectPair(*loop, qt::unique_name("wreadopt"), q), "");
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

    // A server destroyed inside its own onNewConnection handler.
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

// ---- moves --------------------------------------------------------------------------------------

QLOCAL_TEST(wrapper_move_semantics) {
    auto loop = qlocal::EventLoop::create();
    CHECK(loop.ok());
    WPair p;
    CHECK_STREQ(connectPair(*loop, qt::unique_name("wmove"), p), "");

    // A null (default-constructed) socket: every call fails cleanly or gives Qt's default.
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

    // Moving a socket onto a live one destroys the target (its peer sees the disconnect).
    WPair q;
    CHECK_STREQ(connectPair(*loop, qt::unique_name("wmove2"), q), "");
    int qDisconnected = 0;
    CHECK_OKW(q.client.onDisconnected([&] { ++qDisconnected; }));
    q.accepted = std::move(many.front());
    owner = &q.accepted;
    CHECK(runUntil(*loop, [&] { return qDisconnected == 1; }));
    CHECK_OKW(p.client.write("three"));
    CHECK(runUntil(*loop, [&] { return got == "onetwothree"; }));

    // release() hands the handle over with its handlers; adopting it keeps them.
    auto token = std::make_shared<int>(1);
    std::weak_ptr<int> watch = token;
    int connectedSignals = 0;
    CHECK_OKW(q.accepted.onConnected([token, &connectedSignals] { ++connectedSignals; }));
    token.reset();
    qlocal_socket *handle = q.accepted.release();
    CHECK(!q.accepted);
    CHECK(handle == raw);
    LocalSocket adopted(handle);
    owner = &adopted;
    CHECK_OKW(p.client.write("four"));
    CHECK(runUntil(*loop, [&] { return got == "onetwothreefour"; }));
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
    CHECK_STREQ(got, "onetwothreefourfive");
    CHECK_EQ(fired, 4);

    // Servers: a handler set before the move fires on the moved-to object.
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

    // Loops: the wake-up handler follows the move.
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
    CHECK(runUntil(loop2, [&] { return newHandler == 2; }));

    // A failed create: the error, and a null object behind value().
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

// ---- errors -------------------------------------------------------------------------------------

QLOCAL_TEST(wrapper_errors) {
    auto loop = qlocal::EventLoop::create();
    CHECK(loop.ok());

    // Connecting to a name nobody listens on.
    auto client = LocalSocket::create(*loop);
    CHECK(client.ok());
    Signals sig;
    CHECK_OKW(sig.attach(*client));
    std::string missing = qt::unique_name("wmissing");
    CHECK_OKW(client->connectToServer(missing));
    CHECK_ENUM(client->state(), LocalSocket::UnconnectedState);
    qlocal::Outcome o = client->waitForConnected(30000);
    CHECK(!o);
    CHECK_R(o, Result::ServerNotFound);
    CHECK_R(o.result(), Result::ServerNotFound);
    CHECK_STREQ(o.toString(), qlocal_result_string(QLOCAL_RESULT_SERVER_NOT_FOUND));
    CHECK_ENUM(client->error(), LocalSocket::ServerNotFoundError);
    CHECK_ENUM(client->error(), qlocal::LocalSocketError::ServerNotFoundError);
    CHECK(!client->errorString().empty());
    CHECK_STREQ(sig.joined(), "state:2,error:2,state:0");
    switch (client->waitForConnected(0)) {  // an Outcome switches like a Result
    case Result::ServerNotFound:  // a failed connect's result is repeated
        break;
    default:
        qt::fail(__FILE__, __LINE__, "waitForConnected after a failed connect should repeat ServerNotFound");
        return;
    }

    // Listening twice on one name.
    auto first = LocalServer::create(*loop);
    auto second = LocalServer::create(*loop);
    CHECK(first.ok() && second.ok());
    std::string name = qt::unique_name("wtwice");
    CHECK(first->listen(name));
    CHECK_ENUM(first->serverError(), qlocal::LocalSocketError::UnknownSocketError);
    CHECK_STREQ(first->errorString(), "");
    qlocal::Outcome again = second->listen(name);
    CHECK(!again);
    CHECK_R(again, Result::AddressInUse);
    CHECK_ENUM(second->serverError(), qlocal::LocalSocketError::AddressInUseError);
    CHECK(!second->errorString().empty());
    CHECK(!second->isListening());
    CHECK_R(first->listen(name), Result::WrongState);  // already listening
    CHECK_R(second->listen(""), Result::InvalidName);
    CHECK_R(second->listen(std::string(200, 'n')), Result::NameTooLong);

    // Timeouts are told apart from failures.
    bool timedOut = false;
    CHECK_R(first->waitForNewConnection(10, &timedOut), Result::Timeout);
    CHECK(timedOut);
    WPair p;
    CHECK_STREQ(connectPair(*loop, qt::unique_name("wtimeout"), p), "");
    CHECK_R(p.client.waitForReadyRead(30), Result::Timeout);
    CHECK_ENUM(p.client.error(), LocalSocket::SocketTimeoutError);
    CHECK_ENUM(p.client.state(), LocalSocket::ConnectedState);  // as Qt: still connected
    CHECK_R(p.client.waitForDisconnected(20), Result::Timeout);
    CHECK_R(p.client.waitForBytesWritten(0), Result::WrongState);  // nothing queued

    // Misuse.
    auto unconnected = LocalSocket::create(*loop);
    CHECK_R(unconnected->write("x"), Result::WrongState);
    CHECK_R(unconnected->waitForReadyRead(0), Result::WrongState);
    CHECK_R(unconnected->setReadBufferSize(-1), Result::InvalidArgument);
    CHECK_R(unconnected->setConnectTimeout(-1), Result::InvalidArgument);
    CHECK_R(unconnected->connectToServer(""), Result::InvalidName);
    CHECK_R(unconnected->write(static_cast<const char *>(nullptr)), Result::NullArgument);
    CHECK_R(first->setMaxPendingConnections(-1), Result::InvalidArgument);
    CHECK_R(first->setListenBacklogSize(-1), Result::InvalidArgument);
    CHECK_R(second->setSocketOptions(LocalServer::SocketOptions::fromInt(0x100)), Result::InvalidArgument);
    char small[1];
    size_t n = 99;
    CHECK_R(p.client.readLine(small, sizeof small, n), Result::InvalidArgument);
    CHECK_EQ(n, 99u);  // outputs are written only on success
    CHECK_EQ(p.client.readLine(small, sizeof small), -1);

    // The wrong thread: refused, nothing changes.
    std::vector<Result> got;
    bool ownerThere = true;
    std::thread other([&] {
        got.push_back(p.client.write("x"));
        got.push_back(p.client.abort());
        got.push_back(p.client.onReadyRead([] {}));
        got.push_back(p.server.close());
        got.push_back(p.server.onNewConnection([] {}));
        got.push_back(loop->run(qlocal::RunMode::NoWait, 0));
        got.push_back(loop->onWakeUp([] {}));
        auto s = LocalSocket::create(*loop);
        got.push_back(s.error());
        ownerThere = loop->isOwnerThread();
    });
    other.join();
    CHECK_EQ(got.size(), 8u);
    for (Result r : got) CHECK_R(r, Result::WrongThread);
    CHECK(!ownerThere);
    CHECK(loop->isOwnerThread());
    CHECK_ENUM(p.client.state(), LocalSocket::ConnectedState);
    CHECK(p.server.isListening());

    // Result texts and values mirror qlocal.h.
    CHECK_STREQ(qlocal::resultString(Result::Ok), qlocal_result_string(QLOCAL_RESULT_OK));
    CHECK_STREQ(qlocal::resultString(static_cast<Result>(123456)), "unknown result code");
    CHECK_EQ(static_cast<int>(Result::SystemError), QLOCAL_RESULT_SYSTEM_ERROR);
    CHECK_EQ(static_cast<int>(Result::NotASocket), QLOCAL_RESULT_NOT_A_SOCKET);
    CHECK_EQ(static_cast<int>(Result::AddressInUse), 100);
    CHECK_EQ(static_cast<int>(LocalSocket::UnknownSocketError), -1);
    CHECK_EQ(static_cast<int>(LocalSocket::ClosingState), 6);
    CHECK_STREQ(qlocal::version(), qlocal_version_string());
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
    auto loop = qlocal::EventLoop::create();
    CHECK(loop.ok());
    auto server = LocalServer::create(*loop);
    std::string name = qt::unique_name("wthrow");
    CHECK(server->listen(name));

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

// ---- signals ------------------------------------------------------------------------------------

QLOCAL_TEST(wrapper_signals) {
    auto loop = qlocal::EventLoop::create();
    CHECK(loop.ok());
    auto server = LocalServer::create(*loop);
    std::string name = qt::unique_name("wsig");
    CHECK(server->listen(name));
    auto client = LocalSocket::create(*loop);
    Signals sig;
    CHECK_OKW(sig.attach(*client));
    CHECK_OKW(client->connectToServer(name));
    CHECK_STREQ(sig.joined(), "");  // never inside the call that caused them
    CHECK(runUntil(*loop, [&] { return sig.count("connected") == 1; }));
    CHECK_STREQ(sig.joined(), "state:2,state:3,connected");
    CHECK_OKW(server->waitForNewConnection(2000));
    LocalSocket accepted = server->nextPendingConnection();
    CHECK(accepted);

    // Replacing a handler inside itself: the new one takes over for the next batch.
    int first = 0, second = 0;
    std::string firstGot;
    CHECK_OKW(accepted.onReadyRead([&, tag = std::string("first handler's own copy")] {
        (void)accepted.onReadyRead([&] {
            ++second;
            (void)accepted.readAll();
        });
        // Still running after its replacement: its captures must still be alive.
        ++first;
        firstGot = tag + ": " + accepted.readAll();
    }));
    sig.events.clear();
    CHECK_OKW(client->write("hello"));
    CHECK_OKW(client->waitForBytesWritten(1000));
    CHECK_STREQ(sig.joined(), "bytes_written:5");
    CHECK(runUntil(*loop, [&] { return first == 1; }));
    CHECK_OKW(client->write("more"));
    CHECK(runUntil(*loop, [&] { return second == 1; }));
    CHECK_EQ(first, 1);
    CHECK_STREQ(firstGot, "first handler's own copy: hello");
    // An empty function removes a handler.
    CHECK_OKW(accepted.onReadyRead(nullptr));
    CHECK_OKW(client->write("ignored"));
    CHECK(runUntil(*loop, [&] { return accepted.bytesAvailable() == 7; }));
    CHECK_EQ(second, 1);

    // Peer close, in Qt's order; the last bytes are still readable after disconnected.
    CHECK_OKW(client->onBytesWritten(nullptr));  // removed: the order below is the close's alone
    sig.events.clear();
    size_t availableInDisconnected = 0;
    CHECK_OKW(client->onDisconnected([&] {
        sig.events.push_back("disconnected");
        availableInDisconnected = static_cast<size_t>(client->bytesAvailable());
    }));
    CHECK_OKW(accepted.write("last words"));
    CHECK_OKW(accepted.disconnectFromServer());
    CHECK(runUntil(*loop, [&] { return sig.count("disconnected") == 1; }));
    CHECK_STREQ(sig.joined(), "ready_read,error:1,state:6,state:0,read_channel_finished,disconnected");
    CHECK_EQ(availableInDisconnected, 10u);
    CHECK_STREQ(client->readAll(), "last words");
}

// ---- the I/O calls ------------------------------------------------------------------------------

QLOCAL_TEST(wrapper_socket_io) {
    auto loop = qlocal::EventLoop::create();
    CHECK(loop.ok());
    WPair p;
    std::string name = qt::unique_name("wio");
    CHECK_STREQ(connectPair(*loop, name, p), "");
    LocalSocket &r = p.accepted;
    const std::string text = "line one\nline two\npartial";
    CHECK_OKW(p.client.write(text));
    CHECK(runUntil(*loop, [&] { return r.bytesAvailable() == static_cast<int64_t>(text.size()); }));
    CHECK(r.canReadLine());
    CHECK_STREQ(r.peek(4), "line");
    char buf[16] = {};
    CHECK_EQ(r.peek(buf, 4), 4);
    CHECK_EQ(std::memcmp(buf, "line", 4), 0);
    size_t n = 0;
    CHECK_OKW(r.peek(buf, 2, n));
    CHECK_EQ(n, 2u);
    CHECK_EQ(r.bytesAvailable(), static_cast<int64_t>(text.size()));
    CHECK_STREQ(r.readLine(), "line one\n");
    CHECK_EQ(r.readLine(buf, 5), 4);  // Qt: at most maxSize - 1 bytes, then a NUL
    CHECK_STREQ(buf, "line");
    CHECK_EQ(r.skip(1), 1);
    CHECK_STREQ(r.read(3), "two");
    CHECK_STREQ(r.readLine(0), "\n");
    CHECK(!r.canReadLine());
    CHECK_STREQ(r.readLine(3), "par");
    CHECK_STREQ(r.readLine(), "tial");  // buffered bytes without a '\n'
    CHECK_EQ(r.read(buf, sizeof buf), 0);
    CHECK_OKW(r.read(buf, sizeof buf, n));
    CHECK_EQ(n, 0u);
    CHECK_STREQ(r.readAll(), "");
    CHECK_STREQ(r.readLine(), "");
    CHECK_OKW(p.client.write("abcdef"));
    CHECK_OKW(r.waitForReadyRead(2000));
    CHECK(runUntil(*loop, [&] { return r.bytesAvailable() == 6; }));
    CHECK_EQ(r.read(buf, 2), 2);
    CHECK_OKW(r.skip(2, n));
    CHECK_EQ(n, 2u);
    CHECK_STREQ(r.read(100), "ef");

    // Writing: bytesToWrite, flush, waitForBytesWritten.
    std::string big(8 << 20, 'z');
    CHECK_OKW(p.client.write(big));
    CHECK(p.client.bytesToWrite() > 0);
    bool wrote = true;
    CHECK_OKW(p.client.flush(wrote));
    (void)p.client.flush();
    std::string received;
    CHECK(runUntil(*loop, [&] {
        received += r.readAll();
        return received.size() == big.size();
    }, 20000));
    CHECK(received == big);
    CHECK_EQ(p.client.bytesToWrite(), 0);

    // Properties.
    CHECK_EQ(r.readBufferSize(), 0);
    CHECK_OKW(r.setReadBufferSize(16));
    CHECK_EQ(r.readBufferSize(), 16);
    CHECK_EQ(p.client.connectTimeout(), 30000);
    CHECK_OKW(p.client.setConnectTimeout(1234));
    CHECK_EQ(p.client.connectTimeout(), 1234);
    CHECK_EQ(p.client.lingerTimeout(), 30000);
    CHECK_OKW(p.client.setLingerTimeout(0));
    CHECK_EQ(p.client.lingerTimeout(), 0);
    CHECK(p.client.setLingerTimeout(-2) == Result::InvalidArgument);
    CHECK(p.client.isValid());
    CHECK(p.client.socketDescriptor() >= 0);
    CHECK_STREQ(p.client.serverName(), name);

    // setServerName + connectToServer(), options.
    auto c2 = LocalSocket::create(*loop);
    CHECK(c2->socketOptions() == LocalSocket::NoOptions);
    CHECK(c2->socketOptions().testFlag(LocalSocket::NoOptions));
    CHECK_OKW(c2->setSocketOptions(LocalSocket::AbstractNamespaceOption));
    CHECK(c2->socketOptions().testFlag(LocalSocket::AbstractNamespaceOption));
    CHECK_OKW(c2->setSocketOptions(LocalSocket::NoOptions));
    CHECK_OKW(c2->setServerName(name));
    CHECK_STREQ(c2->serverName(), name);
    CHECK_OKW(c2->connectToServer());
    CHECK_OKW(c2->waitForConnected(2000));
    CHECK_R(c2->setServerName("other"), Result::WrongState);  // only while unconnected
    CHECK_STREQ(c2->fullServerName(), p.server.fullServerName());

    // Graceful disconnect delivers queued bytes; the peer's waitForDisconnected sees it and
    // the bytes stay readable.
    CHECK_OKW(r.setReadBufferSize(0));
    CHECK_OKW(p.client.write("tail"));
    CHECK_OKW(p.client.disconnectFromServer());
    if (p.client.state() != LocalSocket::UnconnectedState) CHECK_OKW(p.client.waitForDisconnected(2000));
    CHECK_ENUM(p.client.state(), LocalSocket::UnconnectedState);
    CHECK_R(p.client.waitForDisconnected(0), Result::WrongState);  // already unconnected
    CHECK_STREQ(p.client.serverName(), "");  // cleared once unconnected, as Qt
    CHECK_OKW(r.waitForDisconnected(2000));
    CHECK_ENUM(r.state(), LocalSocket::UnconnectedState);
    CHECK_ENUM(r.error(), LocalSocket::PeerClosedError);
    CHECK_STREQ(r.readAll(), "tail");

    // abort() and close().
    CHECK_OKW(c2->abort());
    CHECK_ENUM(c2->state(), LocalSocket::UnconnectedState);
    CHECK(!c2->isValid());
    CHECK_OKW(c2->connectToServer(name));
    CHECK_OKW(c2->waitForConnected(2000));
    CHECK_OKW(c2->close());
    CHECK(runUntil(*loop, [&] { return c2->state() == LocalSocket::UnconnectedState; }));
}

// ---- server properties ------------------------------------------------------------------------

QLOCAL_TEST(wrapper_server_properties) {
    auto loop = qlocal::EventLoop::create();
    CHECK(loop.ok());
    auto server = LocalServer::create(*loop);
    CHECK(server.ok());
    CHECK_EQ(server->maxPendingConnections(), 30);
    CHECK_EQ(server->listenBacklogSize(), 50);
    CHECK(server->socketOptions() == LocalServer::NoOptions);
    CHECK_EQ(server->socketDescriptor(), -1);
    CHECK_R(server->waitForNewConnection(), Result::WrongState);
    CHECK_OKW(server->setMaxPendingConnections(5));
    CHECK_EQ(server->maxPendingConnections(), 5);
    CHECK_OKW(server->setListenBacklogSize(7));
    CHECK_EQ(server->listenBacklogSize(), 7);

    // Options are flags, as QLocalServer::SocketOptions.
    LocalServer::SocketOptions opts = LocalServer::UserAccessOption | LocalServer::GroupAccessOption;
    CHECK_EQ(opts.toInt(), 3u);
    CHECK(opts.testFlag(LocalServer::UserAccessOption));
    CHECK(!opts.testFlag(LocalServer::WorldAccessOption));
    CHECK((opts | LocalServer::OtherAccessOption).testFlag(LocalServer::WorldAccessOption));
    CHECK_OKW(server->setSocketOptions(opts));
    CHECK(server->socketOptions() == opts);
    CHECK_OKW(server->setSocketOptions(LocalServer::WorldAccessOption));
    std::string name = qt::unique_name("wprops");
    CHECK(server->listen(name));
    CHECK(server->socketDescriptor() >= 0);
    CHECK(server->fullServerName().find(name) != std::string::npos);
    CHECK_OKW(server->close());
    CHECK(!server->isListening());
    CHECK_STREQ(server->serverName(), "");

    // Abstract names: both ends opt in.
    CHECK_OKW(server->setSocketOptions(LocalServer::AbstractNamespaceOption));
    std::string abstractName = qt::unique_name("wabstract");
    CHECK(server->listen(abstractName));
    CHECK_STREQ(server->fullServerName(), abstractName);
    auto plain = LocalSocket::create(*loop);
    CHECK_OKW(plain->connectToServer(abstractName));
    CHECK_R(plain->waitForConnected(1000), Result::ServerNotFound);
    auto client = LocalSocket::create(*loop);
    CHECK_OKW(client->setSocketOptions(LocalSocket::AbstractNamespaceOption));
    CHECK_OKW(client->connectToServer(abstractName));
    CHECK_OKW(client->waitForConnected(2000));
    CHECK(server->waitForNewConnection(2000));
    LocalSocket s = server->nextPendingConnection();
    CHECK(s);

    // removeServer removes only socket files: a regular file is left alone (NotASocket).
    std::string path = "/tmp/" + qt::unique_name("wremove");
    std::FILE *f = std::fopen(path.c_str(), "w");
    CHECK(f != nullptr);
    std::fclose(f);
    auto other = LocalServer::create(*loop);
    CHECK_R(other->listen(path), Result::AddressInUse);
    CHECK_R(LocalServer::removeServer(path), Result::NotASocket);
    CHECK(!LocalServer::removeServer(path));
    CHECK_R(other->listen(path), Result::AddressInUse);
    CHECK(std::remove(path.c_str()) == 0);
    CHECK(other->listen(path));
    CHECK_OKW(other->close());
    CHECK(LocalServer::removeServer(path));  // nothing there: still true
    CHECK_R(LocalServer::removeServer(static_cast<const char *>(nullptr)), Result::NullArgument);
}

// ---- the loop -----------------------------------------------------------------------------------

QLOCAL_TEST(wrapper_event_loop) {
    auto created = qlocal::EventLoop::create();
    CHECK(created.ok());
    qlocal::EventLoop loop = std::move(created).value();
    CHECK(loop);
    CHECK(loop.isOwnerThread());
    CHECK(loop.fd() >= 0);
    int fd = -1;
    CHECK_OKW(loop.fd(fd));
    CHECK_EQ(fd, loop.fd());
    CHECK_EQ(loop.timeoutMs(), -1);  // nothing to do
    int t = 5;
    CHECK_OKW(loop.timeoutMs(t));
    CHECK_EQ(t, -1);
    CHECK_OKW(loop.processEvents());

    // stop() and wakeUp() from another thread.
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

    // exec ends at its timeout; a quit() before exec makes it return at once.
    t0 = qt::now_ms();
    CHECK_R(loop.exec(60), Result::Timeout);
    CHECK(qt::now_ms() - t0 >= 55);
    CHECK_OKW(loop.quit());
    t0 = qt::now_ms();
    CHECK_OKW(loop.exec(10000));
    CHECK(qt::now_ms() - t0 < 1000);

    // Embedded: poll-style use of fd()/timeoutMs()/processEvents().
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
        pollfd pfd{loop.fd(), POLLIN, 0};
        (void)poll(&pfd, 1, timeout < 0 || timeout > 100 ? 100 : timeout);
        CHECK_OKW(loop.processEvents());
    }
    CHECK_EQ(accepted, 1);
    CHECK(connected);
    CHECK_OKW(loop.onWakeUp(nullptr));

    // release() and adoption.
    qlocal_loop *raw = loop.release();
    CHECK(!loop);
    CHECK_EQ(loop.fd(), -1);
    CHECK_EQ(loop.timeoutMs(), 0);
    CHECK(!loop.isOwnerThread());
    qlocal::EventLoop adopted(raw);
    CHECK(adopted.raw() == raw);
    CHECK_OKW(adopted.processEvents());
}

// ---- the original benchmark flow, through the wrapper -----------------------------------------
//
// An echo server on its own thread with its own EventLoop; N clients on the main thread's
// loop. pingPong: one byte in flight per client; dataExchange: one chunk in flight per client.
// Every echoed byte is compared with what its client sent.

namespace {

// Client i's stream: byte k is pattern()[(k + 131 * i) % kPatternPeriod]. The period is prime,
// so a lost, repeated or reordered chunk of any size shows as a mismatch.
constexpr size_t kPatternPeriod = 32749;
constexpr size_t kMaxFlowChunk = 100000;

const std::vector<char> &pattern() {
    static const std::vector<char> bytes = [] {
        std::vector<char> v(kPatternPeriod + kMaxFlowChunk);
        uint64_t x = 0x9e3779b97f4a7c15ull;
        for (size_t k = 0; k < kPatternPeriod; ++k) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            v[k] = static_cast<char>(x >> 56);
        }
        for (size_t k = kPatternPeriod; k < v.size(); ++k) v[k] = v[k - kPatternPeriod];
        return v;
    }();
    return bytes;
}

const char *streamAt(int client, long long offset) {
    return pattern().data() + static_cast<size_t>((offset + 131LL * client) % kPatternPeriod);
}

void raiseFdLimit() {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

class EchoThread {
public:
    ~EchoThread() { (void)stop(); }

    // Starts the server thread; returns once it listens ("" ) or failed (the reason).
    std::string start(const std::string &name, size_t chunk) {
        std::future<std::string> ready = listening_.get_future();
        thread_ = std::thread([this, name, chunk] { run(name, chunk); });
        return ready.get();
    }

    // Stops the server's loop from this thread, joins, and returns the server's error, if any.
    std::string stop() {
        if (!thread_.joinable()) return error_;
        if (qlocal::EventLoop *l = loop_.load()) (void)l->stop();  // any thread may stop a loop
        stopSent_.set_value();
        thread_.join();
        return error_;
    }

private:
    struct Conn {
        LocalSocket socket;
        std::vector<char> buffer;
    };

    void run(const std::string &name, size_t chunk) {
        std::promise<std::string> &listening = listening_;
        auto loop = qlocal::EventLoop::create();
        if (!loop) return listening.set_value(std::string("EventLoop::create: ") + qlocal::resultString(loop.error()));
        auto server = LocalServer::create(*loop);
        if (!server) return listening.set_value(std::string("LocalServer::create: ") + qlocal::resultString(server.error()));
        std::vector<std::unique_ptr<Conn>> conns;
        (void)server->onNewConnection([&] {
            while (LocalSocket s = server->nextPendingConnection()) {
                auto c = std::make_unique<Conn>();
                c->socket = std::move(s);
                c->buffer.resize(chunk);
                Conn *cp = c.get();
                Result r = cp->socket.onReadyRead([this, cp] {
                    // Reads what is there, chunk by chunk, and writes the same bytes back.
                    for (;;) {
                        int64_t n = cp->socket.read(cp->buffer.data(), cp->buffer.size());
                        if (n < 0) return fail("server read failed");
                        if (n == 0) return;
                        Result w = cp->socket.write(cp->buffer.data(), static_cast<size_t>(n));
                        if (w != Result::Ok) return fail("server write: " + rname(w));
                    }
                });
                if (r != Result::Ok) fail("onReadyRead: " + rname(r));
                conns.push_back(std::move(c));
            }
        });
        if (qlocal::Outcome o = server->listen(name); !o)
            return listening.set_value("listen: " + rname(o) + " " + server->errorString());
        loop_.store(&*loop);
        listening.set_value("");
        // Until the main thread's stop(); the bound only guards against a hang.
        Result r = loop->exec(10 * 60 * 1000);
        if (r != Result::Ok) fail("server loop: " + rname(r));
        stopSent_.get_future().wait();  // the main thread no longer touches the loop
        loop_.store(nullptr);
        // RAII on this thread: connections, then the server, then the loop.
    }

    void fail(const std::string &e) {
        if (error_.empty()) error_ = e;
    }

    std::thread thread_;
    std::atomic<qlocal::EventLoop *> loop_{nullptr};
    // Members, so neither promise is destroyed while the other thread may still use it.
    std::promise<std::string> listening_;
    std::promise<void> stopSent_;
    std::string error_;
};

struct FlowClient {
    LocalSocket socket;
    int id = 0;
    long long total = 0;  // bytes to send and get back
    long long sent = 0;
    long long received = 0;
};

struct FlowClients {
    std::vector<std::unique_ptr<FlowClient>> list;
    std::vector<char> scratch;
    size_t chunk = 1;
    int connected = 0;
    int done = 0;
    std::string error;

    void fail(const std::string &e) {
        if (error.empty()) error = e;
    }

    void sendChunk(FlowClient &c) {
        Result r = c.socket.write(streamAt(c.id, c.sent), chunk);
        if (r != Result::Ok) return fail("client write: " + rname(r));
        c.sent += static_cast<long long>(chunk);
    }

    // Reads everything available, checks it byte for byte, keeps one chunk in flight.
    void onReadyRead(FlowClient &c) {
        for (;;) {
            int64_t n = c.socket.read(scratch.data(), scratch.size());
            if (n < 0) return fail("client read failed");
            if (n == 0) break;
            if (c.received + n > c.sent)
                return fail("client " + std::to_string(c.id) + " got more bytes than it sent");
            if (std::memcmp(scratch.data(), streamAt(c.id, c.received), static_cast<size_t>(n)) != 0)
                return fail("client " + std::to_string(c.id) + " got wrong bytes at offset " +
                            std::to_string(c.received));
            c.received += n;
        }
        if (c.received == c.total)
            ++done;
        else if (c.received == c.sent)
            sendChunk(c);
    }
};

// One row: `connections` clients each send `perClient` bytes in `chunk`-byte writes.
std::string runWrapperFlow(const char *kind, int connections, size_t chunk, long long perClient) {
    raiseFdLimit();
    std::string name = qt::unique_name(kind);
    EchoThread echo;
    std::string err = echo.start(name, chunk);
    if (!err.empty()) return err;

    auto loop = qlocal::EventLoop::create();
    if (!loop) return "EventLoop::create failed";
    FlowClients all;
    all.chunk = chunk;
    all.scratch.resize(std::max<size_t>(chunk, 65536));
    perClient = std::max<long long>(1, perClient / static_cast<long long>(chunk)) * static_cast<long long>(chunk);
    for (int i = 0; i < connections; ++i) {
        auto c = std::make_unique<FlowClient>();
        c->id = i;
        c->total = perClient;
        auto s = LocalSocket::create(*loop);
        if (!s) return "LocalSocket::create: " + rname(s.error());
        c->socket = std::move(s).value();
        FlowClient *cp = c.get();
        Result r = cp->socket.onConnected([&all] { all.connected++; });
        if (r == Result::Ok)
            r = cp->socket.onErrorOccurred([&all, cp](qlocal::LocalSocketError e) {
                all.fail("client " + std::to_string(cp->id) + " error " + errorName(e) + ": " +
                         cp->socket.errorString());
            });
        if (r == Result::Ok) r = cp->socket.onReadyRead([&all, cp] { all.onReadyRead(*cp); });
        if (r == Result::Ok) r = cp->socket.connectToServer(name);
        if (r != Result::Ok) return "client setup: " + rname(r);
        all.list.push_back(std::move(c));
    }
    double deadline = qt::now_ms() + 100 * 1000;
    auto left = [&] { return static_cast<int>(std::max(1.0, deadline - qt::now_ms())); };
    bool ok = runUntil(*loop, [&] { return !all.error.empty() || all.connected == connections; }, left());
    if (!all.error.empty()) return all.error;
    if (!ok) return "timed out connecting (" + std::to_string(all.connected) + " of " + std::to_string(connections) + ")";
    for (auto &c : all.list) all.sendChunk(*c);
    ok = runUntil(*loop, [&] { return !all.error.empty() || all.done == connections; }, left());
    if (!all.error.empty()) return all.error;
    if (!ok) return "timed out (" + std::to_string(all.done) + " of " + std::to_string(connections) + " done)";
    for (auto &c : all.list)
        if (c->received != c->total) return "client " + std::to_string(c->id) + " incomplete";
    return echo.stop();
}

}  // namespace

QLOCAL_TEST(wrapper_flow_ping_pong) {
    const long long iterations = 5000;
    for (int connections : {10, 50, 100, 1000}) {
        std::string err = runWrapperFlow("wpp", connections, 1, iterations / connections);
        if (!err.empty()) qt::fail(__FILE__, __LINE__, "pingPong " + std::to_string(connections) + ": " + err);
        CHECK(!qt::g_failed);
    }
}

QLOCAL_TEST(wrapper_flow_data_exchange) {
    const long long iterations = 200;
    for (int connections : {1, 5, 10}) {
        for (size_t chunk : {100u, 1000u, 10000u, 100000u}) {
            std::string err = runWrapperFlow("wdx", connections, chunk,
                                             iterations * static_cast<long long>(chunk) / connections);
            if (!err.empty())
                qt::fail(__FILE__, __LINE__,
                         "dataExchange " + std::to_string(connections) + " x " + std::to_string(chunk) + ": " + err);
            CHECK(!qt::g_failed);
        }
    }
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

QLOCAL_TEST(wrapper_adopted_descriptors) {
    auto loop = qlocal::EventLoop::create();
    CHECK(loop.ok());
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    auto a = LocalSocket::create(*loop);
    auto b = LocalSocket::create(*loop);
    CHECK(a.ok() && b.ok());
    CHECK_OKW(a->setSocketDescriptor(sv[0]));
    CHECK_OKW(b->setSocketDescriptor(sv[1]));
    CHECK_ENUM(a->state(), LocalSocket::ConnectedState);
    CHECK_OKW(a->write("pair"));
    CHECK_OKW(b->waitForReadyRead(2000));
    CHECK_STREQ(b->readAll(), "pair");
    // A server on a descriptor that is not listening is refused.
    auto server = LocalServer::create(*loop);
    CHECK(server.ok());
    int lone = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_R(server->listen(lone), Result::InvalidArgument);
    close(lone);
}
