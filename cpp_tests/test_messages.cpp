// QDataStream-framed messages (qlocal_socket_write_message / _read_message / _has_message /
// the message callback / the maximum message size), through the C API. What Qt writes and
// reads is checked byte for byte here; the interop tests run the same sizes against real Qt.
#include "harness.hpp"

#include <cstring>
#include <string>
#include <vector>

namespace {

// The sizes the issue names, plus the null array (-1).
const long kSizes[] = {0, -1, 1, 65535, 65536, 65537, 1024 * 1024 + 3};

std::string be32(uint32_t n) {
    return {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
            static_cast<char>(n)};
}

std::string body(long size, uint32_t seed) {
    if (size <= 0) return {};
    auto v = qt::pattern(static_cast<size_t>(size), seed);
    return std::string(v.begin(), v.end());
}

// What QDataStream << QByteArray writes for `size` bytes of `body(size, seed)` (-1: null).
std::string framed(long size, uint32_t seed) {
    if (size < 0) return be32(0xFFFFFFFFu);
    return be32(static_cast<uint32_t>(size)) + body(size, seed);
}

qlocal_result write_message(qlocal_socket *s, long size, uint32_t seed) {
    if (size < 0) return qlocal_socket_write_message(s, nullptr, 0);
    std::string b = body(size, seed);
    // An empty, non-null array: a valid pointer with length 0.
    return qlocal_socket_write_message(s, reinterpret_cast<const uint8_t *>(b.data()), b.size());
}

qlocal_result write_raw(qlocal_socket *s, const std::string &d) {
    return qlocal_socket_write(s, reinterpret_cast<const uint8_t *>(d.data()), d.size());
}

// A message as read: its bytes, or "<null>".
std::string take_message(qlocal_socket *s, qlocal_result *rc = nullptr) {
    size_t len = 0;
    bool null = false;
    qlocal_result r = qlocal_socket_next_message_size(s, &len, &null);
    if (r == QLOCAL_RESULT_OK) {
        std::string out(len, '\0');
        r = qlocal_socket_read_message(s, reinterpret_cast<uint8_t *>(out.data()), out.size(), &len, &null);
        if (rc) *rc = r;
        return null ? "<null>" : out.substr(0, len);
    }
    if (rc) *rc = r;
    return "<none>";
}

std::string expected_message(long size, uint32_t seed) { return size < 0 ? "<null>" : body(size, seed); }

// The Recorder's tokens, plus "message:<size>" from the message callback, which takes each
// message (with the state inside it) into `messages`.
struct MessageRecorder : qt::Recorder {
    std::vector<std::string> messages;
    bool take = true;
    void attach_messages(qlocal_socket *s) {
        attach(s);
        (void)qlocal_socket_set_message_callback(s, [](void *ud, qlocal_socket *so) {
            auto *r = static_cast<MessageRecorder *>(static_cast<qt::Recorder *>(ud));
            CHECK(qlocal_socket_has_message(so));
            if (!r->take) {
                r->add(so, "message:untaken");
                return;
            }
            std::string m = take_message(so);
            r->add(so, "message:" + std::to_string(m == "<null>" ? -1 : static_cast<long>(m.size())));
            r->messages.push_back(m);
        });
    }
};

}  // namespace

QLOCAL_TEST(message_written_bytes_are_what_qdatastream_writes) {
    auto loop = qt::make_loop();
    std::string err;
    qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("msgwire"), err);
    CHECK_STREQ(err, "");
    std::string expect;
    uint32_t seed = 1;
    for (long size : kSizes) {
        CHECK_OK(write_message(p.client.get(), size, seed));
        expect += framed(size, seed++);
    }
    std::string got;
    CHECK(qt::run_until(loop.get(), [&] {
        got += qt::read_all(p.accepted.get());
        return got.size() >= expect.size();
    }, 10000));
    CHECK_EQ(got.size(), expect.size());
    CHECK(got == expect);
}

