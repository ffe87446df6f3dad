// The rest of QIODevice on a socket: getChar/putChar/ungetChar, atEnd, readAll into a caller's
// buffer, read transactions (QDataStream's way to read whole messages), open mode and
// aboutToClose.
#include "harness.hpp"

#ifndef _WIN32
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

#include <cstring>
#include <string>
#include <vector>

namespace {
qlocal_result write_str(qlocal_socket *s, const std::string &d) {
    return qlocal_socket_write(s, reinterpret_cast<const uint8_t *>(d.data()), d.size());
}
}  // namespace

QLOCAL_TEST(iodevice_get_put_unget_char) {
    auto loop = qt::make_loop();
    std::string err;
    qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("chars"), err);
    CHECK_STREQ(err, "");
    uint8_t c = 0;
    CHECK_RC(qlocal_socket_get_char(p.accepted.get(), &c), QLOCAL_RESULT_WRONG_STATE);
    CHECK_EQ(c, 0);
    CHECK_OK(qlocal_socket_put_char(p.client.get(), 'a'));
    CHECK_OK(qlocal_socket_put_char(p.client.get(), 'b'));
    CHECK(qt::run_until(loop.get(), [&] { return qlocal_socket_bytes_available(p.accepted.get()) == 2; }, 2000));
    CHECK_OK(qlocal_socket_get_char(p.accepted.get(), &c));
    CHECK_EQ(c, 'a');
    CHECK_OK(qlocal_socket_unget_char(p.accepted.get(), 'x'));
    CHECK_EQ(qlocal_socket_bytes_available(p.accepted.get()), 2u);
    CHECK_OK(qlocal_socket_get_char(p.accepted.get(), &c));
    CHECK_EQ(c, 'x');
    CHECK_OK(qlocal_socket_get_char(p.accepted.get(), &c));
    CHECK_EQ(c, 'b');
    CHECK_RC(qlocal_socket_get_char(p.accepted.get(), nullptr), QLOCAL_RESULT_NULL_ARGUMENT);
    CHECK_RC(qlocal_socket_put_char(nullptr, 'a'), QLOCAL_RESULT_NULL_ARGUMENT);
}

QLOCAL_TEST(iodevice_at_end_and_read_all) {
    auto loop = qt::make_loop();
    std::string err;
    qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("atend"), err);
    CHECK_STREQ(err, "");
    qlocal_socket *acc = p.accepted.get();
    CHECK(!qlocal_socket_at_end(acc));  // connected, empty: more can come
    CHECK_OK(write_str(p.client.get(), "hello world"));
    CHECK_OK(qlocal_socket_disconnect_from_server(p.client.get()));
    CHECK(qt::run_until(loop.get(), [&] {
        return qlocal_socket_state(acc) == QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED;
    }, 2000));
    CHECK(!qlocal_socket_at_end(acc));  // the peer is gone, but its bytes are still here
    char buf[32];
    size_t n = 99;
    CHECK_RC(qlocal_socket_read_all(acc, reinterpret_cast<uint8_t *>(buf), 5, &n), QLOCAL_RESULT_INVALID_ARGUMENT);
    CHECK_EQ(n, 99u);
    CHECK_EQ(qlocal_socket_bytes_available(acc), 11u);
    CHECK_OK(qlocal_socket_read_all(acc, reinterpret_cast<uint8_t *>(buf), qlocal_socket_bytes_available(acc), &n));
    CHECK_EQ(n, 11u);
    CHECK(std::memcmp(buf, "hello world", 11) == 0);
    CHECK(qlocal_socket_at_end(acc));
    CHECK_OK(qlocal_socket_read_all(acc, nullptr, 0, &n));
    CHECK_EQ(n, 0u);
}

