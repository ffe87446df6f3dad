// What the two message peers share (qt_message_peer.cpp with QDataStream, qlocal_message_peer.cpp
// with qlocal's message calls): the options, and the messages a client sends, so each side
// knows every byte it must receive. No Qt and no qlocal in here.
//
//   PEER server|client --name NAME --scenario echo|oversize [--count N] [--seed S] [--timeout-ms N]
//
//   echo      the client sends a burst of messages (the sizes below, then --count more of random
//             size, some null), all written before it reads anything; the server echoes each
//             one as it reads it (as a message); the client checks every echoed message, in
//             order, byte for byte and null or not, then disconnects; the server checks it saw
//             every message and the disconnect.
//   oversize  the Qt peer (server or client) writes one 10-byte message, then one of
//             kOversizeMax + 1 bytes; the qlocal peer, with the maximum message size set to
//             kOversizeMax, must take the first, then report DATAGRAM_TOO_LARGE and close;
//             the Qt peer must see the connection end.
#pragma once

#include "interop.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace interop {

struct MessageOptions {
    Role role = Role::Server;
    std::string name;
    std::string scenario;
    int count = 200;
    uint32_t seed = 1;
    int timeout_ms = 30000;
};

inline bool parse_message_options(int argc, char **argv, MessageOptions &o) {
    if (argc < 2) return false;
    std::string role = argv[1];
    if (role == "server")
        o.role = Role::Server;
    else if (role == "client")
        o.role = Role::Client;
    else
        return false;
    for (int i = 2; i < argc; ++i) {
        std::string a = argv[i];
        bool has_value = i + 1 < argc;
        if (a == "--name" && has_value)
            o.name = argv[++i];
        else if (a == "--scenario" && has_value)
            o.scenario = argv[++i];
        else if (a == "--count" && has_value)
            o.count = std::atoi(argv[++i]);
        else if (a == "--seed" && has_value)
            o.seed = static_cast<uint32_t>(std::strtoul(argv[++i], nullptr, 10));
        else if (a == "--timeout-ms" && has_value)
            o.timeout_ms = std::atoi(argv[++i]);
        else
            return false;
    }
    return !o.name.empty() && (o.scenario == "echo" || o.scenario == "oversize") && o.count >= 0 &&
           o.timeout_ms > 0;
}

inline const char *message_usage() {
    return "usage: PEER server|client --name NAME --scenario echo|oversize [--count N] [--seed S] "
           "[--timeout-ms N]\n";
}

// One message: its bytes, or a null QByteArray.
struct Message {
    bool null = false;
    std::string bytes;
    bool operator==(const Message &o) const { return null == o.null && bytes == o.bytes; }
};

inline std::string describe(const Message &m) {
    return m.null ? std::string("null") : std::to_string(m.bytes.size()) + " bytes";
}

// The sizes every echo run starts with (-1: a null QByteArray), then `count` random ones.
inline std::vector<Message> echo_messages(int count, uint32_t seed) {
    std::vector<long> sizes = {0, -1, 1, 65535, 65536, 65537, 1024 * 1024 + 3};
    uint32_t s = seed;
    auto next = [&s] {
        s = s * 1664525u + 1013904223u;
        return s;
    };
    for (int i = 0; i < count; ++i) {
        uint32_t r = next();
        // Mostly small, some up to 200 KB, one in 16 null.
        long size = (r % 16 == 0) ? -1 : (r % 4 == 0) ? static_cast<long>(next() % 200000) : static_cast<long>(next() % 2000);
        sizes.push_back(size);
    }
    std::vector<Message> out;
    for (size_t i = 0; i < sizes.size(); ++i) {
        Message m;
        if (sizes[i] < 0) {
            m.null = true;
        } else {
            std::vector<uint8_t> p = Pattern::bytes(seed + static_cast<uint32_t>(i), 0, static_cast<size_t>(sizes[i]));
            m.bytes.assign(p.begin(), p.end());
        }
        out.push_back(std::move(m));
    }
    return out;
}

// The oversize scenario's maximum message size on the qlocal side.
constexpr size_t kOversizeMax = 1000;

inline std::vector<Message> oversize_messages() {
    Message small;
    small.bytes = "ten bytes!";
    Message big;
    big.bytes.assign(kOversizeMax + 1, 'x');
    return {small, big};
}

}  // namespace interop
