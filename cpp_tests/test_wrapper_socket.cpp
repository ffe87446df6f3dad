// qlocal::LocalSocket through the C++ wrapper: echo with Qt-style handlers, the order and
// timing of signals, the read/write calls, connecting, closing, and the Results of failed and
// misused calls. Shared helpers: wrapper_harness.hpp.
#include "wrapper_harness.hpp"

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#ifndef _WIN32
#include <sys/socket.h>
#include <unistd.h>
#endif

using namespace wrapper_test;

// ---- echo ------------------------------------------------------------------------------------

QLOCAL_TEST(wrapper_echo_serves_each_client_independently) {
    WRAPPER_LISTENING(loop, server, name, "wecho");
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

// ---- signals ------------------------------------------------------------------------------------

QLOCAL_TEST(wrapper_signals_never_run_inside_the_call_that_caused_them) {
    WRAPPER_LISTENING(loop, server, name, "wsig");
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
    // bytesWritten comes from the wait that wrote the bytes.
    sig.events.clear();
    CHECK_OKW(client->write("hello"));
    CHECK_OKW(client->waitForBytesWritten(1000));
    CHECK_STREQ(sig.joined(), "bytes_written:5");
}

QLOCAL_TEST(wrapper_handler_replaced_inside_itself_takes_over_next_batch) {
    WRAPPER_PAIR(loop, p, "wreplace");
    LocalSocket &accepted = p.accepted;
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
    CHECK_OKW(p.client.write("hello"));
    CHECK(runUntil(*loop, [&] { return first == 1; }));
    CHECK_OKW(p.client.write("more"));
    CHECK(runUntil(*loop, [&] { return second == 1; }));
    CHECK_EQ(first, 1);
    CHECK_STREQ(firstGot, "first handler's own copy: hello");
}

QLOCAL_TEST(wrapper_empty_function_removes_a_handler) {
    WRAPPER_PAIR(loop, p, "wremoveh");
    LocalSocket &accepted = p.accepted;
    int second = 0;
    CHECK_OKW(accepted.onReadyRead([&] {
        ++second;
        (void)accepted.readAll();
    }));
    CHECK_OKW(p.client.write("more"));
    CHECK(runUntil(*loop, [&] { return second == 1; }));
    CHECK_OKW(accepted.onReadyRead(nullptr));
    CHECK_OKW(p.client.write("ignored"));
    CHECK(runUntil(*loop, [&] { return accepted.bytesAvailable() == 7; }));
    CHECK_EQ(second, 1);
}

QLOCAL_TEST(wrapper_peer_close_signals_in_qt_order_and_bytes_stay_readable) {
    WRAPPER_PAIR(loop, p, "wpeerclose");
    LocalSocket &accepted = p.accepted;
    auto *client = &p.client;
    Signals sig;
    CHECK_OKW(sig.attach(*client));
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

// ---- reading and writing --------------------------------------------------------------------------

QLOCAL_TEST(wrapper_read_peek_read_line_and_skip_read_like_qt) {
    WRAPPER_PAIR(loop, p, "wio");
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
}

QLOCAL_TEST(wrapper_big_write_is_queued_whole_and_flushed) {
    WRAPPER_PAIR(loop, p, "wbig");
    LocalSocket &r = p.accepted;
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
}

QLOCAL_TEST(wrapper_socket_properties_round_trip) {
    WRAPPER_NAMED_PAIR(loop, p, name, "wprop");
    LocalSocket &r = p.accepted;
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
}

QLOCAL_TEST(wrapper_set_server_name_then_connect_with_options) {
    WRAPPER_NAMED_PAIR(loop, p, name, "wsetname");
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
}

QLOCAL_TEST(wrapper_graceful_disconnect_delivers_queued_bytes) {
    WRAPPER_PAIR(loop, p, "wgraceful");
    LocalSocket &r = p.accepted;
    // The peer's waitForDisconnected sees the close and the bytes stay readable.
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
}

QLOCAL_TEST(wrapper_abort_and_close_end_the_connection) {
    WRAPPER_NAMED_PAIR(loop, p, name, "wabort");
    auto c2 = LocalSocket::create(*loop);
    CHECK_OKW(c2->connectToServer(name));
    CHECK_OKW(c2->waitForConnected(2000));
    CHECK_OKW(c2->abort());
    CHECK_ENUM(c2->state(), LocalSocket::UnconnectedState);
    CHECK(!c2->isValid());
    CHECK_OKW(c2->connectToServer(name));
    CHECK_OKW(c2->waitForConnected(2000));
    CHECK_OKW(c2->close());
    CHECK(runUntil(*loop, [&] { return c2->state() == LocalSocket::UnconnectedState; }));
}

QLOCAL_TEST_POSIX(wrapper_set_socket_descriptor_adopts_a_socketpair, QT_WHY_ADOPT)
#ifndef _WIN32
{
    WRAPPER_LOOP(loop);
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
}
#endif

// ---- results of failed and misused calls ----------------------------------------------------

QLOCAL_TEST(wrapper_connect_result_reports_missing_name) {
    WRAPPER_LOOP(loop);
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
}

QLOCAL_TEST(wrapper_waits_tell_timeouts_from_failures) {
    WRAPPER_PAIR(loop, p, "wtimeout");
    auto first = LocalServer::create(*loop);
    CHECK(first.ok());
    CHECK(first->listen(qt::unique_name("wtimeoutsrv")));
    bool timedOut = false;
    CHECK_R(first->waitForNewConnection(10, &timedOut), Result::Timeout);
    CHECK(timedOut);
    CHECK_R(p.client.waitForReadyRead(30), Result::Timeout);
    CHECK_ENUM(p.client.error(), LocalSocket::SocketTimeoutError);
    CHECK_ENUM(p.client.state(), LocalSocket::ConnectedState);  // as Qt: still connected
    CHECK_R(p.client.waitForDisconnected(20), Result::Timeout);
    CHECK_R(p.client.waitForBytesWritten(0), Result::WrongState);  // nothing queued
}

QLOCAL_TEST(wrapper_misused_calls_return_a_result_and_write_no_output) {
    WRAPPER_PAIR(loop, p, "wmisuse");
    auto first = LocalServer::create(*loop);
    auto second = LocalServer::create(*loop);
    CHECK(first.ok() && second.ok());
    auto unconnected = LocalSocket::create(*loop);
    CHECK_R(unconnected->write("x"), Result::WrongState);
    CHECK_R(unconnected->waitForReadyRead(0), Result::WrongState);
    CHECK_R(unconnected->setReadBufferSize(-1), Result::InvalidArgument);
    CHECK_R(unconnected->setConnectTimeout(-1), Result::InvalidArgument);
    CHECK_R(unconnected->connectToServer(""), Result::InvalidName);
    CHECK_R(unconnected->write(static_cast<const char *>(nullptr)), Result::NullArgument);
    CHECK_R(first->setMaxPendingConnections(-1), Result::InvalidArgument);
    CHECK_R(first->setListenBacklogSize(-1), Result::InvalidArgument);
    CHECK_R(second->setSocketOptions(LocalServer::SocketOptions::fromInt(0x8000)), Result::InvalidArgument);
    char small[1];
    size_t n = 99;
    CHECK_R(p.client.readLine(small, sizeof small, n), Result::InvalidArgument);
    CHECK_EQ(n, 99u);  // outputs are written only on success
    CHECK_EQ(p.client.readLine(small, sizeof small), -1);
}

QLOCAL_TEST(wrapper_wrong_thread_calls_are_refused_and_change_nothing) {
    WRAPPER_PAIR(loop, p, "wthread");
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
}

QLOCAL_TEST(wrapper_results_and_enums_mirror_the_c_header) {
    CHECK_STREQ(qlocal::resultString(Result::Ok), qlocal_result_string(QLOCAL_RESULT_OK));
    CHECK_STREQ(qlocal::resultString(static_cast<Result>(123456)), "unknown result code");
    CHECK_EQ(static_cast<int>(Result::SystemError), QLOCAL_RESULT_SYSTEM_ERROR);
    CHECK_EQ(static_cast<int>(Result::NotASocket), QLOCAL_RESULT_NOT_A_SOCKET);
    CHECK_EQ(static_cast<int>(Result::AddressInUse), 100);
    CHECK_EQ(static_cast<int>(LocalSocket::UnknownSocketError), -1);
    CHECK_EQ(static_cast<int>(LocalSocket::ClosingState), 6);
    CHECK_STREQ(qlocal::version(), qlocal_version_string());
}

QLOCAL_TEST(wrapper_peer_credentials_and_current_user_only) {
    WRAPPER_LOOP(loop);
    auto server = LocalServer::create(*loop);
    CHECK(server.ok());
    CHECK_OKW(server->setSocketOptions(LocalServer::CurrentUserOnlyOption));
    CHECK(server->socketOptions().testFlag(LocalServer::CurrentUserOnlyOption));
    std::string name = qt::unique_name("wcred");
#ifdef _WIN32
    // README, Windows: uid/gid are Unix notions; the option is refused at listen, and peer
    // credentials are UNSUPPORTED.
    CHECK_R(server->listen(name), Result::Unsupported);
    CHECK(!server->isListening());
    CHECK_OKW(server->setSocketOptions(LocalServer::NoOptions));
#endif
    CHECK(server->listen(name));
    auto client = LocalSocket::create(*loop);
    CHECK(client.ok());
    qlocal_peer_credentials c{-5, 5, 5};
    CHECK_R(client->peerCredentials(c), Result::WrongState);
    CHECK_EQ(c.pid, -5);
    CHECK_OKW(client->connectToServer(name));
    CHECK_OKW(client->waitForConnected(2000));
    CHECK(server->waitForNewConnection(2000));
    LocalSocket accepted = server->nextPendingConnection();
    CHECK(static_cast<bool>(accepted));
#ifdef _WIN32
    CHECK_R(accepted.peerCredentials(c), Result::Unsupported);
    CHECK_EQ(c.pid, -5);
#else
    CHECK_OKW(accepted.peerCredentials(c));
    CHECK_EQ(c.pid, static_cast<int32_t>(getpid()));
    CHECK_EQ(c.uid, static_cast<uint32_t>(geteuid()));
#endif
}
