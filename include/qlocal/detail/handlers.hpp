// qlocal/detail/handlers.hpp: the machinery behind the onX(std::function) setters: Slot (one
// signal's handler), Handlers (a C object's userdata block of slots), Call (a function the C
// library runs once: post, singleShot) and setHandler. Not an API; used by the class headers.

#ifndef QLOCAL_CPP_DETAIL_HANDLERS_HPP
#define QLOCAL_CPP_DETAIL_HANDLERS_HPP

#include "qlocal.h"
#include "qlocal/callback_exceptions.hpp"
#include "qlocal/result.hpp"

#include <functional>
#include <new>
#include <utility>

namespace qlocal {

namespace detail {

template <class T>
struct TypeIdentity {
    using type = T;
};
template <class T>
using NonDeduced = typename TypeIdentity<T>::type;

// One signal's handler. A handler replaced (or removed) while it runs keeps running; the new
// one takes over when the outermost call returns.
template <class... Args>
class Slot {
public:
    void set(std::function<void(Args...)> fn) noexcept {
        if (running_ > 0) {
            next_ = std::move(fn);
            replaced_ = true;
        } else {
            fn_ = std::move(fn);
        }
    }

    void call(Args... args) noexcept {
        ++running_;
        try {
            if (fn_) fn_(args...);
        } catch (...) {
            noteCallbackException();
        }
        if (--running_ == 0 && replaced_) {
            replaced_ = false;
            try {
                fn_ = std::move(next_);  // destroys the old handler, which may throw
            } catch (...) {
                noteCallbackException();
            }
            next_ = nullptr;
        }
    }

private:
    std::function<void(Args...)> fn_;
    std::function<void(Args...)> next_;
    int running_ = 0;
    bool replaced_ = false;
};

// Handlers of one C object, owned by it as its userdata. `depth` counts trampolines on the
// stack: if the C object finalizes the block while one runs (userdata replaced inside a
// callback), the last trampoline out deletes it.
template <class Self>
struct Handlers {
    int depth = 0;
    bool finalized = false;

    static void finalize(void *ud) noexcept {
        auto *self = static_cast<Self *>(ud);
        if (!self) return;
        if (self->depth > 0)
            self->finalized = true;
        else
            delete self;
    }

    // Runs `(block->*slot).call(args...)` for a trampoline.
    template <class SlotT, class... Args>
    static void dispatch(void *ud, SlotT Self::*slot, Args... args) noexcept {
        auto *self = static_cast<Self *>(ud);
        if (!self) return;
        ++self->depth;
        (self->*slot).call(args...);
        if (--self->depth == 0 && self->finalized) delete self;
    }
};

// A call the C library runs once and then frees (EventLoop::post, Timer::singleShot).
struct Call {
    std::function<void()> fn;

    static void run(void *ud) noexcept {
        try {
            static_cast<Call *>(ud)->fn();
        } catch (...) {
            noteCallbackException();
        }
    }
    static void finalize(void *ud) noexcept { delete static_cast<Call *>(ud); }

    // Hands `fn` to `submit(Call::run, call, Call::finalize)`, which owns it from then on
    // (its finalizer frees it, also when the submission fails).
    template <class Submit>
    static Result hand(std::function<void()> fn, Submit submit) noexcept {
        if (!fn) return Result::NullArgument;
        auto *c = new (std::nothrow) Call{std::move(fn)};
        if (!c) return Result::ResourceExhausted;
        return toResult(submit(&Call::run, c, &Call::finalize));
    }
};

// Installs a handler on a server or socket whose Handlers block is `block` (allocated on
// first use and handed to the C object with its finalizer).
template <class Handle, class HandlersT, class Cb, class SlotT, class Fn>
Result setHandler(Handle *h, HandlersT *&block,
                  qlocal_result (*setUserdata)(Handle *, void *, qlocal_finalizer),
                  qlocal_result (*setCallback)(Handle *, Cb), NonDeduced<Cb> trampoline,
                  SlotT HandlersT::*slot, Fn &&fn) noexcept {
    if (!h) return Result::NullArgument;
    if (!block) {
        auto *fresh = new (std::nothrow) HandlersT;
        if (!fresh) return Result::ResourceExhausted;
        qlocal_result rc = setUserdata(h, fresh, &HandlersT::finalize);
        if (rc != QLOCAL_RESULT_OK) {
            delete fresh;
            return toResult(rc);
        }
        block = fresh;
    }
    const bool on = static_cast<bool>(fn);
    qlocal_result rc = setCallback(h, on ? trampoline : nullptr);
    if (rc != QLOCAL_RESULT_OK) return toResult(rc);
    (block->*slot).set(std::forward<Fn>(fn));
    return Result::Ok;
}

}  // namespace detail

}  // namespace qlocal

#endif  // QLOCAL_CPP_DETAIL_HANDLERS_HPP