QLOCAL_TEST(iodevice_transaction_rolls_back_a_partial_message) {
    auto loop = qt::make_loop();
    std::string err;
    qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("txn"), err);
    CHECK_STREQ(err, "");
    qlocal_socket *acc = p.accepted.get();
    // A 4-byte big-endian length, then the body: sent in two parts.
    std::string body(70000, 'q');
    for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
    uint32_t len = static_cast<uint32_t>(body.size());
    std::string msg = {static_cast<char>(len >> 24), static_cast<char>(len >> 16), static_cast<char>(len >> 8),
                       static_cast<char>(len)};
    msg += body;
    CHECK_OK(write_str(p.client.get(), msg.substr(0, 1000)));
    CHECK(qt::run_until(loop.get(), [&] { return qlocal_socket_bytes_available(acc) == 1000; }, 2000));
    auto try_read = [&](std::string &out) {
        qlocal_socket_start_transaction(acc);
        uint8_t h[4];
        size_t n = 0;
        if (qlocal_socket_read(acc, h, 4, &n) != QLOCAL_RESULT_OK || n < 4) {
            qlocal_socket_rollback_transaction(acc);
            return false;
        }
        uint32_t want = uint32_t(h[0]) << 24 | uint32_t(h[1]) << 16 | uint32_t(h[2]) << 8 | h[3];
        if (qlocal_socket_bytes_available(acc) < want) {
            qlocal_socket_rollback_transaction(acc);
            return false;
        }
        out.resize(want);
        if (qlocal_socket_read(acc, reinterpret_cast<uint8_t *>(&out[0]), want, &n) != QLOCAL_RESULT_OK || n != want) {
            qlocal_socket_rollback_transaction(acc);
            return false;
        }
        qlocal_socket_commit_transaction(acc);
        return true;
    };
    std::string got;
    CHECK(!try_read(got));
    CHECK(!qlocal_socket_is_transaction_started(acc));
    CHECK_EQ(qlocal_socket_bytes_available(acc), 1000u);  // the rollback made them readable again
    CHECK_OK(write_str(p.client.get(), msg.substr(1000)));
    CHECK(qt::run_until(loop.get(), [&] { return qlocal_socket_bytes_available(acc) == msg.size(); }, 2000));
    CHECK(try_read(got));
    CHECK(got == body);
    CHECK_EQ(qlocal_socket_bytes_available(acc), 0u);
    // Inside a transaction bytes are consumed (not available) until the rollback.
    CHECK_OK(write_str(p.client.get(), "xyz"));
    CHECK(qt::run_until(loop.get(), [&] { return qlocal_socket_bytes_available(acc) == 3; }, 2000));
    CHECK_OK(qlocal_socket_start_transaction(acc));
    CHECK(qlocal_socket_is_transaction_started(acc));
    size_t skipped = 0;
    CHECK_OK(qlocal_socket_skip(acc, 2, &skipped));
    CHECK_EQ(qlocal_socket_bytes_available(acc), 1u);
    CHECK_OK(qlocal_socket_rollback_transaction(acc));
    CHECK_STREQ(qt::read_all(acc), "xyz");
}

