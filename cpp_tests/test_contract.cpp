// The socket contract, one case per promise: each callback sees its own moment (state, error,
// bytes available, bytes to write read inside it), bytes-written comes before disconnected,
// and no byte the peer sent is lost on any close path (a read bound, a half-close, a send
// error, a destroy during a graceful disconnect). Each case checks the moment of every callback
// and every byte at the end.
#include "harness.hpp"

#ifndef _WIN32
#include <sys/socket.h>
#include <unistd.h>
#endif

#include <string>
#include <vector>

namespace {

using qt::open_fds;

using qt::pattern;

// Appends everything buffered on `s` to `out`.
void drain(qlocal_socket *s, std::vector<uint8_t> &out) {
    uint8_t buf[65536];
    size_t n = 0;
    while (qlocal_socket_read(s, buf, sizeof buf, &n) == QLOCAL_RESULT_OK && n > 0)
        out.insert(out.end(), buf, buf + n);
}

// A socket whose ready-read callback reads everything into `got`.
struct Sink {
    std::vector<uint8_t> got;
    size_t ready_reads = 0;
    size_t max_available = 0;
    void attach(qlocal_socket *s) {
        (void)qlocal_socket_set_userdata(s, this, nullptr);
        (void)qlocal_socket_set_ready_read_callback(s, [](void *ud, qlocal_socket *so) {
            Sink *k = static_cast<Sink *>(ud);
            ++k->ready_reads;
            k->max_available = std::max(k->max_available, qlocal_socket_bytes_available(so));
            drain(so, k->got);
        });
    }
};

qlocal_result write_bytes(qlocal_socket *s, const std::vector<uint8_t> &d) {
    return qlocal_socket_write(s, d.data(), d.size());
}

}  // namespace

// 1. On peer close each callback sees its moment: CONNECTED in ready-read and error, CLOSING in
// state-changed(CLOSING), UNCONNECTED from state-changed(UNCONNECTED) on (Qt 6.4, measured).
QLOCAL_TEST(contract_peer_close_callbacks_see_their_moment) {
    auto loop = qt::make_loop();
    std::string err;
    qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("moment"), err);
    CHECK_STREQ(err, "");
    qt::Recorder rec;
    rec.attach_moments(p.client.get());
    CHECK_RC(qlocal_socket_write(p.accepted.get(), reinterpret_cast<const uint8_t *>("hello"), 5),
             QLOCAL_RESULT_OK);
    CHECK_OK(qlocal_socket_disconnect_from_server(p.accepted.get()));
    CHECK(qt::run_until(loop.get(), [&] { return rec.count("disconnected") == 1; }, 3000));
    CHECK_STREQ(rec.joined(),
                "ready_read{s=3,e=-1,a=5,w=0},error:1{s=3,e=1,a=5,w=0},state:6{s=6,e=1,a=5,w=0},"
                "state:0{s=0,e=1,a=5,w=0},read_channel_finished{s=0,e=1,a=5,w=0},"
                "disconnected{s=0,e=1,a=5,w=0}");
    CHECK_STREQ(qt::read_all(p.client.get()), "hello");
}

// 1. The connect callbacks come after the call, each with its own state, though the connect
// was decided inside the call.
QLOCAL_TEST(contract_connect_callbacks_see_their_moment) {
    auto loop = qt::make_loop();
    auto server = qt::make_server(loop.get());
    std::string name = qt::unique_name("cmoment");
    CHECK_OK(qlocal_server_listen(server.get(), name.c_str()));
    auto client = qt::make_socket(loop.get());
    qt::Recorder rec;
    rec.attach_moments(client.get());
    CHECK_OK(qlocal_socket_connect_to_server(client.get(), name.c_str()));
    CHECK_EQ(qlocal_socket_state(client.get()), QLOCAL_LOCAL_SOCKET_STATE_CONNECTED);
    CHECK(qt::run_until(loop.get(), [&] { return rec.count("connected") == 1; }, 2000));
    CHECK_STREQ(rec.joined(), "state:2{s=2,e=-1,a=0,w=0},state:3{s=3,e=-1,a=0,w=0},connected{s=3,e=-1,a=0,w=0}");
    CHECK_EQ(qlocal_socket_state(client.get()), QLOCAL_LOCAL_SOCKET_STATE_CONNECTED);
}

