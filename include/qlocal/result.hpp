// qlocal/result.hpp: the value types of the C++ wrapper: Result (qlocal_result), Outcome (the
// result of a call Qt declares bool), Expected<T> (what create() returns), Flags, and Qt's enums
// LocalSocketError, LocalSocketState, plus RunMode. Part of qlocal.hpp (whose top comment states
// the rules); compiles on its own.

#ifndef QLOCAL_CPP_RESULT_HPP
#define QLOCAL_CPP_RESULT_HPP

#include "qlocal.h"

#include <cstdint>
#include <string>
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
    Unsupported = QLOCAL_RESULT_UNSUPPORTED,
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
    MessageTooLarge = QLOCAL_RESULT_MESSAGE_TOO_LARGE,
    QueueFull = QLOCAL_RESULT_QUEUE_FULL,
    DescriptorsLost = QLOCAL_RESULT_DESCRIPTORS_LOST,
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

namespace detail {

inline Result toResult(qlocal_result r) noexcept { return static_cast<Result>(r); }
inline std::string toString(const char *s) { return s ? std::string(s) : std::string(); }

}  // namespace detail

}  // namespace qlocal

#endif  // QLOCAL_CPP_RESULT_HPP
