// qlocal::LocalServer through the C++ wrapper: ownership of accepted connections, listening
// errors, properties and options, abstract names, removeServer, adopted descriptors. Shared
// helpers: wrapper_harness.hpp.
#include "wrapper_harness.hpp"

#include <cstdio>
#include <memory>
#include <string>
#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#include <sys/socket.h>
#include <unistd.h>
#endif
#include <vector>

using namespace wrapper_test;

namespace {

// A client of the ownership cases, with what it saw of its connection's end.
struct Client {
    LocalSocket socket;
    int disconnected = 0;
    std::vector<qlocal::LocalSocketError> errors;
};

// `count` clients connecting to `name` on `loop`; "" on success.
std::string connectClients(qlocal::EventLoop &loop, const std::string &name, int count,
                           std::vector<std::unique_ptr<Client>> &clients) {
    for (int i = 0; i < count; ++i) {
        auto c = std::make_unique<Client>();
        auto s = LocalSocket::create(loop);
        if (!s) return "create: " + rname(s.error());
        c->socket = std::move(s).value();
        Client *p = c.get();
        Result r = c->socket.onDisconnected([p] { p->disconnected++; });
        if (r == Result::Ok) r = c->socket.onErrorOccurred([p](qlocal::LocalSocketError e) { p->errors.push_back(e); });
        if (r == Result::Ok) r = c->socket.connectToServer(name);
        if (r != Result::Ok) return "client setup: " + rname(r);
        clients.push_back(std::move(c));
    }
    return "";
}

int disconnectedClients(const std::vector<std::unique_ptr<Client>> &clients) {
    int n = 0;
    for (auto &c : clients) n += c->disconnected;
    return n;
}

}  // namespace

// ---- ownership of accepted connections --------------------------------------------------------

QLOCAL_TEST(wrapper_next_pending_connection_is_null_when_none_is_pending) {
    WRAPPER_LOOP(loop);
    auto server = LocalServer::create(*loop);
    CHECK(server.ok());
    CHECK(server->listen(qt::unique_name("wnone")));
    CHECK(!server->hasPendingConnections());
    CHECK(!server->nextPendingConnection());  // none pending: a null socket
    LocalSocket out;
    CHECK_OKW(server->nextPendingConnection(out));
    CHECK(!out);
}

QLOCAL_TEST(wrapper_destroyed_accepted_sockets_close_their_peers) {
    WRAPPER_LISTENING(loop, server, name, "wown");
    std::vector<std::unique_ptr<Client>> clients;
    CHECK_STREQ(connectClients(*loop, name, 5, clients), "");
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
    CHECK(runUntil(*loop, [&] { return disconnectedClients(clients) == 3; }));
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
}

QLOCAL_TEST(wrapper_taken_socket_outlives_its_server) {
    WRAPPER_LISTENING(loop, server, name, "wkept");
    std::vector<std::unique_ptr<Client>> clients;
    CHECK_STREQ(connectClients(*loop, name, 2, clients), "");
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
    CHECK(runUntil(*loop, [&] { return disconnectedClients(clients) == 1; }));
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

// ---- listening ----------------------------------------------------------------------------------

QLOCAL_TEST(wrapper_listen_result_reports_address_in_use_and_bad_names) {
    WRAPPER_LOOP(loop);
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
    CHECK_R(second->listen(std::string(300, 'n')), Result::NameTooLong);  // too long everywhere
}

QLOCAL_TEST(wrapper_listen_refuses_a_descriptor_that_is_not_listening) {
    WRAPPER_LOOP(loop);
    auto server = LocalServer::create(*loop);
    CHECK(server.ok());
#ifdef _WIN32
    // README, Windows: listening on a descriptor is UNSUPPORTED (as Qt, QTBUG-24230).
    HANDLE lone = CreateEventA(nullptr, FALSE, FALSE, nullptr);
    CHECK(lone != nullptr);
    Result r = server->listen(reinterpret_cast<qlocal_descriptor>(lone));
    CHECK(CloseHandle(lone));  // the caller keeps the handle on failure
    CHECK_R(r, Result::Unsupported);
    CHECK(!server->isListening());
#else
    int lone = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(lone >= 0);
    Result r = server->listen(lone);
    close(lone);  // the caller keeps the descriptor on failure
    CHECK_R(r, Result::InvalidArgument);
#endif
}

// ---- properties and options ---------------------------------------------------------------------

QLOCAL_TEST(wrapper_server_defaults_and_limits_round_trip) {
    WRAPPER_LOOP(loop);
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
}

QLOCAL_TEST(wrapper_server_socket_options_are_qt_flags) {
    WRAPPER_LOOP(loop);
    auto server = LocalServer::create(*loop);
    CHECK(server.ok());
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
}

QLOCAL_TEST_POSIX(wrapper_abstract_names_need_both_ends_to_opt_in, QT_WHY_ABSTRACT)
#ifndef _WIN32
{
    WRAPPER_LOOP(loop);
    auto server = LocalServer::create(*loop);
    CHECK(server.ok());
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
}
#endif

QLOCAL_TEST_POSIX(wrapper_remove_server_removes_only_socket_files, QT_WHY_SOCKET_FILES)
#ifndef _WIN32
{
    WRAPPER_LOOP(loop);
    // A regular file is left alone (NotASocket).
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
#endif

// Qt's incomingConnection override and addPendingConnection, in the wrapper.
QLOCAL_TEST(wrapper_incoming_connection_override_adds_its_own_socket) {
    WRAPPER_LISTENING(loop, server, name, "wincoming");
    std::vector<LocalSocket> made;
    int announced = 0;
#ifdef _WIN32
    // README, Windows: the override hands out descriptors, which are not adopted there:
    // UNSUPPORTED, and connections come through Qt's default path.
    CHECK_R(server->onIncomingConnection([](qlocal_descriptor) {}), Result::Unsupported);
    announced = 1;
#else
    CHECK_OKW(server->onIncomingConnection([&](qlocal_descriptor fd) {
        auto s = LocalSocket::create(*loop);
        if (!s || !s->setSocketDescriptor(fd)) return;
        LocalSocket socket = std::move(s).value();
        (void)socket.onReadyRead([] {});
        if (server->addPendingConnection(socket) == Result::Ok && !socket) ++announced;
    }));
#endif
    CHECK_OKW(server->onNewConnection([&] {
        while (LocalSocket s = server->nextPendingConnection()) made.push_back(std::move(s));
    }));
    auto client = LocalSocket::create(*loop);
    CHECK(client.ok());
    CHECK_OKW(client->connectToServer(name));
    CHECK(runUntil(*loop, [&] { return made.size() == 1; }));
    CHECK_EQ(announced, 1);
    CHECK_OKW(client->write("through the override"));
    CHECK_OKW(made[0].waitForReadyRead(2000));
    CHECK_STREQ(made[0].readAll(), "through the override");
    // Another loop's socket is refused and stays the caller's.
    auto other = qlocal::EventLoop::create();
    CHECK(other.ok());
    auto foreign = LocalSocket::create(*other);
    CHECK(foreign.ok());
    CHECK_R(server->addPendingConnection(*foreign), Result::InvalidArgument);
    CHECK(static_cast<bool>(*foreign));
}
