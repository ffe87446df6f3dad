// qlocal.hpp: a header-only C++17 RAII wrapper over qlocal.h whose classes read like Qt's
// QEventLoop / QLocalServer / QLocalSocket, so porting Qt code is mostly renaming.
//
//     qlocal::Expected<qlocal::EventLoop> loop = qlocal::EventLoop::create();
//     qlocal::Expected<qlocal::LocalServer> server = qlocal::LocalServer::create(*loop);
//     if (!loop || !server) return 1;
//     if (!server->listen("my-service"))                       // $TMPDIR/my-service
//         std::fprintf(stderr, "listen: %s\n", server->errorString().c_str());
//     std::vector<std::unique_ptr<qlocal::LocalSocket>> clients;
//     server->onNewConnection([&] {
//         while (qlocal::LocalSocket s = server->nextPendingConnection()) {   // owning
//             auto c = std::make_unique<qlocal::LocalSocket>(std::move(s));
//             qlocal::LocalSocket *p = c.get();
//             p->onReadyRead([p] { (void)p->write(p->readAll()); });          // echo
//             clients.push_back(std::move(c));
//         }
//     });
//     (void)loop->exec();                                      // until loop->stop()
//
// Rules (those of qlocal.h, restated for C++):
//
// - Ownership. EventLoop, LocalServer, LocalSocket and Timer are move-only owners of one C handle each
//   (a std::unique_ptr whose deleter calls the `_destroy` function). Destroying the C++ object
//   destroys the C object. A default-constructed or moved-from object is null:
//   `explicit operator bool` is false, `raw()` is nullptr, fallible calls return
//   Result::NullArgument and queries return Qt's defaults. `release()` gives the handle up
//   (the caller then owns it; signal handlers stay attached and are freed with it) and the
//   explicit constructor from a raw handle adopts one. `LocalServer::nextPendingConnection()`
//   returns an owning LocalSocket, so an accepted connection cannot be leaked. Servers and
//   sockets may outlive their EventLoop object (the C library keeps the loop alive for them).
//   A connected LocalSocket's destructor is Qt 6's (abort: queued output is dropped). After
//   disconnectFromServer() it is not: the loop keeps writing the queue (linger, default 30 s,
//   setLingerTimeout), so `disconnectFromServer(); socket.reset();` delivers every byte.
//
// - Threads. Every object belongs to the thread that created its EventLoop. Calls from another
//   thread fail with Result::WrongThread (queries return their defaults) and do nothing; a
//   destructor run on the wrong thread leaks the C object rather than race. Only
//   EventLoop::stop() / quit() / wakeUp() may be called from any thread (while the EventLoop
//   object itself is alive and not being moved).
//
// - Callbacks (Qt's signals) are set with `onX(std::function<...>)`: one handler per signal;
//   setting replaces the previous handler, an empty function removes it. Handlers live in a
//   heap block owned by the C object (its userdata, freed by the C library's finalizer), so
//   moving the C++ object, or releasing and re-adopting its handle, never leaves a handler
//   dangling (the EventLoop's wake-up handler too). Handlers run on the loop's thread, only inside EventLoop::run/exec/
//   processEvents or a waitForX call, never inside the call that caused them (write, abort,
//   connectToServer...). Whatever a handler captures is the caller's business: capture
//   something whose address is stable (a heap object, a unique_ptr's target), not a
//   LocalSocket that may later move.
//
// - Destroying inside a callback is safe: a handler may reset, move from or replace the very
//   object whose signal it handles (`socket = {}`); the handler itself stays alive until it
//   returns, and no later callback of that object runs. Replacing a handler from inside itself
//   takes effect when it returns. Destroying the EventLoop inside one of its callbacks makes
//   the run in progress return after that callback.
//
// - Errors are values; the wrapper throws nothing of its own (only std::bad_alloc can come out
//   of a call returning std::string, or of building a std::function, never through C). Calls
//   that Qt declares void (connectToServer, abort, close, disconnectFromServer, quit, the
//   setters) return a Result without [[nodiscard]], so Qt code ported as it is compiles under
//   -Werror; calls that Qt declares bool (listen, waitForX, removeServer) return
//   `[[nodiscard]] Outcome`, which tests true on success like
//   Qt's bool and converts to the Result, so a timeout (Result::Timeout) is told apart from a
//   failure. write() returns a Result (bytes are queued whole or refused; no partial writes).
//   Qt's reading calls keep Qt's types (`int64_t read(char *, size_t)` returns -1 on error)
//   and each has an overload returning the Result. Signal setters return a Result too
//   (NullArgument, WrongThread) but without [[nodiscard]], as Qt's connect() result is
//   usually ignored. Constructors are `create()` functions returning Expected<T>: `ok()`,
//   `error()`, `value()` (the null object when it failed).
//
// - Exceptions thrown by a handler never reach the C library: the trampolines are noexcept,
//   catch everything, count it (callbackExceptionCount()) and pass it to the function set
//   with setCallbackExceptionHandler(), if any. The loop carries on.
//
// Everything here is inline, so the header may be included by any number of translation units.

#ifndef QLOCAL_HPP
#define QLOCAL_HPP

#include "qlocal.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace qlocal {

// ---- Result codes and Qt's enums ------------------------------------------------------------

// qlocal_result, with the same values.
enum class Result : int32_t {
    Ok = QLOCAL_RESULT_OK,
    NullArgument = QLOCAL_RESULT_NULL_ARGUMENT,
    InvalidArgument = QLOCAL_RESULT_INVALID_ARGUMENT,
    WrongState = QLOCAL_RESULT_WRONG_STATE,
    WrongThread = QLOCAL_RESULT_WRONG_THREAD,
    NameTooLong = QLOCAL_RESULT_NAME_TOO_LONG,
    InvalidName = QLOCAL_RESULT_INVALID_NAME,
    Panic = QLOCAL_RESULT_PANIC,
    AddressInUse = QLOCAL_RESULT_ADDRESS_IN_USE,
    ServerNotFound = QLOCAL_RESULT_SERVER_NOT_FOUND,
    ConnectionRefused = QLOCAL_RESULT_CONNECTION_REFUSED,
    PeerClosed = QLOCAL_RESULT_PEER_CLOSED,
    AccessDenied = QLOCAL_RESULT_ACCESS_DENIED,
    ResourceExhausted = QLOCAL_RESULT_RESOURCE_EXHAUSTED,
    Timeout = QLOCAL_RESULT_TIMEOUT,
    ConnectionError = QLOCAL_RESULT_CONNECTION_ERROR,
    SystemError = QLOCAL_RESULT_SYSTEM_ERROR,
    NotASocket = QLOCAL_RESULT_NOT_A_SOCKET,
};

