// What the C++ wrapper's test cases (test_wrapper_*.cpp) share: running a qlocal::EventLoop
// until a condition holds, a connected server/client/accepted triple, a recorder of a
// LocalSocket's signals, and CHECK macros for Results and enums. Header-only (inline), on top
// of harness.hpp's cases and CHECKs.
#pragma once

#include "qlocal.hpp"

#include "harness.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace wrapper_test {

using qlocal::LocalServer;
using qlocal::LocalSocket;
using qlocal::Result;

inline std::string rname(Result r) {
    return std::to_string(static_cast<int>(r)) + " (" + qlocal::resultString(r) + ")";
}

// Runs `loop` one batch at a time until `done()` or `timeoutMs`; false on timeout or error.
inline bool runUntil(qlocal::EventLoop &loop, const std::function<bool()> &done, int timeoutMs = 10000) {
    double deadline = qt::now_ms() + timeoutMs;
    while (!done()) {
        int left = static_cast<int>(deadline - qt::now_ms());
        if (left <= 0) return false;
        Result r = loop.run(qlocal::RunMode::Once, left);
        if (r != Result::Ok && r != Result::Timeout) {
            std::fprintf(stderr, "EventLoop::run: %s\n", rname(r).c_str());
            return false;
        }
    }
    return true;
}

// Runs `loop` for `ms` milliseconds whatever happens (to show that nothing more does).
inline void spin(qlocal::EventLoop &loop, int ms) {
    double deadline = qt::now_ms() + ms;
    for (int left = ms; left > 0; left = static_cast<int>(deadline - qt::now_ms()))
        (void)loop.run(qlocal::RunMode::Once, left);
}

// A listening server with a connected client and the accepted end, all on one loop.
struct WPair {
    LocalServer server;
    LocalSocket client;
    LocalSocket accepted;
};

// Fills `p` listening on `name`; "" on success, else what failed.
inline std::string connectPair(qlocal::EventLoop &loop, const std::string &name, WPair &p) {
    auto server = LocalServer::create(loop);
    auto client = LocalSocket::create(loop);
    if (!server || !client) return "create failed";
    p.server = std::move(server).value();
    p.client = std::move(client).value();
    if (qlocal::Outcome o = p.server.listen(name); !o) return "listen: " + rname(o);
    Result r = p.client.connectToServer(name);
    if (r == Result::Ok) r = p.client.waitForConnected(5000);
    if (r == Result::Ok) r = p.server.waitForNewConnection(5000);
    if (r != Result::Ok) return "connect: " + rname(r);
    p.accepted = p.server.nextPendingConnection();
    if (!p.accepted) return "nextPendingConnection gave nothing";
    return "";
}

inline std::string stateName(qlocal::LocalSocketState s) { return std::to_string(static_cast<int>(s)); }
inline std::string errorName(qlocal::LocalSocketError e) { return std::to_string(static_cast<int>(e)); }

// Records every signal of a socket, as "state:2", "connected", "ready_read", "error:1",
// "read_channel_finished", "disconnected", "bytes_written:N".
struct Signals {
    std::vector<std::string> events;
    Result attach(LocalSocket &s) {
        Result r = Result::Ok;
        auto keep = [&r](Result x) {
            if (r == Result::Ok) r = x;
        };
        keep(s.onConnected([this] { events.push_back("connected"); }));
        keep(s.onDisconnected([this] { events.push_back("disconnected"); }));
        keep(s.onReadyRead([this] { events.push_back("ready_read"); }));
        keep(s.onReadChannelFinished([this] { events.push_back("read_channel_finished"); }));
        keep(s.onErrorOccurred([this](qlocal::LocalSocketError e) { events.push_back("error:" + errorName(e)); }));
        keep(s.onStateChanged([this](qlocal::LocalSocketState st) { events.push_back("state:" + stateName(st)); }));
        keep(s.onBytesWritten([this](uint64_t n) { events.push_back("bytes_written:" + std::to_string(n)); }));
        return r;
    }
    std::string joined() const {
        std::string out;
        for (const auto &e : events) out += (out.empty() ? "" : ",") + e;
        return out;
    }
    size_t count(const std::string &e) const { return static_cast<size_t>(std::count(events.begin(), events.end(), e)); }
};

}  // namespace wrapper_test

// Compares Results (an Outcome converts), printing both names on mismatch.
#define CHECK_R(expr, expected)                                                                   \
    do {                                                                                          \
        ::qlocal::Result w_r_ = (expr);                                                           \
        ::qlocal::Result w_e_ = (expected);                                                       \
        if (w_r_ != w_e_) {                                                                       \
            qt::fail(__FILE__, __LINE__,                                                          \
                     #expr " returned " + ::wrapper_test::rname(w_r_) + ", expected " +           \
                         ::wrapper_test::rname(w_e_));                                            \
            return;                                                                               \
        }                                                                                         \
    } while (0)

#define CHECK_OKW(expr) CHECK_R(expr, ::qlocal::Result::Ok)

// Compares two values of an enum (or anything static_cast-able to long long).
#define CHECK_ENUM(a, b) CHECK_EQ(static_cast<long long>(a), static_cast<long long>(b))

// A fresh loop named `loop` (an Expected<EventLoop>), checked.
#define WRAPPER_LOOP(loop)                   \
    auto loop = qlocal::EventLoop::create(); \
    CHECK(loop.ok())

// `loop` as above plus a connected WPair `p` on a unique name made from `tag`.
#define WRAPPER_PAIR(loop, p, tag)                                      \
    WRAPPER_LOOP(loop);                                                 \
    ::wrapper_test::WPair p;                                            \
    CHECK_STREQ(::wrapper_test::connectPair(*loop, qt::unique_name(tag), p), "")

// `loop` as above plus a connected WPair `p` listening on `name`, a unique name made from `tag`.
#define WRAPPER_NAMED_PAIR(loop, p, name, tag)                          \
    WRAPPER_LOOP(loop);                                                 \
    ::wrapper_test::WPair p;                                            \
    std::string name = qt::unique_name(tag);                            \
    CHECK_STREQ(::wrapper_test::connectPair(*loop, name, p), "")

// `loop` as above plus `server` (an Expected<LocalServer>) listening on `name`, a unique name
// made from `tag`.
#define WRAPPER_LISTENING(loop, server, name, tag)                      \
    WRAPPER_LOOP(loop);                                                 \
    auto server = ::qlocal::LocalServer::create(*loop);                 \
    CHECK(server.ok());                                                 \
    std::string name = qt::unique_name(tag);                            \
    CHECK(server->listen(name))
