// Links the shared library through qlocal::cpp and exchanges one message in one loop.
#include "qlocal.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <unistd.h>

int main() {
    std::string name = "qlocal-consumer-" + std::to_string(getpid());
    qlocal_loop *loop = nullptr;
    qlocal_server *server = nullptr;
    qlocal_socket *client = nullptr, *peer = nullptr;
    int rc = 1;
    char buf[16] = {};
    size_t n = 0;
    if (qlocal_loop_new(&loop) == QLOCAL_RESULT_OK && qlocal_server_new(loop, &server) == QLOCAL_RESULT_OK &&
        qlocal_socket_new(loop, &client) == QLOCAL_RESULT_OK &&
        qlocal_server_listen(server, name.c_str()) == QLOCAL_RESULT_OK &&
        qlocal_socket_connect_to_server(client, name.c_str()) == QLOCAL_RESULT_OK &&
        qlocal_socket_wait_for_connected(client, 5000) == QLOCAL_RESULT_OK &&
        qlocal_server_wait_for_new_connection(server, 5000) == QLOCAL_RESULT_OK &&
        qlocal_server_next_pending_connection(server, &peer) == QLOCAL_RESULT_OK && peer &&
        qlocal_socket_write(client, reinterpret_cast<const uint8_t *>("hello"), 5) == QLOCAL_RESULT_OK &&
        qlocal_socket_wait_for_ready_read(peer, 5000) == QLOCAL_RESULT_OK &&
        qlocal_socket_read(peer, reinterpret_cast<uint8_t *>(buf), sizeof buf - 1, &n) == QLOCAL_RESULT_OK &&
        n == 5 && std::strcmp(buf, "hello") == 0) {
        std::printf("consumer: exchanged \"%s\" through qlocal %s\n", buf, qlocal_version_string());
        rc = 0;
    }
    (void)qlocal_socket_destroy(peer);
    (void)qlocal_socket_destroy(client);
    (void)qlocal_server_destroy(server);
    (void)qlocal_loop_destroy(loop);
    return rc;
}