// Static text for any Result (unknown values included); never nullptr.
inline const char *resultString(Result r) noexcept {
    return qlocal_result_string(static_cast<int32_t>(r));
}

// The library's version ("0.1.0"); compare with QLOCAL_VERSION_* for a header mismatch.
inline const char *version() noexcept { return qlocal_version_string(); }

// QLocalSocket::LocalSocketError (plus QAbstractSocket's AddressInUseError, which
// LocalServer::serverError() reports), with Qt's values.
enum class LocalSocketError : int32_t {
    ConnectionRefusedError = QLOCAL_LOCAL_SOCKET_ERROR_CONNECTION_REFUSED,
    PeerClosedError = QLOCAL_LOCAL_SOCKET_ERROR_PEER_CLOSED,
    ServerNotFoundError = QLOCAL_LOCAL_SOCKET_ERROR_SERVER_NOT_FOUND,
    SocketAccessError = QLOCAL_LOCAL_SOCKET_ERROR_SOCKET_ACCESS,
    SocketResourceError = QLOCAL_LOCAL_SOCKET_ERROR_SOCKET_RESOURCE,
    SocketTimeoutError = QLOCAL_LOCAL_SOCKET_ERROR_SOCKET_TIMEOUT,
    DatagramTooLargeError = QLOCAL_LOCAL_SOCKET_ERROR_DATAGRAM_TOO_LARGE,
    ConnectionError = QLOCAL_LOCAL_SOCKET_ERROR_CONNECTION,
    AddressInUseError = QLOCAL_LOCAL_SOCKET_ERROR_ADDRESS_IN_USE,
    UnsupportedSocketOperationError = QLOCAL_LOCAL_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION,
    OperationError = QLOCAL_LOCAL_SOCKET_ERROR_OPERATION,
    UnknownSocketError = QLOCAL_LOCAL_SOCKET_ERROR_UNKNOWN,
};

// QLocalSocket::LocalSocketState, with Qt's values.
enum class LocalSocketState : int32_t {
    UnconnectedState = QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED,
    ConnectingState = QLOCAL_LOCAL_SOCKET_STATE_CONNECTING,
    ConnectedState = QLOCAL_LOCAL_SOCKET_STATE_CONNECTED,
    ClosingState = QLOCAL_LOCAL_SOCKET_STATE_CLOSING,
};

// How EventLoop::run runs.
enum class RunMode : int32_t {
    Default = QLOCAL_RUN_MODE_DEFAULT,  // until stop() (or the timeout)
    Once = QLOCAL_RUN_MODE_ONCE,        // wait for one batch of events, dispatch it, return
    NoWait = QLOCAL_RUN_MODE_NO_WAIT,   // dispatch what is ready now (embedding)
};

// The Result of a call that Qt declares bool: true exactly on Result::Ok, so
// `if (!server.listen(name))` ports unchanged, and converts to the Result (compare it,
// switch on it, or `Result r = socket.waitForConnected(100);`) so a timeout is told apart.
class [[nodiscard]] Outcome {
public:
    constexpr Outcome(Result r) noexcept : result_(r) {}
    constexpr explicit operator bool() const noexcept { return result_ == Result::Ok; }
    constexpr operator Result() const noexcept { return result_; }
    constexpr Result result() const noexcept { return result_; }
    const char *toString() const noexcept { return resultString(result_); }

    friend constexpr bool operator==(Outcome a, Outcome b) noexcept { return a.result_ == b.result_; }
    friend constexpr bool operator!=(Outcome a, Outcome b) noexcept { return a.result_ != b.result_; }
    friend constexpr bool operator==(Outcome a, Result b) noexcept { return a.result_ == b; }
    friend constexpr bool operator==(Result a, Outcome b) noexcept { return a == b.result_; }
    friend constexpr bool operator!=(Outcome a, Result b) noexcept { return a.result_ != b; }
    friend constexpr bool operator!=(Result a, Outcome b) noexcept { return a != b.result_; }

private:
    Result result_;
};

// What a create() function returns: the object, or why it could not be made. Never throws:
// value() of a failed Expected is the null object (every call on it fails with
// Result::NullArgument), so forgetting ok() is a reported error, not undefined behaviour.
template <class T>
class [[nodiscard]] Expected {
public:
    Expected(T &&value) noexcept : value_(std::move(value)) {}
    // A failure (Result::Ok without a value is reported as Result::NullArgument).
    Expected(Result error) noexcept : error_(error == Result::Ok ? Result::NullArgument : error) {}

    bool ok() const noexcept { return error_ == Result::Ok; }
    explicit operator bool() const noexcept { return ok(); }
    Result error() const noexcept { return error_; }

    T &value() & noexcept { return value_; }
    const T &value() const & noexcept { return value_; }
    T &&value() && noexcept { return std::move(value_); }
    T &operator*() & noexcept { return value_; }
    const T &operator*() const & noexcept { return value_; }
    T *operator->() noexcept { return &value_; }
    const T *operator->() const noexcept { return &value_; }

private:
    T value_{};
    Result error_ = Result::Ok;
};

// A set of option bits, like QFlags.
template <class Enum>
class Flags {
public:
    using Int = std::underlying_type_t<Enum>;

    constexpr Flags() noexcept = default;
    constexpr Flags(Enum e) noexcept : bits_(static_cast<Int>(e)) {}
    static constexpr Flags fromInt(Int bits) noexcept {
        Flags f;
        f.bits_ = bits;
        return f;
    }
    constexpr Int toInt() const noexcept { return bits_; }
    // Qt's testFlag: every bit of `e` is set (for a zero value: no bit is set).
    constexpr bool testFlag(Enum e) const noexcept {
        Int b = static_cast<Int>(e);
        return b == 0 ? bits_ == 0 : (bits_ & b) == b;
    }
    constexpr explicit operator bool() const noexcept { return bits_ != 0; }

    constexpr Flags operator|(Flags o) const noexcept { return fromInt(bits_ | o.bits_); }
    constexpr Flags operator&(Flags o) const noexcept { return fromInt(bits_ & o.bits_); }
    constexpr Flags operator^(Flags o) const noexcept { return fromInt(bits_ ^ o.bits_); }
    constexpr Flags operator~() const noexcept { return fromInt(static_cast<Int>(~bits_)); }
    constexpr Flags &operator|=(Flags o) noexcept { bits_ |= o.bits_; return *this; }
    constexpr Flags &operator&=(Flags o) noexcept { bits_ &= o.bits_; return *this; }
    constexpr Flags &operator^=(Flags o) noexcept { bits_ ^= o.bits_; return *this; }
    friend constexpr bool operator==(Flags a, Flags b) noexcept { return a.bits_ == b.bits_; }
    friend constexpr bool operator!=(Flags a, Flags b) noexcept { return a.bits_ != b.bits_; }

private:
    Int bits_ = 0;
};

