/* Calls every function of qlocal.h the way the README does: results a caller needs are
 * checked, calls Qt declares void (setters, callback setters, stop/wakeup, abort/close/
 * disconnect, remove_server) are plain statements. ctest compiles this with GCC and Clang
 * under -Wall -Wextra -Werror (compile_warnings_c_*): a QLOCAL_NODISCARD on a call people
 * ignore, or one missing where it matters, shows up here. Compiled only, never run. */
#include "qlocal.h"

#include <stdio.h>
#include <unistd.h>

static void on_wakeup(void *ud, qlocal_loop *l) { (void)ud; (void)l; }
static void on_new_connection(void *ud, qlocal_server *s) { (void)ud; (void)s; }
static void on_incoming(void *ud, qlocal_server *s, qlocal_descriptor fd) { (void)ud; (void)s; (void)fd; }
static void on_socket(void *ud, qlocal_socket *s) { (void)ud; (void)s; }
static void on_error(void *ud, qlocal_socket *s, qlocal_local_socket_error e) { (void)ud; (void)s; (void)e; }
static void on_state(void *ud, qlocal_socket *s, qlocal_local_socket_state st) { (void)ud; (void)s; (void)st; }
static void on_written(void *ud, qlocal_socket *s, uint64_t n) { (void)ud; (void)s; (void)n; }
static void finalize(void *ud) { (void)ud; }
static void on_timeout(void *ud, qlocal_timer *t) { (void)ud; (void)t; }
static void posted(void *ud) { (void)ud; }

