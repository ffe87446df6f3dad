// What the benchmark flow sends, shared by qlocal's flow (flow.cpp) and Qt's (bench/qt_flow.cpp)
// so both check exactly the same bytes: client i's byte at offset k is
// table[(k + i * 7) % kPeriod]. The period is prime, so a lost, repeated or reordered chunk of
// any size shows as a mismatch. Header-only; no qlocal or Qt.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>
#ifndef _WIN32
#include <sys/resource.h>
#endif

namespace flow_stream {

constexpr size_t kPeriod = 65521;
constexpr size_t kMaxChunk = 100000;

// kPeriod pattern bytes, repeated far enough that any chunk starting in the period is contiguous.
inline const std::vector<uint8_t> &table() {
    static const std::vector<uint8_t> t = [] {
        std::vector<uint8_t> v(kPeriod + kMaxChunk + 65536);
        uint32_t x = 2463534242u;
        for (size_t k = 0; k < kPeriod; ++k) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            v[k] = static_cast<uint8_t>(x);
        }
        for (size_t k = kPeriod; k < v.size(); ++k) v[k] = v[k - kPeriod];
        return v;
    }();
    return t;
}

// The bytes client `client` sends from `offset` on (valid for up to kMaxChunk bytes).
inline const uint8_t *at(int client, long long offset) {
    return table().data() + static_cast<size_t>((offset + client * 7LL) % kPeriod);
}

// Raises the soft descriptor limit to the hard one (10,000 connections need ~20,000). Windows
// has no such per-process limit on handles (only a very large system one): nothing to raise.
inline void raise_fd_limit() {
#ifndef _WIN32
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
#endif
}

}  // namespace flow_stream