// ---- Deleters ---------------------------------------------------------------------------------

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

// ---- Exceptions thrown by handlers ----------------------------------------------------------

// Called (on the loop's thread) with every exception a handler threw; it must not throw.
using CallbackExceptionHandler = void (*)(std::exception_ptr) noexcept;

namespace detail {

inline std::atomic<uint64_t> g_callbackExceptions{0};
inline std::atomic<CallbackExceptionHandler> g_callbackExceptionHandler{nullptr};

inline void noteCallbackException() noexcept {
    g_callbackExceptions.fetch_add(1, std::memory_order_relaxed);
    if (CallbackExceptionHandler h = g_callbackExceptionHandler.load()) h(std::current_exception());
}

}  // namespace detail

// How many exceptions handlers have thrown (and the wrapper swallowed) in this process.
inline uint64_t callbackExceptionCount() noexcept {
    return detail::g_callbackExceptions.load(std::memory_order_relaxed);
}

// Sets the function told about each swallowed exception (nullptr: none, the default); returns
// the previous one. Any thread.
inline CallbackExceptionHandler setCallbackExceptionHandler(CallbackExceptionHandler h) noexcept {
    return detail::g_callbackExceptionHandler.exchange(h);
}

namespace detail {

inline Result toResult(qlocal_result r) noexcept { return static_cast<Result>(r); }
inline std::string toString(const char *s) { return s ? std::string(s) : std::string(); }

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

struct LoopHandlers : Handlers<LoopHandlers> {
    Slot<> wakeUp;

    static void wakeUpTrampoline(void *ud, qlocal_loop *) noexcept { dispatch(ud, &LoopHandlers::wakeUp); }
};

struct ServerHandlers : Handlers<ServerHandlers> {
    Slot<> newConnection;

    static void newConnectionTrampoline(void *ud, qlocal_server *) noexcept {
        dispatch(ud, &ServerHandlers::newConnection);
    }
};

struct SocketHandlers : Handlers<SocketHandlers> {
    Slot<> connected;
    Slot<> disconnected;
    Slot<> readyRead;
    Slot<> readChannelFinished;
    Slot<LocalSocketError> errorOccurred;
    Slot<LocalSocketState> stateChanged;
    Slot<uint64_t> bytesWritten;
    Slot<> aboutToClose;

    static void connectedTrampoline(void *ud, qlocal_socket *) noexcept {
        dispatch(ud, &SocketHandlers::connected);
    }
    static void aboutToCloseTrampoline(void *ud, qlocal_socket *) noexcept {
        dispatch(ud, &SocketHandlers::aboutToClose);
    }
    static void disconnectedTrampoline(void *ud, qlocal_socket *) noexcept {
        dispatch(ud, &SocketHandlers::disconnected);
    }
    static void readyReadTrampoline(void *ud, qlocal_socket *) noexcept {
        dispatch(ud, &SocketHandlers::readyRead);
    }
    static void readChannelFinishedTrampoline(void *ud, qlocal_socket *) noexcept {
        dispatch(ud, &SocketHandlers::readChannelFinished);
    }
    static void errorOccurredTrampoline(void *ud, qlocal_socket *, qlocal_local_socket_error e) noexcept {
        dispatch(ud, &SocketHandlers::errorOccurred, static_cast<LocalSocketError>(e));
    }
    static void stateChangedTrampoline(void *ud, qlocal_socket *, qlocal_local_socket_state s) noexcept {
        dispatch(ud, &SocketHandlers::stateChanged, static_cast<LocalSocketState>(s));
    }
    static void bytesWrittenTrampoline(void *ud, qlocal_socket *, uint64_t n) noexcept {
        dispatch(ud, &SocketHandlers::bytesWritten, n);
    }
};

struct TimerHandlers : Handlers<TimerHandlers> {
    Slot<> timeout;

    static void timeoutTrampoline(void *ud, qlocal_timer *) noexcept { dispatch(ud, &TimerHandlers::timeout); }
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

class LocalServer;
class LocalSocket;

// ---- EventLoop (QEventLoop) -----------------------------------------------------------------

// The loop that runs servers and sockets: one per thread that uses qlocal. Run it
// (exec/run/processEvents), or embed it in another loop with fd() and timeoutMs().
class EventLoop {
public:
    EventLoop() noexcept = default;
    // Adopts a loop created with qlocal_loop_new (nullptr: a null EventLoop).
    explicit EventLoop(qlocal_loop *adopt) noexcept : handle_(adopt) {}
    EventLoop(EventLoop &&o) noexcept
        : handle_(std::move(o.handle_)), handlers_(std::exchange(o.handlers_, nullptr)) {}
    EventLoop &operator=(EventLoop &&o) noexcept {
        if (this != &o) {
            reset();
            handle_ = std::move(o.handle_);
            handlers_ = std::exchange(o.handlers_, nullptr);
        }
        return *this;
    }
    EventLoop(const EventLoop &) = delete;
    EventLoop &operator=(const EventLoop &) = delete;
    ~EventLoop() { reset(); }

    // A loop owned by the calling thread.
    static Expected<EventLoop> create() noexcept {
        qlocal_loop *l = nullptr;
        qlocal_result rc = qlocal_loop_new(&l);
        if (rc != QLOCAL_RESULT_OK) return detail::toResult(rc);
        return EventLoop(l);
    }

    explicit operator bool() const noexcept { return handle_ != nullptr; }
    qlocal_loop *raw() const noexcept { return handle_.get(); }
    // Gives the handle up; the caller destroys it with qlocal_loop_destroy (the wake-up
    // handler stays attached and is freed with it).
    qlocal_loop *release() noexcept {
        handlers_ = nullptr;
        return handle_.release();
    }
    // Destroys the loop now (as the destructor does); the object becomes null. Allowed inside
    // one of the loop's own callbacks: the run in progress returns after that callback. On the
    // wrong thread the C loop is left alive (leaked) rather than raced.
    void reset() noexcept {
        handlers_ = nullptr;
        qlocal_loop *h = handle_.release();
        if (h) (void)qlocal_loop_destroy(h);
    }

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

