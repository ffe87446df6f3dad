// qlocal driven by Qt's own event loop through qlocal_qt.hpp, with no second thread: in one
// QCoreApplication, a qlocal server echoes for a Qt QLocalSocket client, a qlocal client talks
// to a Qt QLocalServer, and a qlocal connect error is delivered. Exits 0 when all three
// happened before the deadline, 1 otherwise.
#include "qlocal.h"
#include "qlocal.hpp"
#include "qlocal_qt.hpp"

#include <QCoreApplication>
#include <QLocalServer>
#include <QLocalSocket>
#include <QTimer>

#include <cstdio>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

using qlocal::LoopDeleter;
using qlocal::ServerDeleter;
using qlocal::SocketDeleter;

struct State {
    std::vector<std::unique_ptr<qlocal_socket, SocketDeleter>> accepted;
    bool echo_done = false;
    bool qlocal_client_done = false;
    bool error_seen = false;
    std::string failure;
    std::string qlocal_client_got;
};

State g;

void check_done() {
    if (g.echo_done && g.qlocal_client_done && g.error_seen) QCoreApplication::exit(0);
}

void fail(const std::string &why) {
    if (g.failure.empty()) g.failure = why;
    QCoreApplication::exit(1);
}

}  // namespace

int main(int argc, char **argv) {
    QCoreApplication app(argc, argv);
    const std::string tag = std::to_string(getpid());
    const std::string qlocal_name = "qlocal-adapter-" + tag + "-q";
    const QString qt_name = QString::fromStdString("qlocal-adapter-" + tag + "-qt");

    qlocal_loop *raw_loop = nullptr;
    if (qlocal_loop_new(&raw_loop) != QLOCAL_RESULT_OK) return 1;
    std::unique_ptr<qlocal_loop, LoopDeleter> loop(raw_loop);
    auto driver = std::make_unique<qlocal::QtLoopDriver>(loop.get());
    if (!driver->isValid()) return 1;

    // 1. qlocal server, Qt client.
    qlocal_server *raw_server = nullptr;
    if (qlocal_server_new(loop.get(), &raw_server) != QLOCAL_RESULT_OK) return 1;
    std::unique_ptr<qlocal_server, ServerDeleter> server(raw_server);
    (void)qlocal_server_set_new_connection_callback(server.get(), [](void *, qlocal_server *s) {
        qlocal_socket *c = nullptr;
        while (qlocal_server_next_pending_connection(s, &c) == QLOCAL_RESULT_OK && c) {
            g.accepted.emplace_back(c);
            (void)qlocal_socket_set_ready_read_callback(c, [](void *, qlocal_socket *sock) {
                uint8_t buf[4096];
                size_t n = 0;
                while (qlocal_socket_read(sock, buf, sizeof buf, &n) == QLOCAL_RESULT_OK && n > 0) {
                    if (qlocal_socket_write(sock, buf, n) != QLOCAL_RESULT_OK) fail("echo write");
                }
            });
        }
    });
    (void)qlocal_server_remove_server(qlocal_name.c_str());
    if (qlocal_server_listen(server.get(), qlocal_name.c_str()) != QLOCAL_RESULT_OK) {
        std::fprintf(stderr, "listen: %s\n", qlocal_server_error_string(server.get()));
        return 1;
    }
    const QByteArray ping("ping\0\xff from Qt", 14);
    QLocalSocket qt_client;
    QByteArray echoed;
    QObject::connect(&qt_client, &QLocalSocket::connected, [&] {
        if (qt_client.write(ping) != ping.size()) fail("Qt client write");
    });
    QObject::connect(&qt_client, &QLocalSocket::readyRead, [&] {
        echoed += qt_client.readAll();
        if (echoed.size() >= ping.size()) {
            if (echoed != ping) return fail("echo differs");
            g.echo_done = true;
            check_done();
        }
    });
    qt_client.connectToServer(QString::fromStdString(qlocal_name));

    // 2. Qt server, qlocal client.
    QLocalServer qt_server;
    QLocalServer::removeServer(qt_name);
    if (!qt_server.listen(qt_name)) return 1;
    QObject::connect(&qt_server, &QLocalServer::newConnection, [&] {
        while (QLocalSocket *s = qt_server.nextPendingConnection()) {
            QObject::connect(s, &QLocalSocket::readyRead, [s] { s->write(s->readAll()); });
        }
    });
    qlocal_socket *raw_client = nullptr;
    if (qlocal_socket_new(loop.get(), &raw_client) != QLOCAL_RESULT_OK) return 1;
    std::unique_ptr<qlocal_socket, SocketDeleter> client(raw_client);
    (void)qlocal_socket_set_connected_callback(client.get(), [](void *, qlocal_socket *s) {
        if (qlocal_socket_write(s, reinterpret_cast<const uint8_t *>("hello Qt"), 8) != QLOCAL_RESULT_OK)
            fail("qlocal client write");
    });
    (void)qlocal_socket_set_ready_read_callback(client.get(), [](void *, qlocal_socket *s) {
        char buf[64];
        size_t n = 0;
        while (qlocal_socket_read(s, reinterpret_cast<uint8_t *>(buf), sizeof buf, &n) == QLOCAL_RESULT_OK && n > 0)
            g.qlocal_client_got.append(buf, n);
        if (g.qlocal_client_got == "hello Qt") {
            g.qlocal_client_done = true;
            check_done();
        }
    });
    if (qlocal_socket_connect_to_server(client.get(), qt_name.toStdString().c_str()) != QLOCAL_RESULT_OK)
        return 1;

    // 3. A connect error, delivered through Qt's loop (queued work wakes the loop's fd).
    qlocal_socket *raw_lost = nullptr;
    if (qlocal_socket_new(loop.get(), &raw_lost) != QLOCAL_RESULT_OK) return 1;
    std::unique_ptr<qlocal_socket, SocketDeleter> lost(raw_lost);
    (void)qlocal_socket_set_error_callback(lost.get(), [](void *, qlocal_socket *, qlocal_local_socket_error e) {
        if (e != QLOCAL_LOCAL_SOCKET_ERROR_SERVER_NOT_FOUND) return fail("unexpected error code");
        g.error_seen = true;
        check_done();
    });
    std::string nobody = "qlocal-adapter-" + tag + "-nobody";
    if (qlocal_socket_connect_to_server(lost.get(), nobody.c_str()) != QLOCAL_RESULT_OK) return 1;

    QTimer::singleShot(10000, [] { fail("deadline passed"); });
    int rc = app.exec();
    if (rc != 0)
        std::fprintf(stderr, "FAILED: %s (echo %d, qlocal client %d, error %d)\n", g.failure.c_str(),
                     g.echo_done, g.qlocal_client_done, g.error_seen);
    else
        std::printf("qlocal driven by Qt's event loop: echo, client and error paths passed\n");
    // Destroy in order: sockets and server, then the driver, then the loop.
    g.accepted.clear();
    lost.reset();
    client.reset();
    server.reset();
    driver.reset();
    loop.reset();
    return rc;
}
