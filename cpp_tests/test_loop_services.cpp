// Loop services Qt code relies on: timers (QTimer), work posted from any thread (queued
// invokeMethod), deferred destroy (deleteLater).
#include "harness.hpp"

#include <atomic>
#include <thread>
#include <vector>

namespace {

using qt::open_fds;

struct TimerProbe {
    int fired = 0;
    bool active_inside = true;
    int stop_at = -1;     // stop inside the callback at this count
    bool destroy_at_first = false;
    qlocal_timer *timer = nullptr;
    std::vector<double> at;
};

void on_timeout(void *ud, qlocal_timer *t) {
    TimerProbe *p = static_cast<TimerProbe *>(ud);
    ++p->fired;
    p->at.push_back(qt::now_ms());
    p->active_inside = qlocal_timer_is_active(t);
    if (p->fired == p->stop_at) qlocal_timer_stop(t);
    if (p->destroy_at_first) {
        qlocal_timer_destroy(t);
        p->timer = nullptr;
    }
}

int finalized = 0;
void count_finalizer(void *) { ++finalized; }

}  // namespace

QLOCAL_TEST(timer_single_shot_fires_once_after_its_interval) {
    auto loop = qt::make_loop();
    qlocal_timer *t = nullptr;
    CHECK_OK(qlocal_timer_new(loop.get(), &t));
    TimerProbe p;
    CHECK_OK(qlocal_timer_set_userdata(t, &p, nullptr));
    CHECK_OK(qlocal_timer_set_timeout_callback(t, on_timeout));
    CHECK_OK(qlocal_timer_set_single_shot(t, true));
    CHECK(qlocal_timer_is_single_shot(t));
    CHECK(!qlocal_timer_is_active(t));
    CHECK_EQ(qlocal_timer_remaining_time(t), -1);
    double start = qt::now_ms();
    CHECK_OK(qlocal_timer_start(t, 50));
    CHECK(qlocal_timer_is_active(t));
    CHECK_EQ(qlocal_timer_interval(t), 50);
    CHECK(qlocal_timer_remaining_time(t) > 0 && qlocal_timer_remaining_time(t) <= 50);
    CHECK(qt::run_until(loop.get(), [&] { return p.fired == 1; }, 2000));
    CHECK(p.at[0] - start >= 49);
    CHECK(!p.active_inside);  // a single-shot timer is inactive in its own callback, as Qt's
    // Nothing more comes.
    double until = qt::now_ms() + 150;
    CHECK(!qt::run_until(loop.get(), [&] { return p.fired > 1; }, static_cast<int>(until - qt::now_ms())));
    CHECK_EQ(p.fired, 1);
    CHECK_RC(qlocal_timer_start(t, -5), QLOCAL_RESULT_INVALID_ARGUMENT);
    CHECK_OK(qlocal_timer_destroy(t));
}

QLOCAL_TEST(timer_repeats_until_stopped_and_restart_moves_it) {
    auto loop = qt::make_loop();
    qlocal_timer *t = nullptr;
    CHECK_OK(qlocal_timer_new(loop.get(), &t));
    TimerProbe p;
    p.stop_at = 5;
    CHECK_OK(qlocal_timer_set_userdata(t, &p, nullptr));
    CHECK_OK(qlocal_timer_set_timeout_callback(t, on_timeout));
    double start = qt::now_ms();
    CHECK_OK(qlocal_timer_start(t, 10));
    CHECK(qt::run_until(loop.get(), [&] { return p.fired == 5; }, 3000));
    CHECK(p.active_inside);  // repeating: still active inside its callback (until the stop)
    CHECK(!qlocal_timer_is_active(t));
    CHECK(p.at[4] - start >= 49);
    CHECK(!qt::run_until(loop.get(), [&] { return p.fired > 5; }, 100));
    // A restart moves the next timeout; setInterval on an active timer restarts it.
    CHECK_OK(qlocal_timer_start(t, 1000));
    CHECK_OK(qlocal_timer_set_interval(t, 20));
    CHECK_EQ(qlocal_timer_interval(t), 20);
    double restart = qt::now_ms();
    CHECK(qt::run_until(loop.get(), [&] { return p.fired == 6; }, 2000));
    CHECK(p.at[5] - restart < 900);
    CHECK_OK(qlocal_timer_stop(t));
    CHECK_OK(qlocal_timer_destroy(t));
    // A zero-interval repeating timer fires once per loop turn and never starves the loop.
    CHECK_OK(qlocal_timer_new(loop.get(), &t));
    TimerProbe z;
    CHECK_OK(qlocal_timer_set_userdata(t, &z, nullptr));
    CHECK_OK(qlocal_timer_set_timeout_callback(t, on_timeout));
    CHECK_OK(qlocal_timer_start(t, 0));
    CHECK_OK(qlocal_loop_run(loop.get(), QLOCAL_RUN_MODE_NO_WAIT, 0));
    CHECK_EQ(z.fired, 1);
    CHECK_OK(qlocal_loop_run(loop.get(), QLOCAL_RUN_MODE_NO_WAIT, 0));
    CHECK_EQ(z.fired, 2);
    CHECK_OK(qlocal_timer_destroy(t));
}