    // For embedding: a descriptor that is readable when the loop has work (owned by the loop);
    // -1 on error.
    int fd() const noexcept {
        int32_t fd = -1;
        return qlocal_loop_fd(raw(), &fd) == QLOCAL_RESULT_OK ? fd : -1;
    }
    [[nodiscard]] Result fd(int &out) const noexcept {
        int32_t fd = -1;
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
        return detail::setHandler(raw(), handlers_, &qlocal_loop_set_userdata,
                                  &qlocal_loop_set_wakeup_callback,
                                  &detail::LoopHandlers::wakeUpTrampoline,
                                  &detail::LoopHandlers::wakeUp, std::move(fn));
    }

private:
    std::unique_ptr<qlocal_loop, LoopDeleter> handle_;
    // The wake-up handler block: owned by the C loop (its userdata, freed by its finalizer).
    detail::LoopHandlers *handlers_ = nullptr;
};

// ---- Timer ----------------------------------------------------------------------------------

// QTimer: single-shot or repeating, on its loop's thread; the handler runs from the loop's run
// (exec/run/processEvents), never after the Timer is destroyed. Move-only.
class Timer {
public:
    Timer() noexcept = default;
    explicit Timer(qlocal_timer *adopt) noexcept : handle_(adopt) {}
    Timer(Timer &&o) noexcept : handle_(std::move(o.handle_)), handlers_(std::exchange(o.handlers_, nullptr)) {}
    Timer &operator=(Timer &&o) noexcept {
        if (this != &o) {
            handle_ = std::move(o.handle_);
            handlers_ = std::exchange(o.handlers_, nullptr);
        }
        return *this;
    }
    Timer(const Timer &) = delete;
    Timer &operator=(const Timer &) = delete;
    ~Timer() = default;

    // A stopped, repeating timer with interval 0 on `loop`.
    static Expected<Timer> create(EventLoop &loop) noexcept {
        qlocal_timer *t = nullptr;
        qlocal_result rc = qlocal_timer_new(loop.raw(), &t);
        if (rc != QLOCAL_RESULT_OK) return detail::toResult(rc);
        return Timer(t);
    }
    // Qt's static QTimer::singleShot: `fn` runs once, `msec` from now, from the loop's run;
    // the loop owns the timer (destroying the loop first drops `fn` unrun).
    static Result singleShot(EventLoop &loop, int msec, std::function<void()> fn) noexcept {
        qlocal_loop *l = loop.raw();
        return detail::Call::hand(std::move(fn), [l, msec](qlocal_posted_cb run, void *ud, qlocal_finalizer fin) {
            return qlocal_loop_single_shot(l, static_cast<int32_t>(msec), run, ud, fin);
        });
    }

    explicit operator bool() const noexcept { return handle_ != nullptr; }
    qlocal_timer *raw() const noexcept { return handle_.get(); }
    // Destroys the timer now: no timeout after this. Safe inside its own handler.
    void reset() noexcept {
        handlers_ = nullptr;
        handle_.reset();
    }

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
        return detail::setHandler(raw(), handlers_, &qlocal_timer_set_userdata, &qlocal_timer_set_timeout_callback,
                                  &detail::TimerHandlers::timeoutTrampoline, &detail::TimerHandlers::timeout,
                                  std::move(fn));
    }

private:
    std::unique_ptr<qlocal_timer, TimerDeleter> handle_;
    detail::TimerHandlers *handlers_ = nullptr;
};

// ---- LocalSocket (QLocalSocket) -------------------------------------------------------------

class LocalSocket {
public:
    using LocalSocketError = qlocal::LocalSocketError;
    using LocalSocketState = qlocal::LocalSocketState;

    // QLocalSocket::SocketOption.
    enum SocketOption : uint32_t {
        NoOptions = 0,
        AbstractNamespaceOption = QLOCAL_SOCKET_ABSTRACT_NAMESPACE,
    };
    using SocketOptions = Flags<SocketOption>;
    friend constexpr SocketOptions operator|(SocketOption a, SocketOption b) noexcept {
        return SocketOptions(a) | b;
    }

    // Qt's spellings: qlocal::LocalSocket::ConnectedState, ::PeerClosedError...
    static constexpr LocalSocketState UnconnectedState = LocalSocketState::UnconnectedState;
    static constexpr LocalSocketState ConnectingState = LocalSocketState::ConnectingState;
    static constexpr LocalSocketState ConnectedState = LocalSocketState::ConnectedState;
    static constexpr LocalSocketState ClosingState = LocalSocketState::ClosingState;
    static constexpr LocalSocketError ConnectionRefusedError = LocalSocketError::ConnectionRefusedError;
    static constexpr LocalSocketError PeerClosedError = LocalSocketError::PeerClosedError;
    static constexpr LocalSocketError ServerNotFoundError = LocalSocketError::ServerNotFoundError;
    static constexpr LocalSocketError SocketAccessError = LocalSocketError::SocketAccessError;
    static constexpr LocalSocketError SocketResourceError = LocalSocketError::SocketResourceError;
    static constexpr LocalSocketError SocketTimeoutError = LocalSocketError::SocketTimeoutError;
    static constexpr LocalSocketError DatagramTooLargeError = LocalSocketError::DatagramTooLargeError;
    static constexpr LocalSocketError ConnectionError = LocalSocketError::ConnectionError;
    static constexpr LocalSocketError UnsupportedSocketOperationError =
        LocalSocketError::UnsupportedSocketOperationError;
    static constexpr LocalSocketError OperationError = LocalSocketError::OperationError;
    static constexpr LocalSocketError UnknownSocketError = LocalSocketError::UnknownSocketError;

    LocalSocket() noexcept = default;
    // Adopts a socket (from qlocal_socket_new or qlocal_server_next_pending_connection, or a
    // LocalSocket's release()). The first handler set replaces the socket's userdata.
    explicit LocalSocket(qlocal_socket *adopt) noexcept : handle_(adopt) {}
    LocalSocket(LocalSocket &&o) noexcept
        : handle_(std::move(o.handle_)), handlers_(std::exchange(o.handlers_, nullptr)) {}
    LocalSocket &operator=(LocalSocket &&o) noexcept {
        if (this != &o) {
            handle_ = std::move(o.handle_);  // destroys ours (safe inside its own callback)
            handlers_ = std::exchange(o.handlers_, nullptr);
        }
        return *this;
    }
    LocalSocket(const LocalSocket &) = delete;
    LocalSocket &operator=(const LocalSocket &) = delete;
    ~LocalSocket() = default;

