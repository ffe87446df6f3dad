/* tests/embed_windows.c: what include/qlocal_qt.hpp's QtLoopDriver does on Windows, in plain C
 * against qlocal.h, built with mingw-w64 and run under Wine by scripts/test-windows.sh (there is
 * no Qt for mingw-w64 here, so the driver itself cannot be built for Windows).
 *
 * The driver: a QWinEventNotifier on the qlocal_loop_fd handle and a single-shot QTimer on
 * qlocal_loop_timeout; whichever fires, qlocal_loop_run(NO_WAIT), then the timer is re-armed.
 * Here: WaitForSingleObject(handle, timeout), then the same run. The loop serves a raw Win32
 * client on another thread (1 MiB echoed, every byte checked, then its close), then goes
 * quiet; on a second loop a 50 ms single-shot timer must fire through the timeout path, the
 * handle quiet. Exit 0 on success; every wait is
 * bounded (30 s overall). */
#include "qlocal.h"

#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEN (1u << 20)

static int failures;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "embed_windows.c:%d: %s\n", __LINE__, #cond);        \
            failures++;                                                          \
        }                                                                        \
    } while (0)

static unsigned char pattern_at(size_t i) { return (unsigned char)((i * 2654435761u) >> 13); }

struct seen {
    qlocal_socket *peer;
    size_t got;
    int bad_byte;
    int disconnected;
    int timer_fired;
};

static void on_ready_read(void *ud, qlocal_socket *s) {
    struct seen *seen = ud;
    unsigned char buf[16384];
    for (;;) {
        size_t n = 0;
        if (qlocal_socket_read(s, buf, sizeof buf, &n) != QLOCAL_RESULT_OK || n == 0) break;
        for (size_t i = 0; i < n; i++)
            if (buf[i] != pattern_at(seen->got + i)) seen->bad_byte = 1;
        seen->got += n;
        if (qlocal_socket_write(s, buf, n) != QLOCAL_RESULT_OK) seen->bad_byte = 1;
    }
}

static void on_disconnected(void *ud, qlocal_socket *s) {
    (void)s;
    ((struct seen *)ud)->disconnected = 1;
}

static void on_new_connection(void *ud, qlocal_server *server) {
    struct seen *seen = ud;
    qlocal_socket *peer = NULL;
    if (qlocal_server_next_pending_connection(server, &peer) != QLOCAL_RESULT_OK || !peer) return;
    seen->peer = peer;
    (void)qlocal_socket_set_userdata(peer, seen, NULL);
    (void)qlocal_socket_set_ready_read_callback(peer, on_ready_read);
    (void)qlocal_socket_set_disconnected_callback(peer, on_disconnected);
}

static void on_timer(void *ud) { ((struct seen *)ud)->timer_fired = 1; }

static wchar_t pipe_name[128];