QLOCAL_TEST(iodevice_open_mode_and_about_to_close) {
    auto loop = qt::make_loop();
    auto fresh = qt::make_socket(loop.get());
    CHECK_EQ(qlocal_socket_open_mode(fresh.get()), QLOCAL_OPEN_MODE_NOT_OPEN);
    CHECK(!qlocal_socket_is_open(fresh.get()));
    std::string err;
    qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("open"), err);
    CHECK_STREQ(err, "");
    for (qlocal_socket *s : {p.client.get(), p.accepted.get()}) {
        CHECK_EQ(qlocal_socket_open_mode(s), QLOCAL_OPEN_MODE_READ_WRITE);
        CHECK(qlocal_socket_is_open(s) && qlocal_socket_is_readable(s) && qlocal_socket_is_writable(s));
    }
    qt::Recorder rec;
    rec.attach(p.accepted.get());
    // The peer leaves: the socket stays open while its bytes can still be read (Qt).
    CHECK_OK(write_str(p.client.get(), "left"));
    CHECK_OK(qlocal_socket_disconnect_from_server(p.client.get()));
    CHECK(qt::run_until(loop.get(), [&] { return rec.count("disconnected") == 1; }, 2000));
    CHECK(qlocal_socket_is_open(p.accepted.get()));
    CHECK_EQ(rec.count("about_to_close"), 0u);
    // close(): aboutToClose first (the only one), then not open; buffered input dropped.
    CHECK_OK(qlocal_socket_close(p.accepted.get()));
    CHECK(!qlocal_socket_is_open(p.accepted.get()));
    CHECK_EQ(qlocal_socket_bytes_available(p.accepted.get()), 0u);
    CHECK(qt::run_until(loop.get(), [&] { return rec.count("about_to_close") == 1; }, 2000));
    CHECK_OK(qlocal_socket_close(p.accepted.get()));
    CHECK_OK(qlocal_loop_run(loop.get(), QLOCAL_RUN_MODE_NO_WAIT, 0));
    CHECK_EQ(rec.count("about_to_close"), 1u);
    // abort() of a connected socket: aboutToClose, then the close.
    qt::Pair q = qt::connect_pair(loop.get(), qt::unique_name("open2"), err);
    CHECK_STREQ(err, "");
    qt::Recorder r2;
    r2.attach(q.client.get());
    CHECK_OK(qlocal_socket_abort(q.client.get()));
    CHECK(qt::run_until(loop.get(), [&] { return r2.count("disconnected") == 1; }, 2000));
    CHECK_STREQ(r2.joined(), "about_to_close,state:0,read_channel_finished,disconnected");
    // A reconnect opens again.
    CHECK_OK(qlocal_socket_connect_to_server(q.client.get(), qlocal_server_full_server_name(q.server.get())));
    CHECK_OK(qlocal_socket_wait_for_connected(q.client.get(), 2000));
    CHECK(qlocal_socket_is_open(q.client.get()));
}

QLOCAL_TEST(iodevice_read_only_and_write_only_connections) {
    auto loop = qt::make_loop();
    auto server = qt::make_server(loop.get());
    std::string name = qt::unique_name("modes");
    CHECK_OK(qlocal_server_listen(server.get(), name.c_str()));
    CHECK_RC(qlocal_socket_connect_to_server_with_mode(qt::make_socket(loop.get()).get(), name.c_str(), 0),
             QLOCAL_RESULT_INVALID_ARGUMENT);
    // Read-only: writes refused, reads fine.
    auto ro = qt::make_socket(loop.get());
    CHECK_OK(qlocal_socket_connect_to_server_with_mode(ro.get(), name.c_str(), QLOCAL_OPEN_MODE_READ_ONLY));
    CHECK_OK(qlocal_socket_wait_for_connected(ro.get(), 2000));
    CHECK_OK(qlocal_server_wait_for_new_connection(server.get(), 2000));
    qlocal_socket *ro_peer = nullptr;
    CHECK_OK(qlocal_server_next_pending_connection(server.get(), &ro_peer));
    qt::SocketPtr ro_peer_owner(ro_peer);
    CHECK_EQ(qlocal_socket_open_mode(ro.get()), QLOCAL_OPEN_MODE_READ_ONLY);
    CHECK(qlocal_socket_is_readable(ro.get()) && !qlocal_socket_is_writable(ro.get()));
    CHECK_RC(write_str(ro.get(), "no"), QLOCAL_RESULT_WRONG_STATE);
    CHECK_RC(qlocal_socket_put_char(ro.get(), 'x'), QLOCAL_RESULT_WRONG_STATE);
    CHECK_OK(write_str(ro_peer, "to you"));
    CHECK(qt::run_until(loop.get(), [&] { return qlocal_socket_bytes_available(ro.get()) == 6; }, 2000));
    CHECK_STREQ(qt::read_all(ro.get()), "to you");
    // Write-only: what arrives is dropped, reads refused, the peer's close still seen.
    auto wo = qt::make_socket(loop.get());
    qt::Recorder rec;
    rec.attach(wo.get());
    CHECK_OK(qlocal_socket_connect_to_server_with_mode(wo.get(), name.c_str(), QLOCAL_OPEN_MODE_WRITE_ONLY));
    CHECK_OK(qlocal_socket_wait_for_connected(wo.get(), 2000));
    CHECK_OK(qlocal_server_wait_for_new_connection(server.get(), 2000));
    qlocal_socket *wo_peer = nullptr;
    CHECK_OK(qlocal_server_next_pending_connection(server.get(), &wo_peer));
    qt::SocketPtr wo_peer_owner(wo_peer);
    CHECK_EQ(qlocal_socket_open_mode(wo.get()), QLOCAL_OPEN_MODE_WRITE_ONLY);
    CHECK_OK(write_str(wo.get(), "from me"));
    CHECK(qt::run_until(loop.get(), [&] { return qlocal_socket_bytes_available(wo_peer) == 7; }, 2000));
    CHECK_OK(write_str(wo_peer, "ignored"));
    CHECK_OK(qlocal_socket_disconnect_from_server(wo_peer));
    CHECK(qt::run_until(loop.get(), [&] { return rec.count("disconnected") == 1; }, 2000));
    CHECK_EQ(rec.count("ready_read"), 0u);
    CHECK_EQ(qlocal_socket_bytes_available(wo.get()), 0u);
    uint8_t buf[8];
    size_t n = 0;
    CHECK_RC(qlocal_socket_read(wo.get(), buf, sizeof buf, &n), QLOCAL_RESULT_WRONG_STATE);
    CHECK_RC(qlocal_socket_get_char(wo.get(), buf), QLOCAL_RESULT_WRONG_STATE);
}

