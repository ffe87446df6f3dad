// The original QLocalSocket benchmark flow (pingPong and dataExchange), written against
// qlocal's C API and made correct: every result is checked, partial reads are handled, every
// echoed byte is compared with what was sent, every wait has a deadline, and every object is
// owned (nothing leaks on an early exit).
#pragma once

#include <string>

namespace qt {

struct FlowRow {
    std::string kind;        // "pingPong" or "dataExchange"
    int connections = 1;
    int chunk = 1;           // bytes per write
    long long bytes = 1;     // bytes each client sends and must get back
    bool child_clients = false;  // clients in a second process (for 10,000 connections)

    std::string label() const;
};

struct FlowResult {
    bool ok = false;
    std::string error;
    double setup_ms = 0;  // connecting all clients
    double run_ms = 0;    // from "start" to the last client done (what the original times)
};

// pingPong: chunk 1, `iterations` round trips shared by the connections.
FlowRow ping_pong(int connections, long long iterations = 100000);
// dataExchange: `iterations` chunks shared by the connections.
FlowRow data_exchange(int connections, int chunk, long long iterations = 50000);

FlowResult run_flow(const FlowRow &row, int timeout_ms);

int flows_main(int argc, char **argv);
int flow_clients_main(int argc, char **argv);
int flow_row_main(int argc, char **argv);
int flow_rtt_main(int argc, char **argv);  // flow_rtt.cpp

}  // namespace qt
