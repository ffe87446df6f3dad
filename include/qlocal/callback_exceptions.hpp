// qlocal/callback_exceptions.hpp: what happens to an exception a handler throws (the wrapper's
// trampolines are noexcept: they swallow it, count it and pass it to the function set here).
// Part of qlocal.hpp; compiles on its own.

#ifndef QLOCAL_CPP_CALLBACK_EXCEPTIONS_HPP
#define QLOCAL_CPP_CALLBACK_EXCEPTIONS_HPP

#include <atomic>
#include <cstdint>
#include <exception>

namespace qlocal {

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

}  // namespace qlocal

#endif  // QLOCAL_CPP_CALLBACK_EXCEPTIONS_HPP
