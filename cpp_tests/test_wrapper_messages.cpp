// The C++ wrapper's messages (writeMessage / writeNullMessage / hasMessage / readMessage /
// onMessage / setMaxMessageSize) and setSocketDescriptor(fd, state, openMode), in Qt's style.
#include "wrapper_harness.hpp"

#ifndef _WIN32
#include <sys/socket.h>
#include <unistd.h>
#endif

#include <string>
#include <vector>

using namespace wrapper_test;

QLOCAL_TEST(wrapper_messages_round_trip_in_order_with_null_and_empty) {
    WRAPPER_PAIR(loop, p, "wmsg");
    std::vector<std::string> sent;
    for (size_t size : {0ul, 1ul, 65535ul, 65536ul, 65537ul, 1024ul * 1024 + 3}) {
        auto v = qt::pattern(size, static_cast<uint32_t>(size));
        sent.emplace_back(v.begin(), v.end());
        CHECK_OKW(p.client.writeMessage(sent.back()));
        if (size == 1) CHECK_OKW(p.client.writeNullMessage());
    }
    std::vector<std::string> got;
    std::vector<bool> nulls;
    CHECK_OKW(p.accepted.onMessage([&] {
        std::string m;
        bool isNull = true;
        if (p.accepted.readMessage(m, &isNull) == Result::Ok) {
            got.push_back(m);
            nulls.push_back(isNull);
        }
    }));
    CHECK(runUntil(*loop, [&] { return got.size() == sent.size() + 1; }));
    // Order: "", "x", null, then the rest.
    CHECK_EQ(got.size(), 7u);
    CHECK(got[0].empty() && !nulls[0]);
    CHECK(got[1] == sent[1] && !nulls[1]);
    CHECK(got[2].empty() && nulls[2]);
    for (size_t i = 2; i < sent.size(); ++i) CHECK(got[i + 1] == sent[i] && !nulls[i + 1]);
    CHECK(!p.accepted.hasMessage());
    std::string none = "kept";
    CHECK_R(p.accepted.readMessage(none), Result::WrongState);
    CHECK_STREQ(none, "kept");
}

QLOCAL_TEST(wrapper_message_above_the_maximum_closes_the_connection) {
    WRAPPER_PAIR(loop, p, "wmsgmax");
    CHECK_EQ(p.accepted.maxMessageSize(), static_cast<size_t>(QLOCAL_DEFAULT_MAX_MESSAGE_SIZE));
    p.accepted.setMaxMessageSize(16);
    CHECK_EQ(p.accepted.maxMessageSize(), 16u);
    Signals sig;
    CHECK_OKW(sig.attach(p.accepted));
    int messages = 0;
    CHECK_OKW(p.accepted.onMessage([&] {
        std::string m;
        if (p.accepted.readMessage(m) == Result::Ok) ++messages;
    }));
    CHECK_OKW(p.client.writeMessage(std::string(16, 'a')));
    CHECK_OKW(p.client.writeMessage(std::string(17, 'b')));
    CHECK(runUntil(*loop, [&] { return p.accepted.state() == LocalSocket::UnconnectedState; }));
    CHECK_EQ(messages, 1);
    CHECK_ENUM(p.accepted.error(), LocalSocket::DatagramTooLargeError);
    CHECK(p.accepted.errorString().find("Datagram too large") != std::string::npos);
}

QLOCAL_TEST_POSIX(wrapper_set_socket_descriptor_takes_state_and_mode, QT_WHY_ADOPT)
#ifndef _WIN32
{
    WRAPPER_LOOP(loop);
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    auto a = LocalSocket::create(*loop);
    auto b = LocalSocket::create(*loop);
    CHECK(a.ok() && b.ok());
    CHECK_R(a->setSocketDescriptor(sv[0], LocalSocket::ConnectingState), Result::InvalidArgument);
    CHECK_OKW(a->setSocketDescriptor(sv[0], LocalSocket::ConnectedState, LocalSocket::ReadOnly));
    CHECK_OKW(b->setSocketDescriptor(sv[1], LocalSocket::ConnectedState));
    CHECK_EQ(a->openMode(), LocalSocket::ReadOnly);
    CHECK_EQ(b->openMode(), LocalSocket::ReadWrite);
    CHECK_R(a->writeMessage("refused"), Result::WrongState);
    CHECK_OKW(b->writeMessage("adopted"));
    CHECK_OKW(a->waitForReadyRead(2000));
    std::string m;
    CHECK_OKW(a->readMessage(m));
    CHECK_STREQ(m, "adopted");
}
#endif

QLOCAL_TEST_POSIX(wrapper_descriptors_travel_with_their_bytes, QT_WHY_FD_PASSING)
#ifndef _WIN32
{
    WRAPPER_PAIR(loop, p, "wfds");
    CHECK_EQ(p.accepted.maxDescriptors(), 0u);
    CHECK_R(p.accepted.setMaxDescriptors(QLOCAL_MAX_DESCRIPTORS_PER_WRITE + 1), Result::InvalidArgument);
    CHECK_R(p.accepted.setMaxDescriptors(2), Result::Ok);
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    const qlocal_descriptor fds[2] = {sv[0], sv[1]};
    CHECK_OKW(p.client.writeWithDescriptors("pair", 4, fds, 2));
    CHECK(!p.client.writeWithDescriptors("", 0, fds, 2));
    close(sv[0]);
    close(sv[1]);
    CHECK(runUntil(*loop, [&] { return p.accepted.bytesAvailable() == 4; }));
    CHECK_EQ(p.accepted.descriptorsAvailable(), 2u);
    // The two ends arrive in the order sent, and still talk to each other.
    qlocal_descriptor a = p.accepted.takeDescriptor(), b = p.accepted.takeDescriptor();
    CHECK(a >= 0 && b >= 0);
    CHECK_EQ(p.accepted.takeDescriptor(), static_cast<qlocal_descriptor>(-1));
    CHECK(write(static_cast<int>(a), "z", 1) == 1);
    char c = 0;
    CHECK(read(static_cast<int>(b), &c, 1) == 1);
    CHECK_EQ(c, 'z');
    close(static_cast<int>(a));
    close(static_cast<int>(b));
    CHECK_STREQ(p.accepted.readAll(), "pair");
}
#endif