    // An unconnected socket on `loop`.
    static Expected<LocalSocket> create(EventLoop &loop) noexcept {
        qlocal_socket *s = nullptr;
        qlocal_result rc = qlocal_socket_new(loop.raw(), &s);
        if (rc != QLOCAL_RESULT_OK) return detail::toResult(rc);
        return LocalSocket(s);
    }

    explicit operator bool() const noexcept { return handle_ != nullptr; }
    qlocal_socket *raw() const noexcept { return handle_.get(); }
    // Gives the handle up (the caller destroys it with qlocal_socket_destroy); its handlers
    // stay attached and are freed with it.
    qlocal_socket *release() noexcept {
        handlers_ = nullptr;
        return handle_.release();
    }
    // Destroys the socket now: no handler runs after this. Connected: abort (Qt 6's
    // destructor); during a graceful close the loop keeps flushing (lingerTimeout()). Safe
    // inside its own handlers.
    void reset() noexcept {
        handlers_ = nullptr;
        handle_.reset();
    }
    // Qt's deleteLater(): the socket is destroyed from the loop's next turn (its handlers may
    // run until then); this object becomes null at once. Safe inside its own handlers.
    void deleteLater() noexcept {
        handlers_ = nullptr;
        if (qlocal_socket *h = handle_.release()) (void)qlocal_socket_destroy_later(h);
    }

    // -- connecting --
    // Connects to `name` (Qt's name rules). Result::Ok once the attempt is decided or under way
    // (state() tells which; a failure is also reported by onErrorOccurred and waitForConnected).
    Result connectToServer(const char *name) noexcept {
        return detail::toResult(qlocal_socket_connect_to_server(raw(), name));
    }
    // Qt's QIODevice::OpenModeFlag values, for connectToServer(name, openMode).
    static constexpr int NotOpen = 0, ReadOnly = 1, WriteOnly = 2, ReadWrite = 3;
    // Qt's connectToServer(name, openMode): ReadOnly refuses writes (WrongState); WriteOnly
    // drops what the peer sends and refuses reads, and still sees the peer's close.
    Result connectToServer(const char *name, int openMode) noexcept {
        return detail::toResult(qlocal_socket_connect_to_server_with_mode(raw(), name, openMode));
    }
    Result connectToServer(const std::string &name, int openMode) noexcept {
        return connectToServer(name.c_str(), openMode);
    }
    // Qt's open(openMode): connects to the name set with setServerName; true when open (on
    // Linux the connect is decided at once; past a full listen backlog it is not yet).
    bool open(int openMode = ReadWrite) noexcept {
        (void)qlocal_socket_connect_to_server_with_mode(raw(), nullptr, openMode);
        return isOpen();
    }
    Result connectToServer(const std::string &name) noexcept {
        return connectToServer(name.c_str());
    }
    // Connects to the name set with setServerName().
    Result connectToServer() noexcept {
        return detail::toResult(qlocal_socket_connect_to_server(raw(), nullptr));
    }
    Result setServerName(const char *name) noexcept {
        return detail::toResult(qlocal_socket_set_server_name(raw(), name));
    }
    Result setServerName(const std::string &name) noexcept {
        return setServerName(name.c_str());
    }
    std::string serverName() const { return detail::toString(qlocal_socket_server_name(raw())); }
    std::string fullServerName() const {
        return detail::toString(qlocal_socket_full_server_name(raw()));
    }
    Result setSocketOptions(SocketOptions options) noexcept {
        return detail::toResult(qlocal_socket_set_socket_options(raw(), options.toInt()));
    }
    SocketOptions socketOptions() const noexcept {
        return SocketOptions::fromInt(qlocal_socket_socket_options(raw()));
    }
    // How long a connect retries a full listen backlog (default 30000 ms; not a Qt API).
    Result setConnectTimeout(int msecs) noexcept {
        return detail::toResult(qlocal_socket_set_connect_timeout(raw(), static_cast<int32_t>(msecs)));
    }
    int connectTimeout() const noexcept { return qlocal_socket_connect_timeout(raw()); }
    // How long a socket destroyed during a graceful close (after disconnectFromServer) keeps
    // writing its queue from the loop (default 30000 ms; 0: destroy aborts, as Qt 6; not a
    // Qt API). See qlocal_socket_destroy.
    Result setLingerTimeout(int msecs) noexcept {
        return detail::toResult(qlocal_socket_set_linger_timeout(raw(), static_cast<int32_t>(msecs)));
    }
    int lingerTimeout() const noexcept { return qlocal_socket_linger_timeout(raw()); }
    // Ok when connected; the failure's Result (ServerNotFound: no such socket file;
    // ConnectionRefused: a socket file nobody accepts on, or an abstract name nobody listens
    // on, as Qt 6...) when the connect failed; Timeout when time ran out first (the attempt
    // goes on).
    [[nodiscard]] Outcome waitForConnected(int msecs = 30000) noexcept {
        return detail::toResult(qlocal_socket_wait_for_connected(raw(), static_cast<int32_t>(msecs)));
    }

    // -- closing --
    // Graceful: queued bytes are still written, then the socket closes.
    Result disconnectFromServer() noexcept {
        return detail::toResult(qlocal_socket_disconnect_from_server(raw()));
    }
    // Immediate: queued output and buffered input are dropped.
    Result abort() noexcept { return detail::toResult(qlocal_socket_abort(raw())); }
    // Buffered input is dropped, then a graceful disconnect.
    Result close() noexcept { return detail::toResult(qlocal_socket_close(raw())); }
    [[nodiscard]] Outcome waitForDisconnected(int msecs = 30000) noexcept {
        return detail::toResult(qlocal_socket_wait_for_disconnected(raw(), static_cast<int32_t>(msecs)));
    }

    // -- state --
    LocalSocketState state() const noexcept {
        return static_cast<LocalSocketState>(qlocal_socket_state(raw()));
    }
    LocalSocketError error() const noexcept {
        return static_cast<LocalSocketError>(qlocal_socket_error(raw()));
    }
    std::string errorString() const { return detail::toString(qlocal_socket_error_string(raw())); }
    // True while connecting, connected or closing.
    bool isValid() const noexcept { return qlocal_socket_is_valid(raw()); }
    // The descriptor (owned by the socket), or -1.
    int socketDescriptor() const noexcept { return qlocal_socket_socket_descriptor(raw()); }
    // Qt's setSocketDescriptor: adopts a connected AF_UNIX stream socket (e.g. a socketpair
    // end) while unconnected; the socket owns it on success, the caller keeps it on failure.
    [[nodiscard]] Outcome setSocketDescriptor(int socketDescriptor) noexcept {
        return detail::toResult(qlocal_socket_set_socket_descriptor(raw(), socketDescriptor));
    }