// 2. write + disconnect: CLOSING, every bytes-written, UNCONNECTED, read channel finished,
// disconnected (Qt 5 and 6), for a write sent at once and for one that stays queued.
QLOCAL_TEST(contract_bytes_written_before_disconnected) {
    for (size_t size : {size_t{10}, size_t{8 * 1024 * 1024 + 13}}) {
        auto loop = qt::make_loop();
        std::string err;
        qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("bwdisc"), err);
        CHECK_STREQ(err, "");
        qt::Recorder rec;
        rec.attach_moments(p.accepted.get());
        Sink sink;
        sink.attach(p.client.get());
        std::vector<uint8_t> data = pattern(size, 7);
        CHECK_OK(write_bytes(p.accepted.get(), data));
        // What the kernel did not take at once stays queued (all of it is reported later).
        size_t queued = qlocal_socket_bytes_to_write(p.accepted.get());
        CHECK(size < 1000 ? queued == 0 : queued > 0);
        CHECK_OK(qlocal_socket_disconnect_from_server(p.accepted.get()));
        // Something is still to be reported, so the close is not finished inside the call.
        CHECK_EQ(qlocal_socket_state(p.accepted.get()), QLOCAL_LOCAL_SOCKET_STATE_CLOSING);
        CHECK(qt::run_until(loop.get(), [&] { return rec.count("disconnected") == 1; }, 20000));
        CHECK_EQ(rec.written_at_disconnected, static_cast<uint64_t>(size));
        CHECK_EQ(rec.written, static_cast<uint64_t>(size));
        // The order and the moments, bytes-written merged: CLOSING first, then every
        // bytes-written (the last with nothing left to write), then the close.
        std::vector<std::string> merged;
        for (const std::string &e : rec.events) {
            bool bw = e.rfind("bytes_written:", 0) == 0;
            if (bw && !merged.empty() && merged.back().rfind("bytes_written", 0) == 0)
                merged.back() = "bytes_written" + e.substr(e.find('{'));
            else
                merged.push_back(bw ? "bytes_written" + e.substr(e.find('{')) : e);
        }
        std::string got;
        for (const std::string &e : merged) got += (got.empty() ? "" : ",") + e;
        std::string closing = "state:6{s=6,e=-1,a=0,w=" + std::to_string(queued) + "}";
        CHECK_STREQ(got, closing +
                             ",bytes_written{s=6,e=-1,a=0,w=0},state:0{s=0,e=-1,a=0,w=0},"
                             "read_channel_finished{s=0,e=-1,a=0,w=0},disconnected{s=0,e=-1,a=0,w=0}");
        CHECK(qt::run_until(loop.get(), [&] { return sink.got.size() >= size; }, 20000));
        CHECK(sink.got == data);
    }
}

// 2. A handler that destroys its socket in disconnected (the replacement for deleteLater) has
// seen every bytes-written by then.
QLOCAL_TEST(contract_destroy_in_disconnected_after_all_bytes_written) {
    auto loop = qt::make_loop();
    std::string err;
    qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("bwdel"), err);
    CHECK_STREQ(err, "");
    struct Owner {
        qt::SocketPtr sock;
        uint64_t written = 0, at_disconnected = 0;
        bool disconnected = false;
    } owner;
    owner.sock = std::move(p.accepted);
    qlocal_socket *s = owner.sock.get();
    CHECK_OK(qlocal_socket_set_userdata(s, &owner, nullptr));
    CHECK_OK(qlocal_socket_set_bytes_written_callback(
        s, [](void *ud, qlocal_socket *, uint64_t n) { static_cast<Owner *>(ud)->written += n; }));
    CHECK_OK(qlocal_socket_set_disconnected_callback(s, [](void *ud, qlocal_socket *) {
        Owner *o = static_cast<Owner *>(ud);
        o->at_disconnected = o->written;
        o->disconnected = true;
        o->sock.reset();
    }));
    CHECK_RC(qlocal_socket_write(s, reinterpret_cast<const uint8_t *>("x"), 1), QLOCAL_RESULT_OK);
    CHECK_OK(qlocal_socket_disconnect_from_server(s));
    CHECK(qt::run_until(loop.get(), [&] { return owner.disconnected; }, 3000));
    CHECK(!owner.sock);
    CHECK_EQ(owner.at_disconnected, 1u);
    CHECK(qt::run_until(loop.get(), [&] { return qlocal_socket_bytes_available(p.client.get()) == 1; }, 3000));
}

