// qlocal/timer.hpp: qlocal::Timer (QTimer). Part of qlocal.hpp (whose top comment states the
// rules); compiles on its own.

#ifndef QLOCAL_CPP_TIMER_HPP
#define QLOCAL_CPP_TIMER_HPP

#include "qlocal.h"
#include "qlocal/detail/handlers.hpp"
#include "qlocal/event_loop.hpp"
#include "qlocal/handle.hpp"
#include "qlocal/result.hpp"

#include <functional>
#include <utility>

namespace qlocal {

namespace detail {

struct TimerHandlers : Handlers<TimerHandlers> {
    Slot<> timeout;

    static void timeoutTrampoline(void *ud, qlocal_timer *) noexcept { dispatch(ud, &TimerHandlers::timeout); }
};

}  // namespace detail

// ---- Timer ----------------------------------------------------------------------------------

// QTimer: single-shot or repeating, on its loop's thread; the handler runs from the loop's run
// (exec/run/processEvents), never after the Timer is destroyed. Move-only.
class Timer : public detail::OwnedHandle<qlocal_timer, TimerDeleter, detail::TimerHandlers> {
    using Handle = detail::OwnedHandle<qlocal_timer, TimerDeleter, detail::TimerHandlers>;

public:
    Timer() noexcept = default;
    explicit Timer(qlocal_timer *adopt) noexcept : Handle(adopt) {}
    Timer(Timer &&) noexcept = default;
    Timer &operator=(Timer &&) noexcept = default;

    // A stopped, repeating timer with interval 0 on `loop`.
    static Expected<Timer> create(EventLoop &loop) noexcept {
        qlocal_loop *l = loop.raw();
        return created<Timer>([l](qlocal_timer **out) { return qlocal_timer_new(l, out); });
    }
    // Qt's static QTimer::singleShot: `fn` runs once, `msec` from now, from the loop's run;
    // the loop owns the timer (destroying the loop first drops `fn` unrun).
    static Result singleShot(EventLoop &loop, int msec, std::function<void()> fn) noexcept {
        qlocal_loop *l = loop.raw();
        return detail::Call::hand(std::move(fn), [l, msec](qlocal_posted_cb run, void *ud, qlocal_finalizer fin) {
            return qlocal_loop_single_shot(l, static_cast<int32_t>(msec), run, ud, fin);
        });
    }

    // explicit operator bool, raw(): from the handle base (no release(): a Timer keeps its handle).
    // Destroys the timer now: no timeout after this. Safe inside its own handler.
    using Handle::reset;

    // (Re)starts: the first timeout `msec` from now. start() keeps the interval.
    Result start(int msec) noexcept {
        return detail::toResult(qlocal_timer_start(raw(), static_cast<int32_t>(msec)));
    }
    Result start() noexcept { return start(interval()); }
    Result stop() noexcept { return detail::toResult(qlocal_timer_stop(raw())); }
    // An active timer restarts with the new interval (Qt).
    Result setInterval(int msec) noexcept {
        return detail::toResult(qlocal_timer_set_interval(raw(), static_cast<int32_t>(msec)));
    }
    int interval() const noexcept { return qlocal_timer_interval(raw()); }
    // Milliseconds to the next timeout; -1 when inactive.
    int remainingTime() const noexcept { return qlocal_timer_remaining_time(raw()); }
    Result setSingleShot(bool singleShot) noexcept {
        return detail::toResult(qlocal_timer_set_single_shot(raw(), singleShot));
    }
    bool isSingleShot() const noexcept { return qlocal_timer_is_single_shot(raw()); }
    bool isActive() const noexcept { return qlocal_timer_is_active(raw()); }

    // Qt's timeout() signal; empty removes the handler.
    Result onTimeout(std::function<void()> fn) noexcept {
        return setHandler(&qlocal_timer_set_userdata, &qlocal_timer_set_timeout_callback,
                          &detail::TimerHandlers::timeoutTrampoline, &detail::TimerHandlers::timeout,
                          std::move(fn));
    }
};

}  // namespace qlocal

#endif  // QLOCAL_CPP_TIMER_HPP