    // -- reading (never blocks; buffered bytes stay readable after disconnection) --
    int64_t bytesAvailable() const noexcept {
        return static_cast<int64_t>(qlocal_socket_bytes_available(raw()));
    }
    // Qt's read(char *, qint64): bytes read (0 when none are buffered), -1 on error.
    int64_t read(char *data, size_t maxSize) noexcept {
        size_t n = 0;
        return read(data, maxSize, n) == Result::Ok ? static_cast<int64_t>(n) : -1;
    }
    [[nodiscard]] Result read(char *data, size_t maxSize, size_t &readOut) noexcept {
        return detail::toResult(
            qlocal_socket_read(raw(), reinterpret_cast<uint8_t *>(data), maxSize, &readOut));
    }
    // Up to `maxSize` buffered bytes ("" when none or on error).
    std::string read(size_t maxSize) {
        return take(maxSize, &qlocal_socket_read);
    }
    // Everything buffered.
    std::string readAll() { return take(SIZE_MAX, &qlocal_socket_read); }
    // Like read, leaving the bytes buffered.
    int64_t peek(char *data, size_t maxSize) noexcept {
        size_t n = 0;
        return peek(data, maxSize, n) == Result::Ok ? static_cast<int64_t>(n) : -1;
    }
    [[nodiscard]] Result peek(char *data, size_t maxSize, size_t &peekedOut) noexcept {
        return detail::toResult(
            qlocal_socket_peek(raw(), reinterpret_cast<uint8_t *>(data), maxSize, &peekedOut));
    }
    std::string peek(size_t maxSize) { return take(maxSize, &qlocal_socket_peek); }
    // Discards up to `maxSize` buffered bytes: how many, or -1 on error.
    int64_t skip(size_t maxSize) noexcept {
        size_t n = 0;
        return skip(maxSize, n) == Result::Ok ? static_cast<int64_t>(n) : -1;
    }
    [[nodiscard]] Result skip(size_t maxSize, size_t &skippedOut) noexcept {
        return detail::toResult(qlocal_socket_skip(raw(), maxSize, &skippedOut));
    }
    // True when a whole line ('\n') is buffered.
    bool canReadLine() const noexcept { return qlocal_socket_can_read_line(raw()); }
    // Qt's getChar: false (c untouched) when nothing is buffered.
    bool getChar(char *c) noexcept {
        uint8_t b = 0;
        if (qlocal_socket_get_char(raw(), &b) != QLOCAL_RESULT_OK) return false;
        if (c) *c = static_cast<char>(b);
        return true;
    }
    // Qt's putChar: true when the byte was queued.
    bool putChar(char c) noexcept { return qlocal_socket_put_char(raw(), static_cast<uint8_t>(c)) == QLOCAL_RESULT_OK; }
    void ungetChar(char c) noexcept { (void)qlocal_socket_unget_char(raw(), static_cast<uint8_t>(c)); }
    // Nothing buffered and nothing more can come (Qt's atEnd is true for any empty buffer).
    bool atEnd() const noexcept { return qlocal_socket_at_end(raw()); }
    // Read transactions, as Qt's (QDataStream reads whole messages with them).
    void startTransaction() noexcept { (void)qlocal_socket_start_transaction(raw()); }
    void commitTransaction() noexcept { (void)qlocal_socket_commit_transaction(raw()); }
    void rollbackTransaction() noexcept { (void)qlocal_socket_rollback_transaction(raw()); }
    bool isTransactionStarted() const noexcept { return qlocal_socket_is_transaction_started(raw()); }
    // Qt's OpenMode values (NotOpen, ReadOnly, WriteOnly, ReadWrite), from a connect until
    // close/abort.
    int openMode() const noexcept { return static_cast<int>(qlocal_socket_open_mode(raw())); }
    bool isOpen() const noexcept { return qlocal_socket_is_open(raw()); }
    bool isReadable() const noexcept { return qlocal_socket_is_readable(raw()); }
    bool isWritable() const noexcept { return qlocal_socket_is_writable(raw()); }
    // Qt's readLine(char *, qint64): at most maxSize - 1 bytes through the first '\n', then a
    // NUL; the count without the NUL, or -1 on error (maxSize < 2 included).
    int64_t readLine(char *data, size_t maxSize) noexcept {
        size_t n = 0;
        return readLine(data, maxSize, n) == Result::Ok ? static_cast<int64_t>(n) : -1;
    }
    [[nodiscard]] Result readLine(char *data, size_t maxSize, size_t &readOut) noexcept {
        return detail::toResult(
            qlocal_socket_read_line(raw(), reinterpret_cast<uint8_t *>(data), maxSize, &readOut));
    }
    // Qt's readLine(qint64 maxSize = 0): a line with its '\n', at most `maxSize` bytes (0: no
    // limit); what is buffered when no whole line is (check canReadLine() first).
    std::string readLine(size_t maxSize = 0) {
        size_t avail = qlocal_socket_bytes_available(raw());
        size_t want = maxSize == 0 || maxSize > avail ? avail : maxSize;
        if (want == 0) return std::string();
        std::string out(want + 1, '\0');  // + the NUL the C call writes
        size_t n = 0;
        if (readLine(out.data(), out.size(), n) != Result::Ok) n = 0;
        out.resize(n);
        return out;
    }
    Result setReadBufferSize(int64_t size) noexcept {
        if (size < 0) return Result::InvalidArgument;
        return detail::toResult(qlocal_socket_set_read_buffer_size(raw(), static_cast<size_t>(size)));
    }
    int64_t readBufferSize() const noexcept {
        return static_cast<int64_t>(qlocal_socket_read_buffer_size(raw()));
    }
    // Ok when new bytes arrived; PeerClosed; Timeout (the socket stays connected, error()
    // becomes SocketTimeoutError as in Qt); WrongState when not connected.
    [[nodiscard]] Outcome waitForReadyRead(int msecs = 30000) noexcept {
        return detail::toResult(qlocal_socket_wait_for_ready_read(raw(), static_cast<int32_t>(msecs)));
    }

