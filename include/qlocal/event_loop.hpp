// qlocal/event_loop.hpp: qlocal::EventLoop (QEventLoop). Part of qlocal.hpp (whose top comment
// states the rules: ownership, threads, callbacks, errors); compiles on its own.

#ifndef QLOCAL_CPP_EVENT_LOOP_HPP
#define QLOCAL_CPP_EVENT_LOOP_HPP

#include "qlocal.h"
#include "qlocal/detail/handlers.hpp"
#include "qlocal/handle.hpp"
#include "qlocal/result.hpp"

#include <functional>
#include <utility>

namespace qlocal {

namespace detail {

struct LoopHandlers : Handlers<LoopHandlers> {
    Slot<> wakeUp;

    static void wakeUpTrampoline(void *ud, qlocal_loop *) noexcept { dispatch(ud, &LoopHandlers::wakeUp); }
};

}  // namespace detail

// ---- EventLoop (QEventLoop) -----------------------------------------------------------------

// The loop that runs servers and sockets: one per thread that uses qlocal. Run it
// (exec/run/processEvents), or embed it in another loop with fd() and timeoutMs().
class EventLoop : public detail::OwnedHandle<qlocal_loop, LoopDeleter, detail::LoopHandlers> {
    using Handle = detail::OwnedHandle<qlocal_loop, LoopDeleter, detail::LoopHandlers>;

public:
    EventLoop() noexcept = default;
    // Adopts a loop created with qlocal_loop_new (nullptr: a null EventLoop).
    explicit EventLoop(qlocal_loop *adopt) noexcept : Handle(adopt) {}
    // Moves the loop and its wake-up handler; assigning destroys the loop held before (as the
    // destructor does).
    EventLoop(EventLoop &&) noexcept = default;
    EventLoop &operator=(EventLoop &&) noexcept = default;

    // A loop owned by the calling thread.
    static Expected<EventLoop> create() noexcept {
        return created<EventLoop>([](qlocal_loop **out) { return qlocal_loop_new(out); });
    }

    // explicit operator bool, raw(): from the handle base.
    // Gives the handle up; the caller destroys it with qlocal_loop_destroy (the wake-up
    // handler stays attached and is freed with it).
    using Handle::release;
    // Destroys the loop now (as the destructor does); the object becomes null. Allowed inside
    // one of the loop's own callbacks: the run in progress returns after that callback. On the
    // wrong thread the C loop is left alive (leaked) rather than raced.
    using Handle::reset;

    // Runs the loop: Result::Ok when stopped (Default) or after dispatching (Once, NoWait),
    // Result::Timeout when `timeoutMs` (-1: no bound) passed first, Result::WrongState inside
    // one of this loop's callbacks (not re-entrant).
    [[nodiscard]] Result run(RunMode mode, int timeoutMs = -1) noexcept {
        return detail::toResult(
            qlocal_loop_run(raw(), static_cast<int32_t>(mode), static_cast<int32_t>(timeoutMs)));
    }
    // QEventLoop::exec: runs until stop()/quit() (Result::Ok) or the timeout (Result::Timeout).
    [[nodiscard]] Result exec(int timeoutMs = -1) noexcept { return run(RunMode::Default, timeoutMs); }
    // Dispatches what is ready now, without waiting.
    [[nodiscard]] Result processEvents() noexcept { return run(RunMode::NoWait, 0); }
    // Makes run/exec return (the next one at once if none is running). Any thread.
    Result stop() noexcept { return detail::toResult(qlocal_loop_stop(raw())); }
    // QEventLoop::quit: the same as stop().
    Result quit() noexcept { return stop(); }
    // Wakes the loop, which then runs the onWakeUp handler on its thread (wake-ups made before
    // the loop gets to them coalesce). Any thread.
    Result wakeUp() noexcept { return detail::toResult(qlocal_loop_wakeup(raw())); }

    // Not Qt's busy-polling: before sleeping, run (and on Unix the waits of this loop's
    // objects) polls without waiting for up to `microseconds`; 0 turns it off (the default).
    // Lower latency for a CPU kept busy that long each time the loop would sleep.
    Result setBusyPoll(int microseconds) noexcept {
        return detail::toResult(qlocal_loop_set_busy_poll(raw(), static_cast<int32_t>(microseconds)));
    }
    int busyPoll() const noexcept { return qlocal_loop_busy_poll(raw()); }

    // For embedding: a descriptor that is ready when the loop has work (owned by the loop);
    // -1 on error. A qlocal_descriptor (intptr_t, Qt's qintptr), as every descriptor. Unix: a
    // file descriptor to watch for reading; Windows: an event HANDLE to wait on (the first
    // call starts the loop's watcher thread; see qlocal_loop_fd).
    qlocal_descriptor fd() const noexcept {
        qlocal_descriptor fd = -1;
        return qlocal_loop_fd(raw(), &fd) == QLOCAL_RESULT_OK ? fd : -1;
    }
    [[nodiscard]] Result fd(qlocal_descriptor &out) const noexcept {
        qlocal_descriptor fd = -1;
        qlocal_result rc = qlocal_loop_fd(raw(), &fd);
        if (rc == QLOCAL_RESULT_OK) out = fd;
        return detail::toResult(rc);
    }
    // For embedding: how long to wait on fd() before processEvents(): -1 for no limit, 0 when
    // work is queued. On error 0 (so the next processEvents() reports the error).
    int timeoutMs() const noexcept {
        int32_t t = 0;
        return qlocal_loop_timeout(raw(), &t) == QLOCAL_RESULT_OK ? t : 0;
    }
    [[nodiscard]] Result timeoutMs(int &out) const noexcept {
        int32_t t = 0;
        qlocal_result rc = qlocal_loop_timeout(raw(), &t);
        if (rc == QLOCAL_RESULT_OK) out = t;
        return detail::toResult(rc);
    }
    // True on the thread that owns the loop.
    bool isOwnerThread() const noexcept { return qlocal_loop_is_owner_thread(raw()); }

    // Qt's queued QMetaObject::invokeMethod: runs `fn` on the loop's thread, from its next
    // turn, after everything posted before. Any thread. WrongState once the loop was
    // destroyed; calls never run are freed when it is.
    Result post(std::function<void()> fn) noexcept {
        qlocal_loop *l = raw();
        return detail::Call::hand(std::move(fn), [l](qlocal_posted_cb run, void *ud, qlocal_finalizer fin) {
            return qlocal_loop_post(l, run, ud, fin);
        });
    }

    // The handler run after wakeUp(); empty removes it. Owner thread only.
    Result onWakeUp(std::function<void()> fn) noexcept {
        return setHandler(&qlocal_loop_set_userdata, &qlocal_loop_set_wakeup_callback,
                          &detail::LoopHandlers::wakeUpTrampoline, &detail::LoopHandlers::wakeUp,
                          std::move(fn));
    }
};

}  // namespace qlocal

#endif  // QLOCAL_CPP_EVENT_LOOP_HPP
