// Round-trip latency over one qlocal connection, for scripts/flows.sh beside the epoll floor's
// `--rtt` (bench/epoll_flow.c): a client thread writes 100 bytes and blocks until the echo is
// back (checking every byte, the pattern of flow_stream.hpp), an echo thread blocks until bytes
// arrive and writes them back. Both block in the kernel between messages (Qt's waitFor*
// style, qlocal_socket_wait_for_ready_read); there is no busy polling. 1000 untimed rounds
// first, then N timed ones.
//
//   qlocal-cpp flow-rtt N [BUSY_US]   prints "ok P50_US P99_US" or "error TEXT"
//
// With BUSY_US, both loops busy-poll (qlocal_loop_set_busy_poll) that long before sleeping.
#include "flow.hpp"

#include "flow_stream.hpp"
#include "harness.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <future>
#include <string>
#include <thread>
#include <vector>

namespace qt {

namespace {

constexpr size_t kSize = 100;
constexpr int kWarmup = 1000;
constexpr int kWaitMs = 10000;
int g_busy_us = 0;

LoopPtr rtt_loop() {
    LoopPtr loop = make_loop();
    if (loop && g_busy_us > 0 && qlocal_loop_set_busy_poll(loop.get(), g_busy_us) != QLOCAL_RESULT_OK) return nullptr;
    return loop;
}

// Reads what is available into `buf`, blocking for more only when nothing is; 0 bytes read
// with an OK result never happens (`n` > 0 on success).
qlocal_result read_some(qlocal_socket *s, uint8_t *buf, size_t cap, size_t &n) {
    for (;;) {
        qlocal_result rc = qlocal_socket_read(s, buf, cap, &n);
        if (rc != QLOCAL_RESULT_OK || n > 0) return rc;
        rc = qlocal_socket_wait_for_ready_read(s, kWaitMs);
        if (rc != QLOCAL_RESULT_OK) return rc;
    }
}

// The echo thread: accepts one connection and echoes `total` bytes.
std::string echo(const std::string &name, long long total, std::promise<void> &listening) {
    LoopPtr loop = rtt_loop();
    ServerPtr server = loop ? make_server(loop.get()) : nullptr;
    qlocal_result rc = server ? qlocal_server_listen(server.get(), name.c_str()) : QLOCAL_RESULT_SYSTEM_ERROR;
    listening.set_value();
    if (rc != QLOCAL_RESULT_OK) return "listen: " + result_name(rc);
    rc = qlocal_server_wait_for_new_connection(server.get(), kWaitMs);
    qlocal_socket *raw = nullptr;
    if (rc == QLOCAL_RESULT_OK) rc = qlocal_server_next_pending_connection(server.get(), &raw);
    if (rc != QLOCAL_RESULT_OK || !raw) return "accept: " + result_name(rc);
    SocketPtr conn(raw);
    std::vector<uint8_t> buf(kSize);
    for (long long echoed = 0; echoed < total;) {
        size_t n = 0;
        rc = read_some(conn.get(), buf.data(), buf.size(), n);
        if (rc == QLOCAL_RESULT_OK) rc = qlocal_socket_write(conn.get(), buf.data(), n);
        if (rc != QLOCAL_RESULT_OK) return "echo: " + result_name(rc);
        echoed += static_cast<long long>(n);
    }
    // Keep the socket until the client, which has read the last echo, closes its end.
    rc = qlocal_socket_wait_for_disconnected(conn.get(), kWaitMs);
    if (rc == QLOCAL_RESULT_OK || rc == QLOCAL_RESULT_WRONG_STATE) return "";
    return "waiting for the client to close: " + result_name(rc);
}

// The client side; fills `us` with the timed rounds' microseconds.
std::string ping(const std::string &name, int rounds, std::vector<double> &us) {
    LoopPtr loop = rtt_loop();
    SocketPtr s = loop ? make_socket(loop.get()) : nullptr;
    if (!s) return "cannot create the client";
    qlocal_result rc = qlocal_socket_connect_to_server(s.get(), name.c_str());
    if (rc == QLOCAL_RESULT_OK) rc = qlocal_socket_wait_for_connected(s.get(), kWaitMs);
    if (rc != QLOCAL_RESULT_OK) return "connect: " + result_name(rc);
    std::vector<uint8_t> buf(kSize);
    long long offset = 0;
    for (int k = 0; k < kWarmup + rounds; ++k) {
        double t0 = now_ms();
        rc = qlocal_socket_write(s.get(), flow_stream::at(0, offset), kSize);
        if (rc != QLOCAL_RESULT_OK) return "write: " + result_name(rc);
        for (size_t got = 0; got < kSize;) {
            size_t n = 0;
            rc = read_some(s.get(), buf.data(), kSize - got, n);
            if (rc != QLOCAL_RESULT_OK) return "read: " + result_name(rc);
            if (std::memcmp(buf.data(), flow_stream::at(0, offset + static_cast<long long>(got)), n) != 0)
                return "wrong bytes at offset " + std::to_string(offset + static_cast<long long>(got));
            got += n;
        }
        offset += static_cast<long long>(kSize);
        if (k >= kWarmup) us.push_back((now_ms() - t0) * 1000.0);
    }
    return "";
}

}  // namespace

int flow_rtt_main(int argc, char **argv) {
    int rounds = argc >= 1 && argc <= 2 ? std::atoi(argv[0]) : 0;
    g_busy_us = argc == 2 ? std::atoi(argv[1]) : 0;
    if (rounds <= 0 || g_busy_us < 0) {
        std::printf("error usage: flow-rtt ROUNDS [BUSY_US]\n");
        return 2;
    }
    std::string name = unique_name("rtt");
    std::promise<void> listening;
    std::string server_error;
    long long total = static_cast<long long>(kWarmup + rounds) * static_cast<long long>(kSize);
    std::thread server([&] { server_error = echo(name, total, listening); });
    listening.get_future().wait();
    std::vector<double> us;
    std::string error = ping(name, rounds, us);
    server.join();
    if (error.empty()) error = server_error;
    if (!error.empty()) {
        std::printf("error %s\n", error.c_str());
        return 1;
    }
    std::sort(us.begin(), us.end());
    std::printf("ok %.2f %.2f\n", us[us.size() / 2], us[static_cast<size_t>((us.size() - 1) * 0.99)]);
    return 0;
}

}  // namespace qt