// 3. A read bound plus a close loses nothing: the peer wrote 100,000 bytes and closed; our
// side's write then meets the closed peer; every byte still becomes readable, a bound at a time.
QLOCAL_TEST(contract_read_bound_and_send_error_keep_every_peer_byte) {
    for (size_t bound : {size_t{4096}, size_t{65536}}) {
        auto loop = qt::make_loop();
        std::string err;
        qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("rbclose"), err);
        CHECK_STREQ(err, "");
        qlocal_socket *acc = p.accepted.get();
        CHECK_OK(qlocal_socket_set_read_buffer_size(acc, bound));
        std::vector<uint8_t> data = pattern(100000, 11);
        CHECK_OK(write_bytes(p.client.get(), data));
        CHECK_OK(qlocal_socket_disconnect_from_server(p.client.get()));
        CHECK(qt::run_until(loop.get(), [&] {
            return qlocal_socket_state(p.client.get()) == QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED;
        }, 5000));
        p.client.reset();
        // The peer is gone: a write says so, and nothing it sent is lost.
        qlocal_result late = qlocal_socket_write(acc, reinterpret_cast<const uint8_t *>("0123456789abcdef"), 16);
#ifdef _WIN32
        // README, Windows: a destroyed pipe's handle closes through its loop's port, so until
        // this loop has run the write may still be taken; the close is seen below either way.
        CHECK(late == QLOCAL_RESULT_PEER_CLOSED || late == QLOCAL_RESULT_OK);
#else
        CHECK_RC(late, QLOCAL_RESULT_PEER_CLOSED);
#endif
        Sink sink;
        sink.attach(acc);
        // The first bound's worth was read (and announced) before anyone listened: take it,
        // which resumes reading.
        drain(acc, sink.got);
        (void)qlocal_socket_set_disconnected_callback(acc, [](void *ud, qlocal_socket *) {
            static_cast<Sink *>(ud)->got.push_back(0xEE);  // a marker: disconnected came
        });
        CHECK(qt::run_until(loop.get(), [&] { return !sink.got.empty() && sink.got.back() == 0xEE; }, 5000));
        sink.got.pop_back();
        drain(acc, sink.got);
        CHECK_EQ(sink.got.size(), data.size());
        CHECK(sink.got == data);
        CHECK(sink.max_available <= bound);
        CHECK_EQ(qlocal_socket_state(acc), QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED);
        CHECK_EQ(qlocal_socket_error(acc), QLOCAL_LOCAL_SOCKET_ERROR_PEER_CLOSED);
    }
}

// 3. The same without a send error: the bound pauses reading, the peer's close waits behind
// its bytes, and the close callbacks come only after the last byte became readable.
QLOCAL_TEST(contract_read_bound_close_comes_after_the_last_byte) {
    auto loop = qt::make_loop();
    std::string err;
    qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("rbeof"), err);
    CHECK_STREQ(err, "");
    qlocal_socket *acc = p.accepted.get();
    CHECK_OK(qlocal_socket_set_read_buffer_size(acc, 4096));
    std::vector<uint8_t> data = pattern(100000, 12);
    CHECK_OK(write_bytes(p.client.get(), data));
    CHECK_OK(qlocal_socket_disconnect_from_server(p.client.get()));
    struct State {
        std::vector<uint8_t> got;
        size_t at_error = 0;
        bool disconnected = false;
    } st;
    CHECK_OK(qlocal_socket_set_userdata(acc, &st, nullptr));
    CHECK_OK(qlocal_socket_set_ready_read_callback(
        acc, [](void *ud, qlocal_socket *so) { drain(so, static_cast<State *>(ud)->got); }));
    CHECK_OK(qlocal_socket_set_error_callback(acc, [](void *ud, qlocal_socket *, qlocal_local_socket_error) {
        static_cast<State *>(ud)->at_error = static_cast<State *>(ud)->got.size();
    }));
    CHECK_OK(qlocal_socket_set_disconnected_callback(
        acc, [](void *ud, qlocal_socket *) { static_cast<State *>(ud)->disconnected = true; }));
    CHECK(qt::run_until(loop.get(), [&] { return st.disconnected; }, 5000));
    CHECK_EQ(st.at_error, data.size());
    CHECK(st.got == data);
}

