// qlocal/handle.hpp: owning the C handles: the deleters for std::unique_ptr, and the one base
// (detail::OwnedHandle) that gives EventLoop, Timer, LocalSocket and LocalServer their move,
// release, reset, raw() and explicit bool. Part of qlocal.hpp; compiles on its own.

#ifndef QLOCAL_CPP_HANDLE_HPP
#define QLOCAL_CPP_HANDLE_HPP

#include "qlocal.h"
#include "qlocal/detail/handlers.hpp"
#include "qlocal/result.hpp"

#include <memory>
#include <utility>

namespace qlocal {

// Deleters for owning the C handles directly, e.g. std::unique_ptr<qlocal_socket,
// qlocal::SocketDeleter>, for code that uses the C API but wants RAII.
struct LoopDeleter {
    void operator()(qlocal_loop *p) const noexcept { (void)qlocal_loop_destroy(p); }
};
struct ServerDeleter {
    void operator()(qlocal_server *p) const noexcept { (void)qlocal_server_destroy(p); }
};
struct SocketDeleter {
    void operator()(qlocal_socket *p) const noexcept { (void)qlocal_socket_destroy(p); }
};
struct TimerDeleter {
    void operator()(qlocal_timer *p) const noexcept { (void)qlocal_timer_destroy(p); }
};

namespace detail {

// The one owner of a C handle, base of EventLoop, Timer, LocalSocket and LocalServer (as
// wasmtime's C++ API gives every owning class one helper). It holds the handle (destroyed with
// `Deleter`, i.e. the class's `_destroy`) and a cached pointer to the class's Handlers block,
// which is owned by the C object (its userdata, freed by the C library's finalizer): so the
// pointer moves with the handle and is forgotten whenever the handle is released, reset or
// moved from, and a handler never dangles. Move-only; a moved-from object is null.
//
// release() is protected: a class that gives its handle up says so with `using ...::release;`.
template <class C, class Deleter, class HandlersT>
class OwnedHandle {
public:
    OwnedHandle(const OwnedHandle &) = delete;
    OwnedHandle &operator=(const OwnedHandle &) = delete;

    explicit operator bool() const noexcept { return handle_ != nullptr; }
    C *raw() const noexcept { return handle_.get(); }
    // Destroys the C object now (the object becomes null first). Safe inside the object's own
    // handlers; on the wrong thread the C object is leaked rather than raced.
    void reset() noexcept {
        handlers_ = nullptr;
        handle_.reset();
    }

protected:
    OwnedHandle() noexcept = default;
    // Adopts `adopt` (nullptr: null). Its userdata is replaced by the first handler set.
    explicit OwnedHandle(C *adopt) noexcept : handle_(adopt) {}
    OwnedHandle(OwnedHandle &&o) noexcept
        : handlers_(std::exchange(o.handlers_, nullptr)), handle_(std::move(o.handle_)) {}
    // Takes `o`'s handle, then destroys ours (safe inside its own callback: the running
    // handler's block outlives the call).
    OwnedHandle &operator=(OwnedHandle &&o) noexcept {
        if (this != &o) {
            HandlersT *theirs = std::exchange(o.handlers_, nullptr);
            handlers_ = nullptr;
            handle_ = std::move(o.handle_);
            handlers_ = theirs;
        }
        return *this;
    }
    ~OwnedHandle() { reset(); }

    // Gives the handle up: the caller destroys it; its handlers stay attached and are freed
    // with it.
    C *release() noexcept {
        handlers_ = nullptr;
        return handle_.release();
    }

    // What every create() does: `makeNew(&handle)` (the C constructor), then an Expected
    // holding the derived class adopting the handle, or the constructor's error.
    template <class Self, class MakeNew>
    static Expected<Self> created(MakeNew makeNew) noexcept {
        C *h = nullptr;
        qlocal_result rc = makeNew(&h);
        if (rc != QLOCAL_RESULT_OK) return toResult(rc);
        return Self(h);
    }

    // Sets one signal's handler (see detail::setHandler); the handlers block is made on first
    // use and handed to the C object with `setUserdata`.
    template <class Cb, class SlotT, class Fn>
    Result setHandler(qlocal_result (*setUserdata)(C *, void *, qlocal_finalizer),
                      qlocal_result (*setCallback)(C *, Cb), NonDeduced<Cb> trampoline,
                      SlotT HandlersT::*slot, Fn &&fn) noexcept {
        return detail::setHandler(raw(), handlers_, setUserdata, setCallback, trampoline, slot,
                                  std::forward<Fn>(fn));
    }

private:
    // The handlers block of the C object, nullptr until the first handler is set.
    HandlersT *handlers_ = nullptr;
    std::unique_ptr<C, Deleter> handle_;
};

}  // namespace detail

}  // namespace qlocal

#endif  // QLOCAL_CPP_HANDLE_HPP