int every_call(void);
int every_call(void) {
    qlocal_loop *loop = NULL;
    qlocal_server *server = NULL;
    qlocal_socket *socket = NULL;
    qlocal_socket *accepted = NULL;
    qlocal_timer *timer = NULL;
    uint8_t buf[64];
    size_t n = 0;
    bool wrote = false;
    qlocal_descriptor fd = -1;
    int timeout = -1;
    int rc = 1;

    printf("qlocal %s: %s\n", qlocal_version_string(), qlocal_result_string(QLOCAL_RESULT_OK));
    if (qlocal_loop_new(&loop) != QLOCAL_RESULT_OK) return 1;
    qlocal_loop_set_userdata(loop, NULL, finalize);
    qlocal_loop_set_wakeup_callback(loop, on_wakeup);
    (void)qlocal_loop_userdata(loop);
    (void)qlocal_loop_is_owner_thread(loop);
    if (qlocal_loop_fd(loop, &fd) != QLOCAL_RESULT_OK) goto out;
    qlocal_loop_set_busy_poll(loop, 0);
    printf("%d\n", qlocal_loop_busy_poll(loop));
    if (qlocal_loop_timeout(loop, &timeout) != QLOCAL_RESULT_OK) goto out;

    if (qlocal_server_new(loop, &server) != QLOCAL_RESULT_OK) goto out;
    qlocal_server_set_userdata(server, NULL, finalize);
    qlocal_server_set_new_connection_callback(server, on_new_connection);
    qlocal_server_set_max_pending_connections(server, 30);
    qlocal_server_set_listen_backlog_size(server, 50);
    qlocal_server_set_socket_options(server, QLOCAL_SERVER_USER_ACCESS);
    qlocal_server_remove_server("every-call");
    if (qlocal_server_listen(server, "every-call") != QLOCAL_RESULT_OK) {
        fprintf(stderr, "listen: %s (%s)\n", qlocal_result_string(QLOCAL_RESULT_ADDRESS_IN_USE),
                qlocal_server_error_string(server));
        goto out;
    }
    if (qlocal_server_listen_descriptor(server, -1) == QLOCAL_RESULT_OK) goto out;
    printf("%s %s %d %d %d %u %p\n", qlocal_server_server_name(server), qlocal_server_full_server_name(server),
           qlocal_server_is_listening(server), qlocal_server_has_pending_connections(server),
           (int)qlocal_server_error(server), qlocal_server_socket_options(server), qlocal_server_userdata(server));
    (void)qlocal_server_max_pending_connections(server);
    (void)qlocal_server_listen_backlog_size(server);
    (void)qlocal_server_socket_descriptor(server);
    qlocal_server_set_incoming_connection_callback(server, on_incoming);
    qlocal_server_set_incoming_connection_callback(server, NULL);
    if (qlocal_server_add_pending_descriptor(server, -1) == QLOCAL_RESULT_OK) goto out;
    {
        qlocal_socket *added = NULL;
        if (qlocal_socket_new(loop, &added) != QLOCAL_RESULT_OK) goto out;
        if (qlocal_server_add_pending_connection(server, added) != QLOCAL_RESULT_OK) qlocal_socket_destroy(added);
    }

    if (qlocal_socket_new(loop, &socket) != QLOCAL_RESULT_OK) goto out;
    qlocal_socket_set_userdata(socket, NULL, finalize);
    qlocal_socket_set_connected_callback(socket, on_socket);
    qlocal_socket_set_disconnected_callback(socket, on_socket);
    qlocal_socket_set_ready_read_callback(socket, on_socket);
    qlocal_socket_set_read_channel_finished_callback(socket, on_socket);
    qlocal_socket_set_error_callback(socket, on_error);
    qlocal_socket_set_state_changed_callback(socket, on_state);
    qlocal_socket_set_bytes_written_callback(socket, on_written);
    qlocal_socket_set_server_name(socket, "every-call");
    qlocal_socket_set_socket_options(socket, 0);
    qlocal_socket_set_connect_timeout(socket, 1000);
    qlocal_socket_set_linger_timeout(socket, 1000);
    qlocal_socket_set_read_buffer_size(socket, 0);
    if (qlocal_socket_connect_to_server(socket, NULL) != QLOCAL_RESULT_OK) goto out;
    if (qlocal_socket_wait_for_connected(socket, 1000) != QLOCAL_RESULT_OK) goto out;
    if (qlocal_server_wait_for_new_connection(server, 1000) != QLOCAL_RESULT_OK) goto out;
    if (qlocal_server_next_pending_connection(server, &accepted) != QLOCAL_RESULT_OK) goto out;
    if (qlocal_socket_write(socket, (const uint8_t *)"hello\n", 6) != QLOCAL_RESULT_OK) goto out;
    qlocal_socket_flush(socket, &wrote);
    if (qlocal_socket_wait_for_bytes_written(socket, 1000) != QLOCAL_RESULT_OK) goto out;
    if (qlocal_socket_wait_for_ready_read(accepted, 1000) != QLOCAL_RESULT_OK) goto out;
    if (qlocal_socket_peek(accepted, buf, sizeof buf, &n) != QLOCAL_RESULT_OK) goto out;
    if (qlocal_socket_can_read_line(accepted) &&
        qlocal_socket_read_line(accepted, buf, sizeof buf, &n) != QLOCAL_RESULT_OK)
        goto out;
    if (qlocal_socket_skip(accepted, 1, &n) != QLOCAL_RESULT_OK) goto out;
    if (qlocal_socket_read(accepted, buf, sizeof buf, &n) != QLOCAL_RESULT_OK) goto out;
    qlocal_socket_start_transaction(accepted);
    if (qlocal_socket_get_char(accepted, &buf[0]) == QLOCAL_RESULT_OK) qlocal_socket_unget_char(accepted, buf[0]);
    qlocal_socket_rollback_transaction(accepted);
    qlocal_socket_commit_transaction(accepted);
    if (qlocal_socket_read_all(accepted, buf, sizeof buf, &n) != QLOCAL_RESULT_OK) goto out;
    if (qlocal_socket_put_char(socket, 'x') != QLOCAL_RESULT_OK) goto out;
    qlocal_socket_set_about_to_close_callback(socket, on_socket);
    qlocal_socket_set_message_callback(accepted, on_socket);
    qlocal_socket_set_write_buffer_limits(socket, 1 << 20, 1 << 18);
    qlocal_socket_set_write_drained_callback(socket, on_socket);
    printf("%zu %zu\n", qlocal_socket_write_high_water(socket), qlocal_socket_write_low_water(socket));
    if (qlocal_socket_set_max_descriptors(accepted, QLOCAL_MAX_DESCRIPTORS_PER_WRITE) == QLOCAL_RESULT_OK) {
        qlocal_descriptor fds[1] = {0};
        if (qlocal_socket_write_with_descriptors(socket, (const uint8_t *)"f", 1, fds, 1) != QLOCAL_RESULT_OK) goto out;
        if (qlocal_socket_wait_for_ready_read(accepted, 1000) != QLOCAL_RESULT_OK) goto out;
        printf("%zu %zu\n", qlocal_socket_max_descriptors(accepted), qlocal_socket_descriptors_available(accepted));
        qlocal_descriptor got = -1;
        if (qlocal_socket_take_descriptor(accepted, &got) != QLOCAL_RESULT_OK) goto out;
        if (got >= 0) close((int)got);
        if (qlocal_socket_read(accepted, buf, 1, &n) != QLOCAL_RESULT_OK) goto out;
    }
    qlocal_socket_set_max_message_size(accepted, QLOCAL_DEFAULT_MAX_MESSAGE_SIZE);
    if (qlocal_socket_write_message(socket, (const uint8_t *)"msg", 3) != QLOCAL_RESULT_OK) goto out;
    if (qlocal_socket_wait_for_ready_read(accepted, 1000) != QLOCAL_RESULT_OK) goto out;
    if (qlocal_socket_has_message(accepted)) {
        bool is_null = false;
        if (qlocal_socket_next_message_size(accepted, &n, &is_null) != QLOCAL_RESULT_OK) goto out;
        if (qlocal_socket_read_message(accepted, buf, sizeof buf, &n, &is_null) != QLOCAL_RESULT_OK) goto out;
    }
    printf("%zu\n", qlocal_socket_max_message_size(accepted));
    printf("%d %d %d %d %d %d\n", qlocal_socket_is_transaction_started(accepted), qlocal_socket_at_end(accepted),
           (int)qlocal_socket_open_mode(socket), qlocal_socket_is_open(socket), qlocal_socket_is_readable(socket),
           qlocal_socket_is_writable(socket));
    printf("%d %d %s %d %zu %zu %zu %s %s %u %d %d %d %p\n", (int)qlocal_socket_state(socket),
           (int)qlocal_socket_error(socket), qlocal_socket_error_string(socket), qlocal_socket_is_valid(socket),
           qlocal_socket_bytes_available(socket), qlocal_socket_bytes_to_write(socket),
           qlocal_socket_read_buffer_size(socket), qlocal_socket_server_name(socket),
           qlocal_socket_full_server_name(socket), qlocal_socket_socket_options(socket),
           (int)qlocal_socket_socket_descriptor(socket), qlocal_socket_connect_timeout(socket),
           qlocal_socket_linger_timeout(socket), qlocal_socket_userdata(socket));
    if (qlocal_socket_set_socket_descriptor(socket, -1) == QLOCAL_RESULT_OK) goto out;
    {
        qlocal_peer_credentials cred;
        if (qlocal_socket_peer_credentials(socket, &cred) == QLOCAL_RESULT_OK)
            printf("%d %u %u\n", (int)cred.pid, (unsigned)cred.uid, (unsigned)cred.gid);
    }
    if (qlocal_socket_set_socket_descriptor_with_state(socket, -1, QLOCAL_LOCAL_SOCKET_STATE_CONNECTED,
                                                       QLOCAL_OPEN_MODE_READ_WRITE) == QLOCAL_RESULT_OK)
        goto out;
    if (qlocal_socket_connect_to_server_with_mode(socket, NULL, QLOCAL_OPEN_MODE_READ_ONLY) == QLOCAL_RESULT_OK)
        goto out; /* already connected */
    qlocal_socket_disconnect_from_server(socket);
    if (qlocal_socket_wait_for_disconnected(socket, 1000) != QLOCAL_RESULT_OK) goto out;
    qlocal_socket_close(accepted);
    qlocal_socket_abort(accepted);
    if (qlocal_loop_post(loop, posted, NULL, finalize) != QLOCAL_RESULT_OK) goto out;
    if (qlocal_loop_single_shot(loop, 10, posted, NULL, finalize) != QLOCAL_RESULT_OK) goto out;
    if (qlocal_timer_new(loop, &timer) != QLOCAL_RESULT_OK) goto out;
    qlocal_timer_set_userdata(timer, NULL, finalize);
    qlocal_timer_set_timeout_callback(timer, on_timeout);
    qlocal_timer_set_single_shot(timer, true);
    qlocal_timer_set_interval(timer, 10);
    if (qlocal_timer_start(timer, 10) != QLOCAL_RESULT_OK) goto out;
    printf("%d %d %d %d %p\n", qlocal_timer_interval(timer), qlocal_timer_remaining_time(timer),
           qlocal_timer_is_single_shot(timer), qlocal_timer_is_active(timer), qlocal_timer_userdata(timer));
    qlocal_timer_stop(timer);
    if (qlocal_loop_run(loop, QLOCAL_RUN_MODE_NO_WAIT, 0) != QLOCAL_RESULT_OK) goto out;
    qlocal_socket_destroy_later(accepted);
    accepted = NULL;
    qlocal_loop_wakeup(loop);
    qlocal_loop_stop(loop);
    qlocal_server_close(server);
    qlocal_server_destroy_later(server);
    server = NULL;
    rc = 0;
out:
    qlocal_timer_destroy(timer);
    qlocal_socket_destroy(accepted);
    qlocal_socket_destroy(socket);
    qlocal_server_destroy(server);
    qlocal_loop_destroy(loop);
    return rc;
}
