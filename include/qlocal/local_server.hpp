// qlocal/local_server.hpp: qlocal::LocalServer (QLocalServer). Part of qlocal.hpp (whose top
// comment states the rules); compiles on its own.

#ifndef QLOCAL_CPP_LOCAL_SERVER_HPP
#define QLOCAL_CPP_LOCAL_SERVER_HPP

#include "qlocal.h"
#include "qlocal/detail/handlers.hpp"
#include "qlocal/event_loop.hpp"
#include "qlocal/handle.hpp"
#include "qlocal/local_socket.hpp"
#include "qlocal/result.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

namespace qlocal {

namespace detail {

struct ServerHandlers : Handlers<ServerHandlers> {
    Slot<> newConnection;
    Slot<qlocal_descriptor> incomingConnection;

    static void newConnectionTrampoline(void *ud, qlocal_server *) noexcept {
        dispatch(ud, &ServerHandlers::newConnection);
    }
    static void incomingConnectionTrampoline(void *ud, qlocal_server *, qlocal_descriptor fd) noexcept {
        dispatch(ud, &ServerHandlers::incomingConnection, fd);
    }
};

}  // namespace detail

// ---- LocalServer (QLocalServer) -------------------------------------------------------------

class LocalServer : public detail::OwnedHandle<qlocal_server, ServerDeleter, detail::ServerHandlers> {
    using Handle = detail::OwnedHandle<qlocal_server, ServerDeleter, detail::ServerHandlers>;

public:
    // QLocalServer::SocketOption (file modes 0700/0070/0007/0777; abstract address).
    enum SocketOption : uint32_t {
        NoOptions = 0,
        UserAccessOption = QLOCAL_SERVER_USER_ACCESS,
        GroupAccessOption = QLOCAL_SERVER_GROUP_ACCESS,
        OtherAccessOption = QLOCAL_SERVER_OTHER_ACCESS,
        WorldAccessOption = QLOCAL_SERVER_WORLD_ACCESS,
        AbstractNamespaceOption = QLOCAL_SERVER_ABSTRACT_NAMESPACE,
        // Not Qt's: connections from another user id are closed at accept, unseen.
        CurrentUserOnlyOption = QLOCAL_SERVER_CURRENT_USER_ONLY,
        // Not Qt's: listen() reclaims a name held by a dead server's socket file.
        ReclaimStaleOption = QLOCAL_SERVER_RECLAIM_STALE,
    };
    using SocketOptions = Flags<SocketOption>;
    friend constexpr SocketOptions operator|(SocketOption a, SocketOption b) noexcept {
        return SocketOptions(a) | b;
    }

    LocalServer() noexcept = default;
    // Adopts a server created with qlocal_server_new. The first handler set replaces its userdata.
    explicit LocalServer(qlocal_server *adopt) noexcept : Handle(adopt) {}
    LocalServer(LocalServer &&) noexcept = default;
    LocalServer &operator=(LocalServer &&) noexcept = default;

    // A server on `loop`, not listening (30 pending connections, backlog 50, no options).
    static Expected<LocalServer> create(EventLoop &loop) noexcept {
        qlocal_loop *l = loop.raw();
        return created<LocalServer>([l](qlocal_server **out) { return qlocal_server_new(l, out); });
    }

    // explicit operator bool, raw(): from the handle base.
    // Gives the handle up (the caller destroys it with qlocal_server_destroy); its handler
    // stays attached and is freed with it.
    using Handle::release;
    // Destroys the server now: untaken pending connections are closed, the socket file is
    // removed if still ours. Taken sockets are not affected. Safe inside its own handler.
    using Handle::reset;
    // Qt's deleteLater(): the server is destroyed from the loop's next turn; this object
    // becomes null at once. Safe inside its own handler.
    void deleteLater() noexcept {
        if (qlocal_server *h = release()) (void)qlocal_server_destroy_later(h);
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
    [[nodiscard]] Outcome listen(qlocal_descriptor socketDescriptor) noexcept {
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
    qlocal_descriptor socketDescriptor() const noexcept { return qlocal_server_socket_descriptor(raw()); }

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
        return setHandler(&qlocal_server_set_userdata, &qlocal_server_set_new_connection_callback,
                          &detail::ServerHandlers::newConnectionTrampoline,
                          &detail::ServerHandlers::newConnection, std::move(fn));
    }
    // Qt's incomingConnection override: each accepted connection's descriptor goes to `fn`
    // (which owns it) instead of the pending queue; adopt it (LocalSocket::setSocketDescriptor)
    // and addPendingConnection() it, or close it. An empty function restores Qt's default.
    Result onIncomingConnection(std::function<void(qlocal_descriptor)> fn) noexcept {
        return setHandler(&qlocal_server_set_userdata, &qlocal_server_set_incoming_connection_callback,
                          &detail::ServerHandlers::incomingConnectionTrampoline,
                          &detail::ServerHandlers::incomingConnection, std::move(fn));
    }
    // Qt's addPendingConnection: `socket` (on this server's loop) joins the pending queue and
    // onNewConnection follows from the loop; nextPendingConnection() gives it back with its
    // handlers. On Ok `socket` is left null; otherwise (InvalidArgument: another loop) it is
    // untouched.
    [[nodiscard]] Result addPendingConnection(LocalSocket &socket) noexcept {
        Result r = detail::toResult(qlocal_server_add_pending_connection(raw(), socket.raw()));
        if (r == Result::Ok) (void)socket.release();
        return r;
    }
};

}  // namespace qlocal

#endif  // QLOCAL_CPP_LOCAL_SERVER_HPP
