// Builds against the installed C++ wrapper through qlocal::cpp: the umbrella header and a
// per-class one (include/qlocal/ must be installed next to qlocal.hpp), then exchanges one
// message with the wrapper's classes.
#include <qlocal.hpp>
#include <qlocal/local_server.hpp>

#include <cstdio>
#include <string>
#include <unistd.h>

int main() {
    std::string name = "qlocal-consumer-cpp-" + std::to_string(getpid());
    qlocal::Expected<qlocal::EventLoop> loop = qlocal::EventLoop::create();
    if (!loop) return 1;
    qlocal::Expected<qlocal::LocalServer> server = qlocal::LocalServer::create(*loop);
    qlocal::Expected<qlocal::LocalSocket> client = qlocal::LocalSocket::create(*loop);
    if (!server || !client || !server->listen(name)) return 1;
    (void)client->connectToServer(name);
    if (!client->waitForConnected(5000) || !server->waitForNewConnection(5000)) return 1;
    qlocal::LocalSocket peer = server->nextPendingConnection();
    if (!peer || client->write("hello") != qlocal::Result::Ok || !peer.waitForReadyRead(5000)) return 1;
    std::string got = peer.readAll();
    if (got != "hello") return 1;
    std::printf("consumer (C++ wrapper): exchanged \"%s\" through qlocal %s\n", got.c_str(), qlocal::version());
    return 0;
}
