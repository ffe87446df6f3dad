// qlocal/local_socket.hpp: qlocal::LocalSocket (QLocalSocket). Part of qlocal.hpp (whose top
// comment states the rules); compiles on its own.

#ifndef QLOCAL_CPP_LOCAL_SOCKET_HPP
#define QLOCAL_CPP_LOCAL_SOCKET_HPP

#include "qlocal.h"
#include "qlocal/detail/handlers.hpp"
#include "qlocal/event_loop.hpp"
#include "qlocal/handle.hpp"
#include "qlocal/result.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace qlocal {

namespace detail {

struct SocketHandlers : Handlers<SocketHandlers> {
    Slot<> connected;
    Slot<> disconnected;
    Slot<> readyRead;
    Slot<> readChannelFinished;
    Slot<LocalSocketError> errorOccurred;
    Slot<LocalSocketState> stateChanged;
    Slot<uint64_t> bytesWritten;
    Slot<> aboutToClose;
    Slot<> message;
    Slot<> writeDrained;

    static void connectedTrampoline(void *ud, qlocal_socket *) noexcept {
        dispatch(ud, &SocketHandlers::connected);
    }
    static void aboutToCloseTrampoline(void *ud, qlocal_socket *) noexcept {
        dispatch(ud, &SocketHandlers::aboutToClose);
    }
    static void messageTrampoline(void *ud, qlocal_socket *) noexcept {
        dispatch(ud, &SocketHandlers::message);
    }
    static void writeDrainedTrampoline(void *ud, qlocal_socket *) noexcept {
        dispatch(ud, &SocketHandlers::writeDrained);
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

}  // namespace detail

// ---- LocalSocket (QLocalSocket) -------------------------------------------------------------

class LocalSocket : public detail::OwnedHandle<qlocal_socket, SocketDeleter, detail::SocketHandlers> {
    using Handle = detail::OwnedHandle<qlocal_socket, SocketDeleter, detail::SocketHandlers>;

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
    explicit LocalSocket(qlocal_socket *adopt) noexcept : Handle(adopt) {}
    // Moves the socket and its handlers; assigning destroys ours (safe inside its own callback).
    LocalSocket(LocalSocket &&) noexcept = default;
    LocalSocket &operator=(LocalSocket &&) noexcept = default;

    // An unconnected socket on `loop`.
    static Expected<LocalSocket> create(EventLoop &loop) noexcept {
        qlocal_loop *l = loop.raw();
        return created<LocalSocket>([l](qlocal_socket **out) { return qlocal_socket_new(l, out); });
    }

