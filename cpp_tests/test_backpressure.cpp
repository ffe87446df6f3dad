// Beyond Qt: write backpressure (qlocal_socket_set_write_buffer_limits, QLOCAL_RESULT_QUEUE_FULL,
// the write-drained callback). A reader that does not read makes the writer's queue reach the
// high-water mark: further writes are refused whole (nothing of them is sent), the queue never
// passes the mark, and once the reader drains it the callback says so at the low-water mark.
// Every accepted byte arrives, in order; no refused byte does.
#include "harness.hpp"

#include <string>
#include <vector>

namespace {
struct Drain {
    int calls = 0;
    size_t worst_inside = 0;  // bytes_to_write seen inside the callback
};
}  // namespace

QLOCAL_TEST(backpressure_refuses_above_the_high_water_mark_and_says_when_drained) {
    auto loop = qt::make_loop();
    std::string err;
    qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("bp"), err);
    CHECK_STREQ(err, "");
    qlocal_socket *w = p.client.get();
    qlocal_socket *r = p.accepted.get();
    const size_t high = 1 << 20, low = 256 << 10, chunk = 64 << 10;
    // A reader that does not read: its buffer bound stops it taking more from the kernel.
    CHECK_OK(qlocal_socket_set_read_buffer_size(r, 64 << 10));
    CHECK_RC(qlocal_socket_set_write_buffer_limits(w, low, high), QLOCAL_RESULT_INVALID_ARGUMENT);
    CHECK_OK(qlocal_socket_set_write_buffer_limits(w, high, low));
    CHECK_EQ(qlocal_socket_write_high_water(w), high);
    CHECK_EQ(qlocal_socket_write_low_water(w), low);
    Drain d;
    CHECK_OK(qlocal_socket_set_userdata(w, &d, nullptr));
    CHECK_OK(qlocal_socket_set_write_drained_callback(w, [](void *ud, qlocal_socket *s) {
        auto *d = static_cast<Drain *>(ud);
        ++d->calls;
        d->worst_inside = std::max(d->worst_inside, qlocal_socket_bytes_to_write(s));
    }));
    const size_t goal = 16 << 20;
    std::vector<uint8_t> stream = qt::pattern(goal, 99);
    size_t accepted = 0, refused = 0;
    std::vector<uint8_t> got;
    got.reserve(goal);
    bool reading = false;
    double deadline = qt::now_ms() + 20000;
    while ((accepted < goal || got.size() < accepted) && qt::now_ms() < deadline) {
        if (accepted < goal) {
            size_t n = std::min(chunk, goal - accepted);
            qlocal_result rc = qlocal_socket_write(w, stream.data() + accepted, n);
            if (rc == QLOCAL_RESULT_OK) {
                accepted += n;
            } else {
                CHECK_RC(rc, QLOCAL_RESULT_QUEUE_FULL);
                ++refused;
                reading = true;  // from the first refusal on, the reader drains
            }
            CHECK(qlocal_socket_bytes_to_write(w) <= high);
        }
        CHECK_OK(qlocal_loop_run(loop.get(), QLOCAL_RUN_MODE_NO_WAIT, 0));
        if (reading) {
            std::string s = qt::read_all(r);
            got.insert(got.end(), s.begin(), s.end());
        }
        if (refused > 0 && accepted < goal && qlocal_socket_bytes_to_write(w) > low) {
            // Wait for the queue to move (the reader reads on the next turn).
            CHECK_OK(qlocal_loop_run(loop.get(), QLOCAL_RUN_MODE_ONCE, 100));
        }
    }
    CHECK(refused > 0);
    CHECK(d.calls > 0);
    CHECK(d.worst_inside <= low);
    CHECK_EQ(got.size(), goal);
    CHECK(got == stream);
    // Off again: Qt's unbounded queue.
    CHECK_OK(qlocal_socket_set_write_buffer_limits(w, 0, 0));
    CHECK_EQ(qlocal_socket_write_high_water(w), 0u);
}