QLOCAL_TEST(timer_destroy_inside_its_callback_runs_the_finalizer_and_stops_it) {
    auto loop = qt::make_loop();
    qlocal_timer *t = nullptr;
    CHECK_OK(qlocal_timer_new(loop.get(), &t));
    TimerProbe p;
    p.timer = t;
    p.destroy_at_first = true;
    finalized = 0;
    CHECK_OK(qlocal_timer_set_userdata(t, &p, count_finalizer));
    CHECK_OK(qlocal_timer_set_timeout_callback(t, on_timeout));
    CHECK_OK(qlocal_timer_start(t, 5));
    CHECK(qt::run_until(loop.get(), [&] { return p.fired == 1; }, 2000));
    CHECK(p.timer == nullptr);
    CHECK_EQ(finalized, 1);
    CHECK(!qt::run_until(loop.get(), [&] { return p.fired > 1; }, 60));
    // Destroying the loop first: the timer object still answers, and a start is refused.
    CHECK_OK(qlocal_timer_new(loop.get(), &t));
    loop.reset();
    CHECK_RC(qlocal_timer_start(t, 5), QLOCAL_RESULT_WRONG_STATE);
    CHECK_OK(qlocal_timer_destroy(t));
    CHECK_OK(qlocal_timer_destroy(nullptr));
    CHECK_RC(qlocal_timer_new(nullptr, &t), QLOCAL_RESULT_NULL_ARGUMENT);
}

namespace {
struct PostLog {
    std::vector<int> seen[2];
    std::atomic<int> finalized{0};
    std::thread::id loop_thread;
    bool wrong_thread = false;
};
struct PostItem {
    PostLog *log;
    int producer;
    int seq;
};
void run_item(void *ud) {
    PostItem *it = static_cast<PostItem *>(ud);
    if (std::this_thread::get_id() != it->log->loop_thread) it->log->wrong_thread = true;
    it->log->seen[it->producer].push_back(it->seq);
}
void free_item(void *ud) {
    PostItem *it = static_cast<PostItem *>(ud);
    it->log->finalized++;
    delete it;
}
}  // namespace

QLOCAL_TEST(loop_post_runs_posts_from_any_thread_on_the_loop_in_order) {
    auto loop = qt::make_loop();
    PostLog log;
    log.loop_thread = std::this_thread::get_id();
    constexpr int kPerThread = 2000;
    std::atomic<int> refused{0};
    std::vector<std::thread> producers;
    for (int p = 0; p < 2; ++p)
        producers.emplace_back([&, p] {
            for (int i = 0; i < kPerThread; ++i)
                if (qlocal_loop_post(loop.get(), run_item, new PostItem{&log, p, i}, free_item) != QLOCAL_RESULT_OK)
                    refused++;
        });
    CHECK(qt::run_until(loop.get(), [&] {
        return log.seen[0].size() + log.seen[1].size() == 2 * kPerThread;
    }, 10000));
    for (auto &t : producers) t.join();
    CHECK_EQ(refused.load(), 0);
    CHECK(!log.wrong_thread);
    for (int p = 0; p < 2; ++p)
        for (int i = 0; i < kPerThread; ++i) CHECK_EQ(log.seen[p][static_cast<size_t>(i)], i);
    CHECK_EQ(log.finalized.load(), 2 * kPerThread);
    // A post from the loop's own thread runs from its next turn, not inside the call.
    size_t before = log.seen[0].size();
    CHECK_OK(qlocal_loop_post(loop.get(), run_item, new PostItem{&log, 0, -1}, free_item));
    CHECK_EQ(log.seen[0].size(), before);
    CHECK_OK(qlocal_loop_run(loop.get(), QLOCAL_RUN_MODE_NO_WAIT, 0));
    CHECK_EQ(log.seen[0].size(), before + 1);
    CHECK_RC(qlocal_loop_post(nullptr, run_item, nullptr, nullptr), QLOCAL_RESULT_NULL_ARGUMENT);
    CHECK_RC(qlocal_loop_post(loop.get(), nullptr, nullptr, nullptr), QLOCAL_RESULT_NULL_ARGUMENT);
}