// 4. Half-close: the peer sends and shuts down its write side; the reply written in ready-read
// arrives, then the close in Qt's order, each callback with its moment.
QLOCAL_TEST_POSIX(contract_half_close_reply_is_delivered, QT_WHY_HALF_CLOSE)
#ifndef _WIN32
{
    for (size_t size : {size_t{10}, size_t{4 * 1024 * 1024}}) {
        auto loop = qt::make_loop();
        std::string err;
        qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("half"), err);
        CHECK_STREQ(err, "");
        qlocal_socket *acc = p.accepted.get();
        struct Echo {
            qt::Recorder rec;
            size_t echoed = 0;
            qlocal_result last = QLOCAL_RESULT_OK;
        } echo;
        echo.rec.attach_moments(acc);
        // The echo replaces the recorder's ready-read (it still records it).
        CHECK_OK(qlocal_socket_set_userdata(acc, &echo, nullptr));
        CHECK_OK(qlocal_socket_set_ready_read_callback(acc, [](void *ud, qlocal_socket *so) {
            Echo *e = static_cast<Echo *>(ud);
            e->rec.add(so, "ready_read");
            std::vector<uint8_t> in;
            drain(so, in);
            e->last = qlocal_socket_write(so, in.data(), in.size());
            if (e->last == QLOCAL_RESULT_OK) e->echoed += in.size();
        }));
        Sink sink;
        sink.attach(p.client.get());
        std::vector<uint8_t> data = pattern(size, 13);
        CHECK_OK(write_bytes(p.client.get(), data));
        if (size == 10) {
            // Data and FIN before the server reads: one read pass sees both.
            CHECK_EQ(qlocal_socket_bytes_to_write(p.client.get()), 0u);
        } else {
            CHECK(qt::run_until(loop.get(), [&] { return qlocal_socket_bytes_to_write(p.client.get()) == 0; }, 10000));
        }
        CHECK_EQ(::shutdown(qlocal_socket_socket_descriptor(p.client.get()), SHUT_WR), 0);
        CHECK(qt::run_until(loop.get(), [&] { return echo.rec.count("disconnected") == 1; }, 20000));
        CHECK_OK(echo.last);
        CHECK_EQ(echo.echoed, size);
        CHECK(qt::run_until(loop.get(), [&] { return sink.got.size() >= size; }, 20000));
        CHECK(sink.got == data);
        // The server side's callbacks: ready-read(s) while CONNECTED, then the close.
        std::string got;
        for (const std::string &e : echo.rec.events) {
            if (e.rfind("ready_read", 0) == 0 || e.rfind("bytes_written", 0) == 0) {
                std::string kind = e.substr(0, e.find(e[0] == 'r' ? '{' : ':'));
                CHECK(e.find(e[0] == 'r' ? "{s=3,e=-1" : "{s=") != std::string::npos);
                if (!got.empty() && got.substr(got.rfind(',') + 1) == kind) continue;
                got += (got.empty() ? "" : ",") + kind;
            } else {
                got += (got.empty() ? "" : ",") + e.substr(0, e.find(",a="));
            }
        }
        if (size == 10) {
            CHECK_STREQ(got, "ready_read,error:1{s=3,e=1,state:6{s=6,e=1,bytes_written,"
                             "state:0{s=0,e=1,read_channel_finished{s=0,e=1,disconnected{s=0,e=1");
        } else {
            // Big echoes interleave bytes-written with ready-reads before the FIN; the end is
            // the same.
            CHECK(got.find("ready_read,error:1{s=3,e=1,state:6{s=6,e=1,bytes_written,") !=
                  std::string::npos);
            std::string tail = "bytes_written,state:0{s=0,e=1,read_channel_finished{s=0,e=1,disconnected{s=0,e=1";
            CHECK(got.size() > tail.size());
            CHECK_STREQ(got.substr(got.size() - tail.size()), tail);
        }
    }
}
#endif