QLOCAL_TEST(message_read_takes_what_qdatastream_writes) {
    auto loop = qt::make_loop();
    std::string err;
    qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("msgread"), err);
    CHECK_STREQ(err, "");
    qlocal_socket *acc = p.accepted.get();
    std::string wire;
    uint32_t seed = 7;
    for (long size : kSizes) wire += framed(size, seed++);
    CHECK_OK(write_raw(p.client.get(), wire));
    CHECK(qt::run_until(loop.get(), [&] { return qlocal_socket_bytes_available(acc) == wire.size(); }, 10000));
    seed = 7;
    for (long size : kSizes) {
        CHECK(qlocal_socket_has_message(acc));
        size_t len = 99;
        bool null = true;
        CHECK_OK(qlocal_socket_next_message_size(acc, &len, &null));
        CHECK_EQ(len, static_cast<size_t>(size < 0 ? 0 : size));
        CHECK_EQ(null, size < 0);
        qlocal_result rc = QLOCAL_RESULT_PANIC;
        std::string m = take_message(acc, &rc);
        CHECK_OK(rc);
        CHECK(m == expected_message(size, seed++));
    }
    CHECK(!qlocal_socket_has_message(acc));
    CHECK_EQ(qlocal_socket_bytes_available(acc), 0u);
    size_t len = 5;
    CHECK_RC(qlocal_socket_next_message_size(acc, &len, nullptr), QLOCAL_RESULT_WRONG_STATE);
    CHECK_RC(qlocal_socket_read_message(acc, nullptr, 0, &len, nullptr), QLOCAL_RESULT_WRONG_STATE);
    CHECK_EQ(len, 5u);
}

QLOCAL_TEST(message_is_read_only_once_whole) {
    auto loop = qt::make_loop();
    std::string err;
    qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("msgpart"), err);
    CHECK_STREQ(err, "");
    qlocal_socket *acc = p.accepted.get();
    MessageRecorder rec;
    rec.attach_messages(acc);
    std::string wire = framed(65537, 3);
    // The length alone, then two bytes of it, then most of the body: no message yet.
    for (size_t cut : {size_t{2}, size_t{4}, size_t{6}, wire.size() - 1}) {
        size_t have = qlocal_socket_bytes_available(acc);
        CHECK_OK(write_raw(p.client.get(), wire.substr(have, cut - have)));
        CHECK(qt::run_until(loop.get(), [&] { return qlocal_socket_bytes_available(acc) == cut; }, 5000));
        CHECK(!qlocal_socket_has_message(acc));
        CHECK_EQ(rec.count("message:65537"), 0u);
        size_t len = 0;
        CHECK_RC(qlocal_socket_next_message_size(acc, &len, nullptr), QLOCAL_RESULT_WRONG_STATE);
    }
    CHECK_OK(write_raw(p.client.get(), wire.substr(wire.size() - 1)));
    CHECK(qt::run_until(loop.get(), [&] { return rec.messages.size() == 1; }, 5000));
    CHECK(rec.messages[0] == body(65537, 3));
    CHECK_EQ(qlocal_socket_bytes_available(acc), 0u);
}

// A burst of messages ahead of the peer's close: one callback per message, in order, every one
// before the close's callbacks, with the state of its moment (CONNECTED) inside.
QLOCAL_TEST(message_callback_runs_once_per_message_before_the_close) {
    auto loop = qt::make_loop();
    std::string err;
    qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("msgburst"), err);
    CHECK_STREQ(err, "");
    qlocal_socket *acc = p.accepted.get();
    MessageRecorder rec;
    rec.attach_messages(acc);
    std::vector<long> sizes;
    uint32_t seed = 11;
    for (int i = 0; i < 300; ++i) {
        seed = seed * 1664525u + 1013904223u;
        long size = i < 7 ? kSizes[i] : static_cast<long>(seed % 3000) - 1;  // -1: null
        sizes.push_back(size);
        CHECK_OK(write_message(p.client.get(), size, 100 + i));
    }
    CHECK_OK(qlocal_socket_disconnect_from_server(p.client.get()));
    CHECK(qt::run_until(loop.get(), [&] { return rec.count("disconnected") == 1; }, 10000));
    CHECK_EQ(rec.messages.size(), sizes.size());
    for (size_t i = 0; i < sizes.size(); ++i) CHECK(rec.messages[i] == expected_message(sizes[i], 100 + i));
    // Every message callback came before the close began.
    size_t last_message = 0, first_close = rec.events.size();
    for (size_t i = 0; i < rec.events.size(); ++i) {
        if (rec.events[i].rfind("message:", 0) == 0) last_message = i;
        if (rec.events[i].rfind("error:", 0) == 0 && first_close == rec.events.size()) first_close = i;
    }
    CHECK(last_message < first_close);
    CHECK_EQ(qlocal_socket_bytes_available(acc), 0u);
}

