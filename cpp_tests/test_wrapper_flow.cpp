// The original benchmark flow (pingPong, dataExchange) written against the C++ wrapper: an
// echo server on its own thread with its own EventLoop, N clients on the main thread's loop,
// every echoed byte compared with the stream its client sent (flow_stream.hpp). Shared helpers:
// wrapper_harness.hpp.
#include "flow_stream.hpp"
#include "wrapper_harness.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace wrapper_test;

// ---- the original benchmark flow, through the wrapper -----------------------------------------
//
// An echo server on its own thread with its own EventLoop; N clients on the main thread's
// loop. pingPong: one byte in flight per client; dataExchange: one chunk in flight per client.
// Every echoed byte is compared with what its client sent.

namespace {

// Client i's stream is flow_stream's (the same bytes qlocal's C flow and Qt's flow check).
const char *streamAt(int client, long long offset) {
    return reinterpret_cast<const char *>(flow_stream::at(client, offset));
}

class EchoThread {
public:
    ~EchoThread() { (void)stop(); }

    // Starts the server thread; returns once it listens ("" ) or failed (the reason).
    std::string start(const std::string &name, size_t chunk) {
        std::future<std::string> ready = listening_.get_future();
        thread_ = std::thread([this, name, chunk] { run(name, chunk); });
        return ready.get();
    }

    // Stops the server's loop from this thread, joins, and returns the server's error, if any.
    std::string stop() {
        if (!thread_.joinable()) return error_;
        if (qlocal::EventLoop *l = loop_.load()) (void)l->stop();  // any thread may stop a loop
        stopSent_.set_value();
        thread_.join();
        return error_;
    }

private:
    struct Conn {
        LocalSocket socket;
        std::vector<char> buffer;
    };

    void run(const std::string &name, size_t chunk) {
        std::promise<std::string> &listening = listening_;
        auto loop = qlocal::EventLoop::create();
        if (!loop) return listening.set_value(std::string("EventLoop::create: ") + qlocal::resultString(loop.error()));
        auto server = LocalServer::create(*loop);
        if (!server) return listening.set_value(std::string("LocalServer::create: ") + qlocal::resultString(server.error()));
        std::vector<std::unique_ptr<Conn>> conns;
        (void)server->onNewConnection([&] {
            while (LocalSocket s = server->nextPendingConnection()) {
                auto c = std::make_unique<Conn>();
                c->socket = std::move(s);
                c->buffer.resize(chunk);
                Conn *cp = c.get();
                Result r = cp->socket.onReadyRead([this, cp] {
                    // Reads what is there, chunk by chunk, and writes the same bytes back.
                    for (;;) {
                        int64_t n = cp->socket.read(cp->buffer.data(), cp->buffer.size());
                        if (n < 0) return fail("server read failed");
                        if (n == 0) return;
                        Result w = cp->socket.write(cp->buffer.data(), static_cast<size_t>(n));
                        if (w != Result::Ok) return fail("server write: " + rname(w));
                    }
                });
                if (r != Result::Ok) fail("onReadyRead: " + rname(r));
                conns.push_back(std::move(c));
            }
        });
        if (qlocal::Outcome o = server->listen(name); !o)
            return listening.set_value("listen: " + rname(o) + " " + server->errorString());
        loop_.store(&*loop);
        listening.set_value("");
        // Until the main thread's stop(); the bound only guards against a hang.
        Result r = loop->exec(10 * 60 * 1000);
        if (r != Result::Ok) fail("server loop: " + rname(r));
        stopSent_.get_future().wait();  // the main thread no longer touches the loop
        loop_.store(nullptr);
        // RAII on this thread: connections, then the server, then the loop.
    }

    void fail(const std::string &e) {
        if (error_.empty()) error_ = e;
    }

    std::thread thread_;
    std::atomic<qlocal::EventLoop *> loop_{nullptr};
    // Members, so neither promise is destroyed while the other thread may still use it.
    std::promise<std::string> listening_;
    std::promise<void> stopSent_;
    std::string error_;
};

struct FlowClient {
    LocalSocket socket;
    int id = 0;
    long long total = 0;  // bytes to send and get back
    long long sent = 0;
    long long received = 0;
};

struct FlowClients {
    std::vector<std::unique_ptr<FlowClient>> list;
    std::vector<char> scratch;
    size_t chunk = 1;
    int connected = 0;
    int done = 0;
    std::string error;

    void fail(const std::string &e) {
        if (error.empty()) error = e;
    }

