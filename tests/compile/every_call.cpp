// The C++ side of compile_warnings: Qt code ported to qlocal.hpp the mechanical way (calls Qt
// declares void as plain statements, handlers as lambdas, bools tested), and the C API from
// C++. ctest compiles it with GCC and Clang under -std=c++17 -Wall -Wextra -Werror; it is
// never run.
#include "qlocal.hpp"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

int every_call_cpp();
int every_call_cpp() {
    auto loop = qlocal::EventLoop::create();
    if (!loop) return std::fprintf(stderr, "loop: %s\n", qlocal::resultString(loop.error())), 1;
    auto server = qlocal::LocalServer::create(*loop);
    if (!server) return 1;
    std::vector<std::unique_ptr<qlocal::LocalSocket>> clients;
    server->setMaxPendingConnections(30);
    server->setListenBacklogSize(50);
    server->setSocketOptions(qlocal::LocalServer::UserAccessOption);
    server->onNewConnection([&] {
        while (qlocal::LocalSocket s = server->nextPendingConnection()) {
            clients.push_back(std::make_unique<qlocal::LocalSocket>(std::move(s)));
            qlocal::LocalSocket *c = clients.back().get();
            c->onReadyRead([c] {
                if (c->write(c->readAll()) != qlocal::Result::Ok) c->abort();
            });
            c->onDisconnected([c] { c->close(); });
        }
    });
    if (!server->listen("every-call-cpp")) {
        std::fprintf(stderr, "listen: %s\n", server->errorString().c_str());
        return 1;
    }
    auto socket = qlocal::LocalSocket::create(*loop);
    if (!socket) return 1;
    socket->setServerName("every-call-cpp");
    socket->setReadBufferSize(0);
    socket->setConnectTimeout(1000);
    socket->setLingerTimeout(1000);
    socket->onConnected([] {});
    socket->onErrorOccurred([](qlocal::LocalSocket::LocalSocketError) {});
    socket->onStateChanged([](qlocal::LocalSocket::LocalSocketState) {});
    socket->onBytesWritten([](uint64_t) {});
    socket->onReadChannelFinished([] {});
    socket->connectToServer();
    server->onIncomingConnection({});  // Qt's default: pending connections
    if (auto extra = qlocal::LocalSocket::create(*loop)) {
        if (server->addPendingConnection(*extra) != qlocal::Result::Ok) return 1;
    }
    auto reader = qlocal::LocalSocket::create(*loop);
    if (!reader) return 1;
    reader->connectToServer("every-call-cpp", qlocal::LocalSocket::ReadOnly);
    if (!socket->waitForConnected(1000)) return 1;
    if (socket->write("hello\n") != qlocal::Result::Ok) return 1;
    if (!socket->waitForBytesWritten(1000)) return 1;
    while (!socket->canReadLine())
        if (!socket->waitForReadyRead(1000)) return 1;
    std::string line = socket->readLine();
    socket->startTransaction();
    char ch = 0;
    if (socket->getChar(&ch)) socket->ungetChar(ch);
    socket->rollbackTransaction();
    socket->commitTransaction();
    socket->putChar('x');
    socket->onAboutToClose([] {});
    socket->setMaxMessageSize(1024);
    socket->setWriteBufferLimits(1 << 20, 1 << 18);
    socket->onWriteDrained([] {});
    std::printf("%zu %zu\n", socket->writeHighWater(), socket->writeLowWater());
    qlocal_peer_credentials cred{};
    if (socket->peerCredentials(cred) == qlocal::Result::Ok) std::printf("%d\n", static_cast<int>(cred.pid));
    socket->onMessage([] {});
    if (!socket->writeMessage("msg") || !socket->writeNullMessage()) return 1;
    std::string message;
    bool isNull = false;
    if (socket->hasMessage() && socket->readMessage(message, &isNull) != qlocal::Result::Ok) return 1;
    std::printf("%zu\n", socket->maxMessageSize());
    if (socket->setMaxDescriptors(4) == qlocal::Result::Ok) {
        const qlocal_descriptor fds[1] = {0};
        if (!socket->writeWithDescriptors("f", 1, fds, 1)) return 1;
        std::printf("%zu %zu %d\n", socket->maxDescriptors(), socket->descriptorsAvailable(),
                    static_cast<int>(socket->takeDescriptor()));
    }
    if (socket->setSocketDescriptor(-1, qlocal::LocalSocket::ConnectedState, qlocal::LocalSocket::ReadWrite)) return 1;
    std::printf("%d %d %d %d %d %d\n", socket->isTransactionStarted(), socket->atEnd(), socket->openMode(),
                socket->isOpen(), socket->isReadable(), socket->isWritable());
    char buf[16];
    if (socket->read(buf, sizeof buf) < 0) return 1;
    std::printf("%s %d %lld\n", line.c_str(), static_cast<int>(socket->state()),
                static_cast<long long>(socket->bytesAvailable()));
    socket->disconnectFromServer();
    if (!socket->waitForDisconnected(1000)) return 1;
    socket->abort();
    server->close();
    loop->quit();
    loop->wakeUp();
    loop->post([] {});
    loop->setBusyPoll(0);
    std::printf("%d\n", loop->busyPoll());
    qlocal::Timer::singleShot(*loop, 10, [] {});
    auto timer = qlocal::Timer::create(*loop);
    if (!timer) return 1;
    timer->onTimeout([] {});
    timer->setSingleShot(true);
    timer->setInterval(5);
    timer->start(5);
    timer->stop();
    std::printf("%d %d %d %d\n", timer->interval(), timer->remainingTime(), timer->isActive(), timer->isSingleShot());
    if (loop->processEvents() != qlocal::Result::Ok) return 1;
    auto later = qlocal::LocalSocket::create(*loop);
    if (!later) return 1;
    later->deleteLater();

    // The C API from C++: [[nodiscard]] where C has warn_unused_result.
    qlocal_socket *raw = nullptr;
    if (qlocal_socket_new(loop->raw(), &raw) != QLOCAL_RESULT_OK) return 1;
    qlocal_socket_set_linger_timeout(raw, 0);
    qlocal_socket_abort(raw);
    qlocal_socket_destroy(raw);
    return 0;
}