QLOCAL_TEST(message_callback_that_takes_nothing_is_not_repeated) {
    auto loop = qt::make_loop();
    std::string err;
    qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("msgleave"), err);
    CHECK_STREQ(err, "");
    qlocal_socket *acc = p.accepted.get();
    MessageRecorder rec;
    rec.take = false;
    rec.attach_messages(acc);
    // Both in one write, so that they arrive together on every system (two writes to a pipe
    // may come as two reads).
    std::string both = framed(10, 1) + framed(20, 2);
    CHECK_OK(write_raw(p.client.get(), both));
    CHECK(qt::run_until(loop.get(), [&] { return rec.count("message:untaken") >= 1; }, 5000));
    CHECK_EQ(qlocal_socket_bytes_available(acc), both.size());
    // A third message: new bytes bring one more call (the first message is still in front).
    CHECK_OK(write_message(p.client.get(), 0, 3));
    CHECK(qt::run_until(loop.get(), [&] { return rec.count("message:untaken") == 2; }, 5000));
    CHECK_EQ(rec.count("ready_read"), 2u);
    rec.take = true;
    CHECK(take_message(acc) == body(10, 1));
    CHECK(take_message(acc) == body(20, 2));
    CHECK(take_message(acc).empty());
    CHECK(take_message(acc) == "<none>");
}

QLOCAL_TEST(message_buffer_too_small_reads_nothing_and_says_the_size) {
    auto loop = qt::make_loop();
    std::string err;
    qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("msgsmall"), err);
    CHECK_STREQ(err, "");
    qlocal_socket *acc = p.accepted.get();
    CHECK_OK(write_message(p.client.get(), 100, 5));
    CHECK(qt::run_until(loop.get(), [&] { return qlocal_socket_has_message(acc); }, 5000));
    std::vector<uint8_t> small(99);
    size_t len = 0;
    CHECK_RC(qlocal_socket_read_message(acc, small.data(), small.size(), &len, nullptr),
             QLOCAL_RESULT_INVALID_ARGUMENT);
    CHECK_EQ(len, 100u);
    CHECK_EQ(qlocal_socket_bytes_available(acc), 104u);
    CHECK_RC(qlocal_socket_read_message(acc, nullptr, 10, &len, nullptr), QLOCAL_RESULT_NULL_ARGUMENT);
    CHECK_RC(qlocal_socket_read_message(acc, small.data(), small.size(), nullptr, nullptr),
             QLOCAL_RESULT_NULL_ARGUMENT);
    CHECK(take_message(acc) == body(100, 5));
}

QLOCAL_TEST(message_read_in_a_transaction_rolls_back) {
    auto loop = qt::make_loop();
    std::string err;
    qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("msgtxn"), err);
    CHECK_STREQ(err, "");
    qlocal_socket *acc = p.accepted.get();
    CHECK_OK(write_message(p.client.get(), 300, 9));
    CHECK(qt::run_until(loop.get(), [&] { return qlocal_socket_has_message(acc); }, 5000));
    CHECK_OK(qlocal_socket_start_transaction(acc));
    CHECK(take_message(acc) == body(300, 9));
    CHECK_EQ(qlocal_socket_bytes_available(acc), 0u);
    CHECK_OK(qlocal_socket_rollback_transaction(acc));
    CHECK_EQ(qlocal_socket_bytes_available(acc), 304u);
    CHECK(take_message(acc) == body(300, 9));
}

// A length above the maximum is never waited for: the error (DATAGRAM_TOO_LARGE, state still
// CONNECTED inside), then the connection closes at once (no CLOSING), what is buffered dropped.
QLOCAL_TEST(message_above_the_maximum_fails_the_connection) {
    auto loop = qt::make_loop();
    std::string err;
    qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("msgmax"), err);
    CHECK_STREQ(err, "");
    qlocal_socket *acc = p.accepted.get();
    CHECK_EQ(qlocal_socket_max_message_size(acc), static_cast<size_t>(QLOCAL_DEFAULT_MAX_MESSAGE_SIZE));
    CHECK_OK(qlocal_socket_set_max_message_size(acc, 1000));
    CHECK_EQ(qlocal_socket_max_message_size(acc), 1000u);
    MessageRecorder rec;
    rec.attach_messages(acc);
    rec.moments = true;
    // One message at the limit, then a length one above it (its bytes never come).
    CHECK_OK(write_message(p.client.get(), 1000, 4));
    CHECK_OK(write_raw(p.client.get(), be32(1001) + "abc"));
    CHECK(qt::run_until(loop.get(), [&] { return rec.count("disconnected") == 1; }, 5000));
    CHECK_EQ(rec.messages.size(), 1u);
    CHECK(rec.messages[0] == body(1000, 4));
    std::string j = rec.joined();
    CHECK(j.find("error:6{s=3,e=6,") != std::string::npos);
    CHECK(j.find("state:0{s=0,e=6,a=0") != std::string::npos);
    CHECK(j.find("state:6") == std::string::npos);
    CHECK_EQ(qlocal_socket_state(acc), QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED);
    CHECK_EQ(qlocal_socket_error(acc), QLOCAL_LOCAL_SOCKET_ERROR_DATAGRAM_TOO_LARGE);
    std::string text = qlocal_socket_error_string(acc);
    CHECK(text.find("QLocalSocket: Datagram too large") == 0);
    CHECK(text.find("1001") != std::string::npos);
    CHECK_EQ(qlocal_socket_bytes_available(acc), 0u);
}