// 5. Destroy during a graceful disconnect: the loop keeps flushing (no callbacks), the peer
// gets every byte, and the descriptor closes at the end.
QLOCAL_TEST(contract_destroy_after_disconnect_delivers_the_queue) {
    auto loop = qt::make_loop();
    std::string err;
    qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("linger"), err);
    CHECK_STREQ(err, "");
    size_t fds = open_fds();
    Sink sink;
    sink.attach(p.accepted.get());
    std::vector<uint8_t> data = pattern(4 * 1024 * 1024, 17);
    CHECK_OK(write_bytes(p.client.get(), data));
    CHECK_OK(qlocal_socket_disconnect_from_server(p.client.get()));
    CHECK(qlocal_socket_bytes_to_write(p.client.get()) > 0);
    CHECK_EQ(qlocal_socket_linger_timeout(p.client.get()), 30000);
    p.client.reset();
    CHECK_EQ(open_fds(), fds);  // the loop holds the descriptor while it flushes
    CHECK(qt::run_until(loop.get(), [&] {
        return qlocal_socket_state(p.accepted.get()) == QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED;
    }, 20000));
    drain(p.accepted.get(), sink.got);
    CHECK_EQ(sink.got.size(), data.size());
    CHECK(sink.got == data);
    CHECK_EQ(open_fds(), fds - 2);  // the lingering client's and the closed accepted socket's
}

// 5. Linger 0 keeps Qt 6's destructor (abort); a destroy without disconnect aborts; a linger
// that outlives its timeout closes the descriptor when the timeout passes.
QLOCAL_TEST(contract_destroy_aborts_without_disconnect_or_linger) {
    auto loop = qt::make_loop();
    for (int mode = 0; mode < 3; ++mode) {
        std::string err;
        qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("nolinger"), err);
        CHECK_STREQ(err, "");
        size_t fds = open_fds();
        std::vector<uint8_t> data = pattern(4 * 1024 * 1024, 19);
        // The peer takes one byte and then nothing, so the writer's queue cannot drain.
        CHECK_OK(qlocal_socket_set_read_buffer_size(p.accepted.get(), 1));
        CHECK_OK(write_bytes(p.client.get(), data));
        if (mode == 0) CHECK_OK(qlocal_socket_set_linger_timeout(p.client.get(), 0));
        if (mode == 2) CHECK_OK(qlocal_socket_set_linger_timeout(p.client.get(), 100));
        if (mode != 1) CHECK_OK(qlocal_socket_disconnect_from_server(p.client.get()));
        p.client.reset();
        if (mode == 2) {
            // Nobody reads: the descriptor closes once the linger timeout passed.
            CHECK_EQ(open_fds(), fds);
            double start = qt::now_ms();
            CHECK(qt::run_until(loop.get(), [&] { return open_fds() == fds - 1; }, 5000));
            CHECK(qt::now_ms() - start >= 90);
        } else {
            CHECK_EQ(open_fds(), fds - 1);
        }
        // The peer gets what the kernel took, then the close.
        CHECK_OK(qlocal_socket_set_read_buffer_size(p.accepted.get(), 0));
        std::vector<uint8_t> got;
        CHECK(qt::run_until(loop.get(), [&] {
            drain(p.accepted.get(), got);
            return qlocal_socket_state(p.accepted.get()) == QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED;
        }, 5000));
        drain(p.accepted.get(), got);
        CHECK(got.size() < data.size());
        CHECK(std::equal(got.begin(), got.end(), data.begin()));
    }
    CHECK_RC(qlocal_socket_set_linger_timeout(nullptr, 5), QLOCAL_RESULT_NULL_ARGUMENT);
    auto s = qt::make_socket(loop.get());
    CHECK_RC(qlocal_socket_set_linger_timeout(s.get(), -5), QLOCAL_RESULT_INVALID_ARGUMENT);
}

// 5. Destroying the loop ends a linger at once: nothing leaks, the descriptor closes.
QLOCAL_TEST(contract_loop_destroy_ends_a_linger) {
    size_t fds = open_fds();
    {
        auto loop = qt::make_loop();
        std::string err;
        qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("lingerloop"), err);
        CHECK_STREQ(err, "");
        std::vector<uint8_t> data = pattern(4 * 1024 * 1024, 23);
        CHECK_OK(write_bytes(p.client.get(), data));
        CHECK_OK(qlocal_socket_disconnect_from_server(p.client.get()));
        p.client.reset();
        p.accepted.reset();
        p.server.reset();
    }
    CHECK_EQ(open_fds(), fds);
}