    void sendChunk(FlowClient &c) {
        Result r = c.socket.write(streamAt(c.id, c.sent), chunk);
        if (r != Result::Ok) return fail("client write: " + rname(r));
        c.sent += static_cast<long long>(chunk);
    }

    // Reads everything available, checks it byte for byte, keeps one chunk in flight.
    void onReadyRead(FlowClient &c) {
        for (;;) {
            int64_t n = c.socket.read(scratch.data(), scratch.size());
            if (n < 0) return fail("client read failed");
            if (n == 0) break;
            if (c.received + n > c.sent)
                return fail("client " + std::to_string(c.id) + " got more bytes than it sent");
            if (std::memcmp(scratch.data(), streamAt(c.id, c.received), static_cast<size_t>(n)) != 0)
                return fail("client " + std::to_string(c.id) + " got wrong bytes at offset " +
                            std::to_string(c.received));
            c.received += n;
        }
        if (c.received == c.total)
            ++done;
        else if (c.received == c.sent)
            sendChunk(c);
    }
};

// One row: `connections` clients each send `perClient` bytes in `chunk`-byte writes.
std::string runWrapperFlow(const char *kind, int connections, size_t chunk, long long perClient) {
    flow_stream::raise_fd_limit();
    std::string name = qt::unique_name(kind);
    EchoThread echo;
    std::string err = echo.start(name, chunk);
    if (!err.empty()) return err;

    auto loop = qlocal::EventLoop::create();
    if (!loop) return "EventLoop::create failed";
    FlowClients all;
    all.chunk = chunk;
    all.scratch.resize(std::max<size_t>(chunk, 65536));
    perClient = std::max<long long>(1, perClient / static_cast<long long>(chunk)) * static_cast<long long>(chunk);
    for (int i = 0; i < connections; ++i) {
        auto c = std::make_unique<FlowClient>();
        c->id = i;
        c->total = perClient;
        auto s = LocalSocket::create(*loop);
        if (!s) return "LocalSocket::create: " + rname(s.error());
        c->socket = std::move(s).value();
        FlowClient *cp = c.get();
        Result r = cp->socket.onConnected([&all] { all.connected++; });
        if (r == Result::Ok)
            r = cp->socket.onErrorOccurred([&all, cp](qlocal::LocalSocketError e) {
                all.fail("client " + std::to_string(cp->id) + " error " + errorName(e) + ": " +
                         cp->socket.errorString());
            });
        if (r == Result::Ok) r = cp->socket.onReadyRead([&all, cp] { all.onReadyRead(*cp); });
        if (r == Result::Ok) r = cp->socket.connectToServer(name);
        if (r != Result::Ok) return "client setup: " + rname(r);
        all.list.push_back(std::move(c));
    }
    double deadline = qt::now_ms() + 100 * 1000;
    auto left = [&] { return static_cast<int>(std::max(1.0, deadline - qt::now_ms())); };
    bool ok = runUntil(*loop, [&] { return !all.error.empty() || all.connected == connections; }, left());
    if (!all.error.empty()) return all.error;
    if (!ok) return "timed out connecting (" + std::to_string(all.connected) + " of " + std::to_string(connections) + ")";
    for (auto &c : all.list) all.sendChunk(*c);
    ok = runUntil(*loop, [&] { return !all.error.empty() || all.done == connections; }, left());
    if (!all.error.empty()) return all.error;
    if (!ok) return "timed out (" + std::to_string(all.done) + " of " + std::to_string(connections) + " done)";
    for (auto &c : all.list)
        if (c->received != c->total) return "client " + std::to_string(c->id) + " incomplete";
    return echo.stop();
}

}  // namespace

QLOCAL_TEST(wrapper_flow_ping_pong) {
    const long long iterations = 5000;
    for (int connections : {10, 50, 100, 1000}) {
        std::string err = runWrapperFlow("wpp", connections, 1, iterations / connections);
        if (!err.empty()) qt::fail(__FILE__, __LINE__, "pingPong " + std::to_string(connections) + ": " + err);
        CHECK(!qt::g_failed);
    }
}

QLOCAL_TEST(wrapper_flow_data_exchange) {
    const long long iterations = 200;
    for (int connections : {1, 5, 10}) {
        for (size_t chunk : {100u, 1000u, 10000u, 100000u}) {
            std::string err = runWrapperFlow("wdx", connections, chunk,
                                             iterations * static_cast<long long>(chunk) / connections);
            if (!err.empty())
                qt::fail(__FILE__, __LINE__,
                         "dataExchange " + std::to_string(connections) + " x " + std::to_string(chunk) + ": " + err);
            CHECK(!qt::g_failed);
        }
    }
}