/* The client: blocking Win32 calls; writes 1 MiB, reads it back, closes. */
static DWORD WINAPI client(void *arg) {
    int *ok = arg;
    HANDLE h = CreateFileW(pipe_name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    if (h == INVALID_HANDLE_VALUE) return 1;
    unsigned char *data = malloc(LEN), *back = malloc(LEN);
    for (size_t i = 0; i < LEN; i++) data[i] = pattern_at(i);
    DWORD n = 0;
    size_t done = 0;
    while (done < LEN && WriteFile(h, data + done, (DWORD)(LEN - done), &n, NULL)) done += n;
    size_t got = 0;
    while (got < LEN && ReadFile(h, back + got, (DWORD)(LEN - got), &n, NULL) && n > 0) got += n;
    *ok = done == LEN && got == LEN && memcmp(data, back, LEN) == 0;
    CloseHandle(h);
    free(data);
    free(back);
    return 0;
}

/* One driver turn: returns 1 when the handle woke it, 0 when the timeout did. */
static int turn(qlocal_loop *loop, HANDLE handle, ULONGLONG deadline) {
    int32_t ms = -1;
    CHECK(qlocal_loop_timeout(loop, &ms) == QLOCAL_RESULT_OK);
    ULONGLONG now = GetTickCount64();
    DWORD left = now < deadline ? (DWORD)(deadline - now) : 0;
    DWORD wait = ms < 0 || (DWORD)ms > left ? left : (DWORD)ms;
    DWORD w = WaitForSingleObject(handle, wait);
    CHECK(w == WAIT_OBJECT_0 || w == WAIT_TIMEOUT);
    CHECK(qlocal_loop_run(loop, QLOCAL_RUN_MODE_NO_WAIT, 0) == QLOCAL_RESULT_OK);
    return w == WAIT_OBJECT_0;
}

int main(void) {
    qlocal_loop *loop = NULL;
    if (qlocal_loop_new(&loop) != QLOCAL_RESULT_OK) return 2;
    qlocal_descriptor fd = -1;
    CHECK(qlocal_loop_fd(loop, &fd) == QLOCAL_RESULT_OK);
    HANDLE handle = (HANDLE)fd;
    CHECK(handle != NULL && handle != INVALID_HANDLE_VALUE);
    CHECK(qlocal_loop_run(loop, QLOCAL_RUN_MODE_NO_WAIT, 0) == QLOCAL_RESULT_OK);
    CHECK(WaitForSingleObject(handle, 0) == WAIT_TIMEOUT); /* idle: not signalled */

    struct seen seen = {0};
    char name[64];
    snprintf(name, sizeof name, "qlocal-embed-c-%lu", (unsigned long)GetCurrentProcessId());
    swprintf(pipe_name, 128, L"\\\\.\\pipe\\%hs", name);
    qlocal_server *server = NULL;
    CHECK(qlocal_server_new(loop, &server) == QLOCAL_RESULT_OK);
    (void)qlocal_server_set_userdata(server, &seen, NULL);
    (void)qlocal_server_set_new_connection_callback(server, on_new_connection);
    CHECK(qlocal_server_listen(server, name) == QLOCAL_RESULT_OK);

    int client_ok = 0;
    HANDLE thread = CreateThread(NULL, 0, client, &client_ok, 0, NULL);
    CHECK(thread != NULL);
    ULONGLONG deadline = GetTickCount64() + 30000;
    int woke = 0, turns = 0;
    while (!seen.disconnected && GetTickCount64() < deadline && failures == 0) {
        woke += turn(loop, handle, deadline);
        turns++;
    }
    CHECK(WaitForSingleObject(thread, 10000) == WAIT_OBJECT_0);
    CloseHandle(thread);
    CHECK(client_ok);
    CHECK(seen.peer != NULL);
    CHECK(seen.got == LEN);
    CHECK(!seen.bad_byte);
    CHECK(seen.disconnected);
    CHECK(woke > 0);

    (void)qlocal_socket_destroy(seen.peer);
    (void)qlocal_server_destroy(server);
    /* The close's last steps (queued work, the cancelled reads' completions) take a few turns;
     * then the loop goes quiet: no timeout, the handle unsignalled for 100 ms. */
    int idle = 0;
    for (int i = 0; i < 10 && !idle; i++) {
        CHECK(qlocal_loop_run(loop, QLOCAL_RUN_MODE_NO_WAIT, 0) == QLOCAL_RESULT_OK);
        int32_t ms = 0;
        CHECK(qlocal_loop_timeout(loop, &ms) == QLOCAL_RESULT_OK);
        idle = ms == -1 && WaitForSingleObject(handle, 100) == WAIT_TIMEOUT;
    }
    CHECK(idle);
    ULONGLONG t0 = GetTickCount64();
    CHECK(qlocal_loop_destroy(loop) == QLOCAL_RESULT_OK);
    CHECK(GetTickCount64() - t0 < 2000);

    /* A loop with nothing but a timer: the handle stays quiet, the timeout wakes the driver. */
    qlocal_loop *timer_loop = NULL;
    CHECK(qlocal_loop_new(&timer_loop) == QLOCAL_RESULT_OK);
    CHECK(qlocal_loop_fd(timer_loop, &fd) == QLOCAL_RESULT_OK);
    LARGE_INTEGER freq, armed, fired;
    QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&armed);
    CHECK(qlocal_loop_single_shot(timer_loop, 50, on_timer, &seen, NULL) == QLOCAL_RESULT_OK);
    int timer_turns = 0;
    while (!seen.timer_fired && GetTickCount64() < deadline && failures == 0) {
        CHECK(turn(timer_loop, (HANDLE)fd, deadline) == 0);
        timer_turns++;
    }
    QueryPerformanceCounter(&fired);
    CHECK(seen.timer_fired);
    CHECK((fired.QuadPart - armed.QuadPart) * 1000 >= 50 * freq.QuadPart);
    CHECK(qlocal_loop_destroy(timer_loop) == QLOCAL_RESULT_OK);
    printf("embed_windows: %s (%d turns, %d woken by the handle; timer after %d turns)\n",
           failures ? "FAILED" : "ok", turns, woke, timer_turns);
    return failures ? 1 : 0;
}