QLOCAL_TEST(loop_post_never_run_is_finalized_when_the_loop_is_destroyed) {
    PostLog log;
    log.loop_thread = std::this_thread::get_id();
    {
        auto loop = qt::make_loop();
        for (int i = 0; i < 3; ++i)
            CHECK_OK(qlocal_loop_post(loop.get(), run_item, new PostItem{&log, 0, i}, free_item));
        // The embedding timeout says there is work to do at once.
        int32_t timeout = -5;
        CHECK_OK(qlocal_loop_timeout(loop.get(), &timeout));
        CHECK_EQ(timeout, 0);
    }
    CHECK_EQ(log.seen[0].size(), 0u);
    CHECK_EQ(log.finalized.load(), 3);
}

QLOCAL_TEST(destroy_later_destroys_from_the_next_loop_turn) {
    auto loop = qt::make_loop();
    std::string err;
    qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("later"), err);
    CHECK_STREQ(err, "");
    size_t fds = open_fds();
    struct State {
        qlocal_socket *s = nullptr;
        int ready_reads = 0;
    } st;
    finalized = 0;
    qlocal_socket *acc = p.accepted.release();
    st.s = acc;
    CHECK_OK(qlocal_socket_set_userdata(acc, &st, count_finalizer));
    // deleteLater inside its own ready-read: the socket lives until the loop's next turn.
    CHECK_OK(qlocal_socket_set_ready_read_callback(acc, [](void *ud, qlocal_socket *s) {
        State *st = static_cast<State *>(ud);
        ++st->ready_reads;
        qlocal_socket_destroy_later(s);
        CHECK_EQ(finalized, 0);
    }));
    CHECK_RC(qlocal_socket_write(p.client.get(), reinterpret_cast<const uint8_t *>("x"), 1), QLOCAL_RESULT_OK);
    CHECK(qt::run_until(loop.get(), [&] { return finalized == 1; }, 2000));
    CHECK_EQ(st.ready_reads, 1);
    CHECK_EQ(open_fds(), fds - 1);
    // The peer sees the close.
    CHECK(qt::run_until(loop.get(), [&] {
        return qlocal_socket_state(p.client.get()) == QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED;
    }, 2000));
    // A server too; and one whose loop is destroyed before its turn is still destroyed.
    qlocal_server *srv = p.server.release();
    CHECK_OK(qlocal_server_set_userdata(srv, nullptr, count_finalizer));
    CHECK_OK(qlocal_server_destroy_later(srv));
    CHECK_EQ(finalized, 1);
    CHECK_OK(qlocal_loop_run(loop.get(), QLOCAL_RUN_MODE_NO_WAIT, 0));
    CHECK_EQ(finalized, 2);
    qlocal_socket *c = p.client.release();
    CHECK_OK(qlocal_socket_set_userdata(c, nullptr, count_finalizer));
    CHECK_OK(qlocal_socket_destroy_later(c));
    loop.reset();
    CHECK_EQ(finalized, 3);
    CHECK_OK(qlocal_socket_destroy_later(nullptr));
    CHECK_OK(qlocal_server_destroy_later(nullptr));
}