// Qt's setSocketDescriptor(fd, state, openMode): the mode applies as for a connect; a state
// other than CONNECTED is refused and the caller keeps the descriptor.
QLOCAL_TEST_POSIX(iodevice_adopted_descriptor_takes_state_and_mode, QT_WHY_ADOPT)
#ifndef _WIN32
{
    auto loop = qt::make_loop();
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    auto reader = qt::make_socket(loop.get());
    auto writer = qt::make_socket(loop.get());
    for (int state : {0, 2, 6, 99}) {
        CHECK_RC(qlocal_socket_set_socket_descriptor_with_state(reader.get(), sv[0], state, QLOCAL_OPEN_MODE_READ_ONLY),
                 QLOCAL_RESULT_INVALID_ARGUMENT);
        CHECK(fcntl(sv[0], F_GETFD) != -1);
    }
    CHECK_RC(qlocal_socket_set_socket_descriptor_with_state(reader.get(), sv[0], QLOCAL_LOCAL_SOCKET_STATE_CONNECTED, 0),
             QLOCAL_RESULT_INVALID_ARGUMENT);
    CHECK_EQ(qlocal_socket_state(reader.get()), QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED);
    CHECK_OK(qlocal_socket_set_socket_descriptor_with_state(reader.get(), sv[0], QLOCAL_LOCAL_SOCKET_STATE_CONNECTED,
                                                            QLOCAL_OPEN_MODE_READ_ONLY));
    CHECK_OK(qlocal_socket_set_socket_descriptor_with_state(writer.get(), sv[1], QLOCAL_LOCAL_SOCKET_STATE_CONNECTED,
                                                            QLOCAL_OPEN_MODE_WRITE_ONLY));
    CHECK_EQ(qlocal_socket_open_mode(reader.get()), QLOCAL_OPEN_MODE_READ_ONLY);
    CHECK_EQ(qlocal_socket_open_mode(writer.get()), QLOCAL_OPEN_MODE_WRITE_ONLY);
    CHECK_RC(write_str(reader.get(), "no"), QLOCAL_RESULT_WRONG_STATE);
    CHECK_OK(write_str(writer.get(), "one way"));
    CHECK_OK(qlocal_socket_wait_for_ready_read(reader.get(), 2000));
    CHECK_STREQ(qt::read_all(reader.get()), "one way");
    uint8_t c = 0;
    CHECK_RC(qlocal_socket_get_char(writer.get(), &c), QLOCAL_RESULT_WRONG_STATE);
}
#endif