    // -- writing --
    // Queues all `size` bytes (copied) or refuses them whole (WrongState unless connected,
    // ResourceExhausted; InvalidArgument for a size above PTRDIFF_MAX or past the end of the
    // address space; PeerClosed once a send met the closed peer: the bytes could never arrive,
    // and the close's handlers follow once its last bytes were read). Unlike Qt's qint64
    // result, a partial write cannot happen.
    [[nodiscard]] Result write(const char *data, size_t size) noexcept {
        if (size == 0 && !data) data = "";
        return detail::toResult(qlocal_socket_write(raw(), reinterpret_cast<const uint8_t *>(data), size));
    }
    [[nodiscard]] Result write(std::string_view data) noexcept { return write(data.data(), data.size()); }
    // Qt's write(const char *): a NUL-terminated string.
    [[nodiscard]] Result write(const char *data) noexcept {
        return data ? write(std::string_view(data)) : Result::NullArgument;
    }
    int64_t bytesToWrite() const noexcept {
        return static_cast<int64_t>(qlocal_socket_bytes_to_write(raw()));
    }
    // Qt's flush(): sends queued bytes without blocking; true when anything was sent.
    bool flush() noexcept {
        bool wrote = false;
        return flush(wrote) == Result::Ok && wrote;
    }
    [[nodiscard]] Result flush(bool &wrote) noexcept {
        bool w = false;
        qlocal_result rc = qlocal_socket_flush(raw(), &w);
        if (rc == QLOCAL_RESULT_OK) wrote = w;
        return detail::toResult(rc);
    }
    // Ok once some queued bytes were written; WrongState when nothing is queued; Timeout.
    [[nodiscard]] Outcome waitForBytesWritten(int msecs = 30000) noexcept {
        return detail::toResult(qlocal_socket_wait_for_bytes_written(raw(), static_cast<int32_t>(msecs)));
    }

    // -- signals (one handler each; empty removes; see the rules at the top) --
    Result onConnected(std::function<void()> fn) noexcept {
        return set(&qlocal_socket_set_connected_callback, &detail::SocketHandlers::connectedTrampoline,
                   &detail::SocketHandlers::connected, std::move(fn));
    }
    Result onDisconnected(std::function<void()> fn) noexcept {
        return set(&qlocal_socket_set_disconnected_callback,
                   &detail::SocketHandlers::disconnectedTrampoline,
                   &detail::SocketHandlers::disconnected, std::move(fn));
    }
    Result onErrorOccurred(std::function<void(LocalSocketError)> fn) noexcept {
        return set(&qlocal_socket_set_error_callback, &detail::SocketHandlers::errorOccurredTrampoline,
                   &detail::SocketHandlers::errorOccurred, std::move(fn));
    }
    Result onStateChanged(std::function<void(LocalSocketState)> fn) noexcept {
        return set(&qlocal_socket_set_state_changed_callback,
                   &detail::SocketHandlers::stateChangedTrampoline,
                   &detail::SocketHandlers::stateChanged, std::move(fn));
    }
    // Once per batch of new bytes; never re-entered.
    Result onReadyRead(std::function<void()> fn) noexcept {
        return set(&qlocal_socket_set_ready_read_callback, &detail::SocketHandlers::readyReadTrampoline,
                   &detail::SocketHandlers::readyRead, std::move(fn));
    }
    // How many bytes left the queue since the last call.
    Result onBytesWritten(std::function<void(uint64_t)> fn) noexcept {
        return set(&qlocal_socket_set_bytes_written_callback,
                   &detail::SocketHandlers::bytesWrittenTrampoline,
                   &detail::SocketHandlers::bytesWritten, std::move(fn));
    }
    Result onReadChannelFinished(std::function<void()> fn) noexcept {
        return set(&qlocal_socket_set_read_channel_finished_callback,
                   &detail::SocketHandlers::readChannelFinishedTrampoline,
                   &detail::SocketHandlers::readChannelFinished, std::move(fn));
    }
    // Qt's aboutToClose: from close() and abort() of an open socket, before its other handlers.
    Result onAboutToClose(std::function<void()> fn) noexcept {
        return set(&qlocal_socket_set_about_to_close_callback, &detail::SocketHandlers::aboutToCloseTrampoline,
                   &detail::SocketHandlers::aboutToClose, std::move(fn));
    }

private:
    template <class Cb, class SlotT, class Fn>
    Result set(qlocal_result (*setCallback)(qlocal_socket *, Cb), detail::NonDeduced<Cb> trampoline,
               SlotT detail::SocketHandlers::*slot, Fn &&fn) noexcept {
        return detail::setHandler(raw(), handlers_, &qlocal_socket_set_userdata, setCallback, trampoline,
                                  slot, std::forward<Fn>(fn));
    }

    // read/peek into a string of at most `maxSize` bytes.
    std::string take(size_t maxSize,
                     qlocal_result (*op)(qlocal_socket *, uint8_t *, size_t, size_t *)) {
        size_t avail = qlocal_socket_bytes_available(raw());
        std::string out(maxSize < avail ? maxSize : avail, '\0');
        if (out.empty()) return out;
        size_t n = 0;
        if (op(raw(), reinterpret_cast<uint8_t *>(out.data()), out.size(), &n) != QLOCAL_RESULT_OK) n = 0;
        out.resize(n);
        return out;
    }

    std::unique_ptr<qlocal_socket, SocketDeleter> handle_;
    // Owned by the C socket (its userdata); cached here, nullptr until the first handler.
    detail::SocketHandlers *handlers_ = nullptr;
};

// ---- LocalServer (QLocalServer) -------------------------------------------------------------

class LocalServer {
public:
    // QLocalServer::SocketOption (file modes 0700/0070/0007/0777; abstract address).
    enum SocketOption : uint32_t {
        NoOptions = 0,
        UserAccessOption = QLOCAL_SERVER_USER_ACCESS,
        GroupAccessOption = QLOCAL_SERVER_GROUP_ACCESS,
        OtherAccessOption = QLOCAL_SERVER_OTHER_ACCESS,
        WorldAccessOption = QLOCAL_SERVER_WORLD_ACCESS,
        AbstractNamespaceOption = QLOCAL_SERVER_ABSTRACT_NAMESPACE,
    };
    using SocketOptions = Flags<SocketOption>;
    friend constexpr SocketOptions operator|(SocketOption a, SocketOption b) noexcept {
        return SocketOptions(a) | b;
    }

    LocalServer() noexcept = default;
    // Adopts a server created with qlocal_server_new. The first handler set replaces its userdata.
    explicit LocalServer(qlocal_server *adopt) noexcept : handle_(adopt) {}
    LocalServer(LocalServer &&o) noexcept
        : handle_(std::move(o.handle_)), handlers_(std::exchange(o.handlers_, nullptr)) {}
    LocalServer &operator=(LocalServer &&o) noexcept {
        if (this != &o) {
            handle_ = std::move(o.handle_);
            handlers_ = std::exchange(o.handlers_, nullptr);
        }
        return *this;
    }
    LocalServer(const LocalServer &) = delete;
    LocalServer &operator=(const LocalServer &) = delete;
    ~LocalServer() = default;