QLOCAL_TEST(loop_single_shot_runs_once_and_finalizes) {
    auto loop = qt::make_loop();
    PostLog log;
    log.loop_thread = std::this_thread::get_id();
    double start = qt::now_ms();
    CHECK_OK(qlocal_loop_single_shot(loop.get(), 20, run_item, new PostItem{&log, 0, 1}, free_item));
    CHECK_OK(qlocal_loop_single_shot(loop.get(), 0, run_item, new PostItem{&log, 0, 0}, free_item));
    CHECK(qt::run_until(loop.get(), [&] { return log.seen[0].size() == 2; }, 2000));
    CHECK(qt::now_ms() - start >= 19);
    CHECK_EQ(log.seen[0][0], 0);
    CHECK_EQ(log.seen[0][1], 1);
    CHECK_EQ(log.finalized.load(), 2);
    CHECK(!qt::run_until(loop.get(), [&] { return log.seen[0].size() > 2; }, 50));
    // Refused calls are finalized at once; a pending one when the loop goes.
    CHECK_RC(qlocal_loop_single_shot(loop.get(), -1, run_item, new PostItem{&log, 0, 9}, free_item),
             QLOCAL_RESULT_INVALID_ARGUMENT);
    CHECK_RC(qlocal_loop_single_shot(loop.get(), 5, nullptr, new PostItem{&log, 0, 9}, free_item),
             QLOCAL_RESULT_NULL_ARGUMENT);
    CHECK_EQ(log.finalized.load(), 4);
    CHECK_OK(qlocal_loop_single_shot(loop.get(), 60000, run_item, new PostItem{&log, 0, 9}, free_item));
    loop.reset();
    CHECK_EQ(log.finalized.load(), 5);
    CHECK_EQ(log.seen[0].size(), 2u);
}

// Busy-polling (not Qt's): off by default, bounded by the run's own timeout, woken from another
// thread while spinning, and the bytes of an exchange all arrive with it on.
QLOCAL_TEST(loop_busy_poll_is_bounded_and_delivers) {
    auto loop = qt::make_loop();
    CHECK_EQ(qlocal_loop_busy_poll(loop.get()), 0);
    CHECK_RC(qlocal_loop_set_busy_poll(loop.get(), -1), QLOCAL_RESULT_INVALID_ARGUMENT);
    CHECK_RC(qlocal_loop_set_busy_poll(nullptr, 10), QLOCAL_RESULT_NULL_ARGUMENT);
    CHECK_EQ(qlocal_loop_busy_poll(nullptr), -1);
    // A spin of 5 s never outlasts a run of 50 ms.
    CHECK_OK(qlocal_loop_set_busy_poll(loop.get(), 5000000));
    CHECK_EQ(qlocal_loop_busy_poll(loop.get()), 5000000);
    double t0 = qt::now_ms();
    CHECK_RC(qlocal_loop_run(loop.get(), QLOCAL_RUN_MODE_DEFAULT, 50), QLOCAL_RESULT_TIMEOUT);
    CHECK(qt::now_ms() - t0 < 2500);
    // Stopped from another thread while spinning.
    std::thread stopper([&] { (void)qlocal_loop_stop(loop.get()); });
    CHECK_OK(qlocal_loop_run(loop.get(), QLOCAL_RUN_MODE_DEFAULT, 10000));
    stopper.join();
    // An exchange through the loop and through the waits, every byte checked.
    CHECK_OK(qlocal_loop_set_busy_poll(loop.get(), 200));
    std::string err;
    qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("busy"), err);
    CHECK_STREQ(err, "");
    std::vector<uint8_t> data = qt::pattern(300000, 5);
    CHECK_OK(qlocal_socket_write(p.client.get(), data.data(), data.size()));
    std::string got;
    CHECK(qt::run_until(loop.get(), [&] {
        got += qt::read_all(p.accepted.get());
        return got.size() >= data.size();
    }, 10000));
    CHECK(got == std::string(data.begin(), data.end()));
    CHECK_OK(qlocal_socket_write(p.accepted.get(), data.data(), 100));
    CHECK_OK(qlocal_socket_wait_for_ready_read(p.client.get(), 5000));
    CHECK_OK(qlocal_loop_set_busy_poll(loop.get(), 0));
    CHECK_EQ(qlocal_loop_busy_poll(loop.get()), 0);
}
