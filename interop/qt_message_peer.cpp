// The Qt side of the message interop tests: an unmodified QLocalServer / QLocalSocket (Qt 6 or
// Qt 5) that frames messages the way most Qt IPC code does, `QDataStream << QByteArray`, and
// reads them with startTransaction/commitTransaction in readyRead (Qt's fortune example).
// Its peer is qlocal_message_peer.cpp, using qlocal's message calls. Scenarios: messages.hpp.
//
//   qt6_message_peer|qt5_message_peer server|client --name NAME --scenario echo|oversize ...
//
// The server prints "listening" once it listens. Exit status 0 when the scenario passed.
#include "messages.hpp"

#include <QCoreApplication>
#include <QDataStream>
#include <QLocalServer>
#include <QLocalSocket>
#include <QTimer>

#include <cstdio>
#include <string>

namespace {

using interop::log;
using interop::Message;

QByteArray to_qt(const Message &m) {
    if (m.null) return QByteArray();
    // QByteArray(data, 0) is empty but not null.
    return QByteArray(m.bytes.data(), static_cast<int>(m.bytes.size()));
}

Message from_qt(const QByteArray &a) {
    Message m;
    m.null = a.isNull();
    m.bytes.assign(a.constData(), static_cast<size_t>(a.size()));
    return m;
}

// One connection running a scenario; quits the application with the outcome.
class Peer {
public:
    Peer(QLocalSocket *socket, const interop::MessageOptions &o) : socket_(socket), o_(o), in_(socket) {
        if (o.scenario == "echo")
            expected_ = interop::echo_messages(o.count, o.seed);
        else
            expected_ = interop::oversize_messages();
        QObject::connect(socket_, &QLocalSocket::readyRead, [this] { readMessages(); });
        QObject::connect(socket_, &QLocalSocket::disconnected, [this] { onDisconnected(); });
    }

    // The client's burst: every message written before anything is read.
    void sendAll() {
        QDataStream out(socket_);
        for (const Message &m : expected_) out << to_qt(m);
        if (out.status() != QDataStream::Ok) fail("QDataStream write failed");
        log("sent %zu messages", expected_.size());
    }

    void finish(int code) {
        if (done_) return;
        done_ = true;
        QCoreApplication::exit(code);
    }

private:
    void fail(const std::string &why) {
        log("FAILED: %s", why.c_str());
        finish(1);
    }

    void readMessages() {
        for (;;) {
            in_.startTransaction();
            QByteArray a;
            in_ >> a;
            if (!in_.commitTransaction()) return;  // not whole yet: the rest comes with readyRead
            Message m = from_qt(a);
            if (o_.scenario == "oversize") {
                // Only the qlocal side reads in this scenario.
                return fail("got a message in the oversize scenario");
            }
            if (received_ >= expected_.size()) return fail("more messages than were sent");
            const Message &want = expected_[received_];
            if (!(m == want)) {
                return fail("message " + std::to_string(received_) + ": got " + interop::describe(m) +
                            ", expected " + interop::describe(want));
            }
            ++received_;
            if (o_.role == interop::Role::Server) {
                QDataStream out(socket_);
                out << a;  // echo, null or not
            } else if (received_ == expected_.size()) {
                log("all %zu echoed messages match", received_);
                socket_->disconnectFromServer();
            }
        }
    }

    void onDisconnected() {
        if (o_.scenario == "oversize") {
            log("the qlocal peer closed the connection (as it must after the oversize message)");
            return finish(0);
        }
        if (received_ != expected_.size())
            return fail("disconnected after " + std::to_string(received_) + " of " +
                        std::to_string(expected_.size()) + " messages");
        finish(0);
    }

    QLocalSocket *socket_;
    interop::MessageOptions o_;
    QDataStream in_;
    std::vector<Message> expected_;
    size_t received_ = 0;
    bool done_ = false;
};

}  // namespace

int main(int argc, char **argv) {
    QCoreApplication app(argc, argv);
    interop::MessageOptions o;
    if (!interop::parse_message_options(argc, argv, o)) {
        std::fputs(interop::message_usage(), stderr);
        return 2;
    }
    bool server_role = o.role == interop::Role::Server;
    interop::log_prefix() = "[qt" + std::to_string(QT_VERSION_MAJOR) + (server_role ? " message server]" : " message client]");

    QTimer deadline;
    deadline.setSingleShot(true);
    QObject::connect(&deadline, &QTimer::timeout, [] {
        log("FAILED: deadline passed");
        QCoreApplication::exit(1);
    });
    deadline.start(o.timeout_ms);

    QLocalServer server;
    QLocalSocket client;
    std::unique_ptr<Peer> peer;
    if (server_role) {
        if (!server.listen(QString::fromStdString(o.name))) {
            log("QLocalServer::listen: %s", server.errorString().toStdString().c_str());
            return 1;
        }
        QObject::connect(&server, &QLocalServer::newConnection, [&] {
            QLocalSocket *s = server.nextPendingConnection();
            if (!s || peer) return;
            peer = std::make_unique<Peer>(s, o);
            // The echo server only answers; in the oversize scenario the Qt side writes.
            if (o.scenario == "oversize") peer->sendAll();
        });
        std::printf("listening\n");
        std::fflush(stdout);
    } else {
        peer = std::make_unique<Peer>(&client, o);
        QObject::connect(&client, &QLocalSocket::connected, [&] { peer->sendAll(); });
        QObject::connect(&client, &QLocalSocket::errorOccurred, [&](QLocalSocket::LocalSocketError e) {
            if (client.state() == QLocalSocket::ConnectingState || e == QLocalSocket::ServerNotFoundError) {
                log("FAILED: connect: %s", client.errorString().toStdString().c_str());
                QCoreApplication::exit(1);
            }
        });
        client.connectToServer(QString::fromStdString(o.name));
    }
    int rc = app.exec();
    // Nothing reaches the peer from here on.
    if (peer) peer->finish(rc);
    server.close();
    QObject::disconnect(&client, nullptr, nullptr, nullptr);
    return rc;
}
