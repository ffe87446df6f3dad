// What the qlocal peers (qlocal_peer.cpp, qlocal_message_peer.cpp) share: a result check that
// logs the failed call, and owning holders for the C handles (each destroyed once, on every
// path). Only the qlocal C API and interop.hpp's log.
#pragma once

#include "interop.hpp"
#include "qlocal.h"

#include <string>

namespace interop {

inline std::string describe(qlocal_result rc) {
    return std::to_string(static_cast<int>(rc)) + " (" + qlocal_result_string(rc) + ")";
}

// Logs a failed call; true when `rc` is OK.
inline bool ok(qlocal_result rc, const char *what) {
    if (rc == QLOCAL_RESULT_OK) return true;
    log("%s failed: %s", what, describe(rc).c_str());
    return false;
}

struct Loop {
    qlocal_loop *p = nullptr;
    ~Loop() { (void)qlocal_loop_destroy(p); }
};
struct Server {
    qlocal_server *p = nullptr;
    ~Server() { (void)qlocal_server_destroy(p); }
};
struct Socket {
    qlocal_socket *p = nullptr;
    ~Socket() { (void)qlocal_socket_destroy(p); }
};

}  // namespace interop