// 9. A connect refused for its name returns the code and still gets Qt's callbacks from the
// loop: CONNECTING, error(SERVER_NOT_FOUND), UNCONNECTED, each with its moment.
QLOCAL_TEST(contract_refused_connect_delivers_qt_callbacks) {
    auto loop = qt::make_loop();
    // 300 bytes: too long everywhere (Linux 106 bytes, Windows 256 UTF-16 units).
    for (const std::string &name : {std::string(""), std::string(300, 'n')}) {
        auto client = qt::make_socket(loop.get());
        qt::Recorder rec;
        rec.attach_moments(client.get());
        qlocal_result want = name.empty() ? QLOCAL_RESULT_INVALID_NAME : QLOCAL_RESULT_NAME_TOO_LONG;
        CHECK_RC(qlocal_socket_connect_to_server(client.get(), name.c_str()), want);
        CHECK_EQ(qlocal_socket_state(client.get()), QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED);
        CHECK_STREQ(rec.joined(), "");
        CHECK(qt::run_until(loop.get(), [&] { return rec.events.size() == 3; }, 2000));
        CHECK_STREQ(rec.joined(), "state:2{s=2,e=-1,a=0,w=0},error:2{s=2,e=2,a=0,w=0},state:0{s=0,e=2,a=0,w=0}");
        CHECK_RC(qlocal_socket_wait_for_connected(client.get(), 0), want);
    }
}

// Every wait keeps its deadline when the descriptor stays ready without progress: after the
// peer's end of stream the socket polls readable for ever, and a stuck queue must still time
// out (this spun before).
QLOCAL_TEST_POSIX(contract_waits_keep_their_deadline_after_the_peers_eof, QT_WHY_HALF_CLOSE)
#ifndef _WIN32
{
    auto loop = qt::make_loop();
    std::string err;
    qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("eofwait"), err);
    CHECK_STREQ(err, "");
    // The client reads one byte and then nothing, and half-closes: the server's queue sticks.
    CHECK_OK(qlocal_socket_set_read_buffer_size(p.client.get(), 1));
    CHECK_EQ(::shutdown(qlocal_socket_socket_descriptor(p.client.get()), SHUT_WR), 0);
    std::vector<uint8_t> data = pattern(4 * 1024 * 1024, 29);
    CHECK_OK(write_bytes(p.accepted.get(), data));
    qlocal_socket *acc = p.accepted.get();
    for (int round = 0; round < 3; ++round) {
        double start = qt::now_ms();
        qlocal_result rc = qlocal_socket_wait_for_bytes_written(acc, 100);
        double took = qt::now_ms() - start;
        CHECK(rc == QLOCAL_RESULT_TIMEOUT || rc == QLOCAL_RESULT_OK);
        CHECK(took < 2000);
        start = qt::now_ms();
        rc = qlocal_socket_wait_for_disconnected(acc, 100);
        CHECK_RC(rc, QLOCAL_RESULT_TIMEOUT);
        CHECK(qt::now_ms() - start < 2000);
    }
    // The end of stream was seen: the server is closing, its queue still waiting for the peer.
    CHECK_EQ(qlocal_socket_state(acc), QLOCAL_LOCAL_SOCKET_STATE_CLOSING);
    CHECK(qlocal_socket_bytes_to_write(acc) > 0);
}
#endif

// 5. Two sockets destroyed after a disconnect, each with a queue for the other: a lingering
// socket drops what arrives, so both queues drain and both descriptors close long before the
// linger timeout (they waited for each other to read until it passed, before).
QLOCAL_TEST(contract_two_lingering_sockets_do_not_wait_for_each_other) {
    auto loop = qt::make_loop();
    std::string err;
    qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("linger2"), err);
    CHECK_STREQ(err, "");
    p.server.reset();
    size_t fds = open_fds();
    std::vector<uint8_t> data = pattern(4 * 1024 * 1024, 31);
    for (qlocal_socket *s : {p.client.get(), p.accepted.get()}) {
        CHECK_OK(qlocal_socket_set_read_buffer_size(s, 1));  // neither reads before its destroy
        CHECK_OK(write_bytes(s, data));
        CHECK(qlocal_socket_bytes_to_write(s) > 0);
        CHECK_OK(qlocal_socket_disconnect_from_server(s));
    }
    p.client.reset();
    p.accepted.reset();
    CHECK_EQ(open_fds(), fds);
    double start = qt::now_ms();
    CHECK(qt::run_until(loop.get(), [&] { return open_fds() == fds - 2; }, 10000));
    CHECK(qt::now_ms() - start < 10000);
}