// Without the callback the check happens where the length is parsed: has_message says no and
// read_message says MESSAGE_TOO_LARGE; a 4 GiB length with the default maximum does not wait.
QLOCAL_TEST(message_above_the_maximum_is_refused_by_read_message) {
    auto loop = qt::make_loop();
    std::string err;
    qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("msgmax2"), err);
    CHECK_STREQ(err, "");
    qlocal_socket *acc = p.accepted.get();
    qt::Recorder rec;
    rec.attach(acc);
    CHECK_OK(write_raw(p.client.get(), be32(0xFFFFFFF0u) + "xyz"));
    CHECK(qt::run_until(loop.get(), [&] { return qlocal_socket_bytes_available(acc) == 7; }, 5000));
    // Plain reads do not look at lengths: the bytes are there.
    uint8_t b[2];
    size_t n = 0;
    CHECK_OK(qlocal_socket_peek(acc, b, 2, &n));
    CHECK_EQ(n, 2u);
    size_t len = 0;
    CHECK_RC(qlocal_socket_read_message(acc, b, 2, &len, nullptr), QLOCAL_RESULT_MESSAGE_TOO_LARGE);
    CHECK_EQ(qlocal_socket_bytes_available(acc), 0u);
    CHECK(!qlocal_socket_has_message(acc));
    CHECK(qt::run_until(loop.get(), [&] { return rec.count("disconnected") == 1; }, 5000));
    CHECK_STREQ(rec.joined(), "ready_read,error:6,state:0,read_channel_finished,disconnected");
    // The writer sees the close (its next write after the peer's close fails or its state ends).
    CHECK(qt::run_until(loop.get(), [&] {
        return qlocal_socket_state(p.client.get()) == QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED;
    }, 5000));
}

QLOCAL_TEST(message_write_refusals) {
    auto loop = qt::make_loop();
    auto s = qt::make_socket(loop.get());
    CHECK_RC(qlocal_socket_write_message(s.get(), nullptr, 0), QLOCAL_RESULT_WRONG_STATE);
    CHECK_RC(qlocal_socket_write_message(s.get(), nullptr, 3), QLOCAL_RESULT_NULL_ARGUMENT);
    CHECK_RC(qlocal_socket_write_message(nullptr, nullptr, 0), QLOCAL_RESULT_NULL_ARGUMENT);
    CHECK(!qlocal_socket_has_message(nullptr));
    CHECK(!qlocal_socket_has_message(s.get()));
    CHECK_EQ(qlocal_socket_max_message_size(nullptr), 0u);
    CHECK_RC(qlocal_socket_set_message_callback(nullptr, nullptr), QLOCAL_RESULT_NULL_ARGUMENT);
    std::string name = qt::unique_name("msgro");
    auto server = qt::make_server(loop.get());
    CHECK_OK(qlocal_server_listen(server.get(), name.c_str()));
    CHECK_OK(qlocal_socket_connect_to_server_with_mode(s.get(), name.c_str(), QLOCAL_OPEN_MODE_READ_ONLY));
    CHECK(qt::run_until(loop.get(), [&] {
        return qlocal_socket_state(s.get()) == QLOCAL_LOCAL_SOCKET_STATE_CONNECTED;
    }, 5000));
    uint8_t one = 1;
    CHECK_RC(qlocal_socket_write_message(s.get(), &one, 1), QLOCAL_RESULT_WRONG_STATE);
}