    // A server on `loop`, not listening (30 pending connections, backlog 50, no options).
    static Expected<LocalServer> create(EventLoop &loop) noexcept {
        qlocal_server *s = nullptr;
        qlocal_result rc = qlocal_server_new(loop.raw(), &s);
        if (rc != QLOCAL_RESULT_OK) return detail::toResult(rc);
        return LocalServer(s);
    }

    explicit operator bool() const noexcept { return handle_ != nullptr; }
    qlocal_server *raw() const noexcept { return handle_.get(); }
    // Gives the handle up (the caller destroys it with qlocal_server_destroy); its handler
    // stays attached and is freed with it.
    qlocal_server *release() noexcept {
        handlers_ = nullptr;
        return handle_.release();
    }
    // Destroys the server now: untaken pending connections are closed, the socket file is
    // removed if still ours. Taken sockets are not affected. Safe inside its own handler.
    void reset() noexcept {
        handlers_ = nullptr;
        handle_.reset();
    }
    // Qt's deleteLater(): the server is destroyed from the loop's next turn; this object
    // becomes null at once. Safe inside its own handler.
    void deleteLater() noexcept {
        handlers_ = nullptr;
        if (qlocal_server *h = handle_.release()) (void)qlocal_server_destroy_later(h);
    }

    // Listens on `name`. Fails with WrongState (already listening), InvalidName, NameTooLong,
    // AddressInUse (a live server, a stale socket file or any file: nothing is touched),
    // AccessDenied; serverError()/errorString() then say more.
    [[nodiscard]] Outcome listen(const char *name) noexcept {
        return detail::toResult(qlocal_server_listen(raw(), name));
    }
    [[nodiscard]] Outcome listen(const std::string &name) noexcept { return listen(name.c_str()); }
    // Qt's listen(qintptr): listens on an adopted, bound and listening AF_UNIX socket (socket
    // activation); the server owns it on success, the caller keeps it on failure.
    [[nodiscard]] Outcome listen(int socketDescriptor) noexcept {
        return detail::toResult(qlocal_server_listen_descriptor(raw(), socketDescriptor));
    }
    // Stops listening; pending connections not yet taken are closed.
    Result close() noexcept { return detail::toResult(qlocal_server_close(raw())); }
    bool isListening() const noexcept { return qlocal_server_is_listening(raw()); }
    std::string serverName() const { return detail::toString(qlocal_server_server_name(raw())); }
    std::string fullServerName() const {
        return detail::toString(qlocal_server_full_server_name(raw()));
    }

    Result setMaxPendingConnections(int numConnections) noexcept {
        return detail::toResult(
            qlocal_server_set_max_pending_connections(raw(), static_cast<int32_t>(numConnections)));
    }
    int maxPendingConnections() const noexcept { return qlocal_server_max_pending_connections(raw()); }
    // For the next listen().
    Result setListenBacklogSize(int size) noexcept {
        return detail::toResult(qlocal_server_set_listen_backlog_size(raw(), static_cast<int32_t>(size)));
    }
    int listenBacklogSize() const noexcept { return qlocal_server_listen_backlog_size(raw()); }
    // For the next listen().
    Result setSocketOptions(SocketOptions options) noexcept {
        return detail::toResult(qlocal_server_set_socket_options(raw(), options.toInt()));
    }
    SocketOptions socketOptions() const noexcept {
        return SocketOptions::fromInt(qlocal_server_socket_options(raw()));
    }

    bool hasPendingConnections() const noexcept { return qlocal_server_has_pending_connections(raw()); }
    // The oldest pending connection, owned by the caller; a null LocalSocket when none (or on
    // error). It lives on the server's loop and no longer depends on the server.
    LocalSocket nextPendingConnection() noexcept {
        LocalSocket s;
        (void)nextPendingConnection(s);
        return s;
    }
    // The same with the Result: on Ok, `out` is the connection (null when none was pending);
    // otherwise `out` is left as it was.
    [[nodiscard]] Result nextPendingConnection(LocalSocket &out) noexcept {
        qlocal_socket *s = nullptr;
        qlocal_result rc = qlocal_server_next_pending_connection(raw(), &s);
        if (rc == QLOCAL_RESULT_OK) out = LocalSocket(s);
        return detail::toResult(rc);
    }
    // Waits up to `msec` (Qt's default 0; -1: no bound) for a connection: Ok when one is
    // pending, Timeout (also reported through `timedOut`, as Qt), WrongState when not listening.
    [[nodiscard]] Outcome waitForNewConnection(int msec = 0, bool *timedOut = nullptr) noexcept {
        Result r = detail::toResult(qlocal_server_wait_for_new_connection(raw(), static_cast<int32_t>(msec)));
        if (timedOut) *timedOut = r == Result::Timeout;
        return r;
    }

    // QLocalServer::serverError(): UnknownSocketError when none.
    LocalSocketError serverError() const noexcept {
        return static_cast<LocalSocketError>(qlocal_server_error(raw()));
    }
    std::string errorString() const { return detail::toString(qlocal_server_error_string(raw())); }
    // The listening descriptor (owned by the server), or -1.
    int socketDescriptor() const noexcept { return qlocal_server_socket_descriptor(raw()); }

    // Removes the socket file a server named `name` would use (e.g. a crashed server's stale
    // socket). Ok when it is gone or never existed; NotASocket, touching nothing, when the name
    // holds another file type (Qt deletes any file). Abstract names have no file: nothing is
    // done. Only for a name you own. Any thread.
    [[nodiscard]] static Outcome removeServer(const char *name) noexcept {
        return detail::toResult(qlocal_server_remove_server(name));
    }
    [[nodiscard]] static Outcome removeServer(const std::string &name) noexcept {
        return removeServer(name.c_str());
    }

    // Qt's newConnection: once per accepted connection; take it with nextPendingConnection().
    Result onNewConnection(std::function<void()> fn) noexcept {
        return detail::setHandler(raw(), handlers_, &qlocal_server_set_userdata,
                                  &qlocal_server_set_new_connection_callback,
                                  &detail::ServerHandlers::newConnectionTrampoline,
                                  &detail::ServerHandlers::newConnection, std::move(fn));
    }

private:
    std::unique_ptr<qlocal_server, ServerDeleter> handle_;
    // Owned by the C server (its userdata); cached here, nullptr until the first handler.
    detail::ServerHandlers *handlers_ = nullptr;
};

}  // namespace qlocal

#endif  // QLOCAL_HPP