    // explicit operator bool, raw(): from the handle base.
    // Gives the handle up (the caller destroys it with qlocal_socket_destroy); its handlers
    // stay attached and are freed with it.
    using Handle::release;
    // Destroys the socket now: no handler runs after this. Connected: abort (Qt 6's
    // destructor); during a graceful close the loop keeps flushing (lingerTimeout()). Safe
    // inside its own handlers.
    using Handle::reset;
    // Qt's deleteLater(): the socket is destroyed from the loop's next turn (its handlers may
    // run until then); this object becomes null at once. Safe inside its own handlers.
    void deleteLater() noexcept {
        if (qlocal_socket *h = release()) (void)qlocal_socket_destroy_later(h);
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
    qlocal_descriptor socketDescriptor() const noexcept { return qlocal_socket_socket_descriptor(raw()); }
    // Qt's setSocketDescriptor: adopts a connected AF_UNIX stream socket (e.g. a socketpair
    // end) while unconnected; the socket owns it on success, the caller keeps it on failure.
    [[nodiscard]] Outcome setSocketDescriptor(qlocal_descriptor socketDescriptor) noexcept {
        return detail::toResult(qlocal_socket_set_socket_descriptor(raw(), socketDescriptor));
    }
    // Qt's setSocketDescriptor(fd, socketState, openMode): the mode as for connectToServer;
    // `socketState` must be ConnectedState (an adopted AF_UNIX descriptor is connected), any
    // other is Result::InvalidArgument and the caller keeps `socketDescriptor`.
    [[nodiscard]] Outcome setSocketDescriptor(qlocal_descriptor socketDescriptor, LocalSocketState socketState,
                                              int openMode = ReadWrite) noexcept {
        return detail::toResult(qlocal_socket_set_socket_descriptor_with_state(
            raw(), socketDescriptor, static_cast<int32_t>(socketState), openMode));
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
    // Not Qt's backpressure: a write that would take bytesToWrite() above `highWater` is
    // refused whole (Result::QueueFull) unless the queue is empty; onWriteDrained follows once
    // it is down to `lowWater`. 0: no limit (Qt's unbounded queue).
    Result setWriteBufferLimits(size_t highWater, size_t lowWater) noexcept {
        return detail::toResult(qlocal_socket_set_write_buffer_limits(raw(), highWater, lowWater));
    }
    size_t writeHighWater() const noexcept { return qlocal_socket_write_high_water(raw()); }
    size_t writeLowWater() const noexcept { return qlocal_socket_write_low_water(raw()); }

    // Not Qt's: the peer's pid (-1 where the system has none), uid and gid, as the kernel
    // recorded them at connect time. WrongState without a connection (out untouched).
    [[nodiscard]] Result peerCredentials(qlocal_peer_credentials &out) const noexcept {
        return detail::toResult(qlocal_socket_peer_credentials(raw(), &out));
    }

    // -- descriptor passing (not Qt's; SCM_RIGHTS; Result::Unsupported on Windows) --
    // Writes `size` bytes (at least one) with duplicates of `fds` attached to the first; the
    // caller keeps its own descriptors. Results as write, plus InvalidArgument for no bytes,
    // no descriptors, more than QLOCAL_MAX_DESCRIPTORS_PER_WRITE or one that is not open.
    [[nodiscard]] Outcome writeWithDescriptors(const char *data, size_t size, const qlocal_descriptor *fds,
                                               size_t count) noexcept {
        return detail::toResult(qlocal_socket_write_with_descriptors(
            raw(), reinterpret_cast<const uint8_t *>(data), size, fds, count));
    }
    // Receive up to `maxPerWrite` descriptors with each of the peer's writes (0, the default:
    // none). Set it before connecting, or right after nextPendingConnection().
    [[nodiscard]] Result setMaxDescriptors(size_t maxPerWrite) noexcept {
        return detail::toResult(qlocal_socket_set_max_descriptors(raw(), maxPerWrite));
    }
    size_t maxDescriptors() const noexcept { return qlocal_socket_max_descriptors(raw()); }
    // Received and not yet taken; counted no later than the bytes they came with are readable.
    size_t descriptorsAvailable() const noexcept { return qlocal_socket_descriptors_available(raw()); }
    // The next received descriptor, in the order sent: the caller owns it (close it). -1 when
    // none is available.
    qlocal_descriptor takeDescriptor() noexcept {
        qlocal_descriptor fd = -1;
        (void)qlocal_socket_take_descriptor(raw(), &fd);
        return fd;
    }

    // -- messages, byte for byte as QDataStream << QByteArray frames them (a big-endian
    //    32-bit length, then the bytes; 0xFFFFFFFF is a null QByteArray) --
    // Queues one message (the length and the bytes together, or nothing): results as write.
    [[nodiscard]] Outcome writeMessage(const char *data, size_t size) noexcept {
        // A non-NULL pointer: an empty message is an empty QByteArray, not a null one.
        const char *bytes = data ? data : "";
        return detail::toResult(
            qlocal_socket_write_message(raw(), reinterpret_cast<const uint8_t *>(bytes), size));
    }
    [[nodiscard]] Outcome writeMessage(std::string_view message) noexcept {
        return writeMessage(message.data(), message.size());
    }
    // Qt's null QByteArray (QDataStream writes 0xFFFFFFFF; a Qt peer reads isNull()).
    [[nodiscard]] Outcome writeNullMessage() noexcept {
        return detail::toResult(qlocal_socket_write_message(raw(), nullptr, 0));
    }
    // True when a whole message is buffered. A length above maxMessageSize() closes the
    // connection (errorOccurred(DatagramTooLargeError), then disconnected) and gives false.
    bool hasMessage() const noexcept { return qlocal_socket_has_message(raw()); }
    // Takes the message at the front into `out` (`isNull`, if given: whether it was a null
    // QByteArray). Result::WrongState when none is whole yet (out untouched);
    // Result::MessageTooLarge as for hasMessage.
    [[nodiscard]] Result readMessage(std::string &out, bool *isNull = nullptr) {
        size_t len = 0;
        bool null = false;
        qlocal_result r = qlocal_socket_next_message_size(raw(), &len, &null);
        if (r != QLOCAL_RESULT_OK) return detail::toResult(r);
        std::string buf(len, '\0');
        r = qlocal_socket_read_message(raw(), reinterpret_cast<uint8_t *>(buf.data()), buf.size(), &len, &null);
        if (r != QLOCAL_RESULT_OK) return detail::toResult(r);
        buf.resize(len);
        out = std::move(buf);
        if (isNull) *isNull = null;
        return Result::Ok;
    }
    // Messages announcing more bytes fail the connection (default 64 MiB); plain reads are not
    // affected.
    void setMaxMessageSize(size_t maxBytes) noexcept { (void)qlocal_socket_set_max_message_size(raw(), maxBytes); }
    size_t maxMessageSize() const noexcept { return qlocal_socket_max_message_size(raw()); }

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
    // After readyRead, once per whole message buffered while each call takes one (readMessage);
    // a call that takes nothing ends the series until more bytes arrive.
    Result onMessage(std::function<void()> fn) noexcept {
        return set(&qlocal_socket_set_message_callback, &detail::SocketHandlers::messageTrampoline,
                   &detail::SocketHandlers::message, std::move(fn));
    }
    // Not Qt's: after a write refused with Result::QueueFull, once the queue is down to the
    // low-water mark.
    Result onWriteDrained(std::function<void()> fn) noexcept {
        return set(&qlocal_socket_set_write_drained_callback, &detail::SocketHandlers::writeDrainedTrampoline,
                   &detail::SocketHandlers::writeDrained, std::move(fn));
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
        return setHandler(&qlocal_socket_set_userdata, setCallback, trampoline, slot, std::forward<Fn>(fn));
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
};

}  // namespace qlocal

#endif  // QLOCAL_CPP_LOCAL_SOCKET_HPP
