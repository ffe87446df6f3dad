/* The floor: the same benchmark flows as cpp_tests/flow.cpp (qlocal) and bench/qt_flow.cpp (Qt),
 * written as a plain C11 program on non-blocking AF_UNIX sockets and epoll, so scripts/flows.sh
 * can say how far qlocal is from what this machine does with no library at all.
 *
 * The same flow: an echo server on its own thread with its own epoll loop (accept until
 * would-block; on readability read at most one chunk and write the same bytes back, queueing
 * what the socket does not take and waiting for writability); the clients on the main thread's
 * epoll loop, one chunk in flight per client, every echoed byte compared with what was sent
 * (the byte pattern of cpp_tests/flow_stream.hpp). Connection set-up is outside the timed part,
 * as in qlocal's and Qt's flows. Every wait is a blocking epoll_wait with a deadline: no busy
 * polling.
 *
 *   epoll_flow --row "pingPong 100"     one row; prints "ok SETUP_MS RUN_MS" or "error TEXT"
 *   epoll_flow --rtt N                  N timed 100-byte round trips over one connection
 *                                       (after 1000 untimed); prints "ok P50_US P99_US"
 *   epoll_flow --corrupt --row LABEL    the server flips a bit of the 1000th byte it echoes
 *                                       (must fail with "wrong bytes": tests the check itself)
 *   epoll_flow flow-clients PATH LABEL  clients only (the second process of pingPong 10000)
 *
 * Build: cc -O2 -std=c11 -pthread bench/epoll_flow.c -o epoll_flow
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

enum { PERIOD = 65521, MAX_CHUNK = 100000, SCRATCH = 65536, TIMEOUT_MS = 10 * 60 * 1000 };

/* ---- the byte pattern: client i's byte at offset k is table[(k + i * 7) % PERIOD] ----------- */

static uint8_t table[PERIOD + MAX_CHUNK + SCRATCH];

static void make_table(void) {
    uint32_t x = 2463534242u;
    for (size_t k = 0; k < PERIOD; ++k) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        table[k] = (uint8_t)x;
    }
    for (size_t k = PERIOD; k < sizeof table; ++k) table[k] = table[k - PERIOD];
}

static const uint8_t *stream_at(int client, long long offset) {
    return table + (size_t)((offset + client * 7LL) % PERIOD);
}

/* ---- small helpers ---------------------------------------------------------------------------- */

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int ms_left(double deadline) {
    double left = deadline - now_ms();
    return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left + 1;
}

/* The first error of a run wins; both threads may report (under the lock). */
static char g_error[256];
static pthread_mutex_t g_error_lock = PTHREAD_MUTEX_INITIALIZER;

static int fail(const char *fmt, ...) {
    pthread_mutex_lock(&g_error_lock);
    if (!g_error[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(g_error, sizeof g_error, fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&g_error_lock);
    return -1;
}

static int has_failed(void) {
    pthread_mutex_lock(&g_error_lock);
    int f = g_error[0] != 0;
    pthread_mutex_unlock(&g_error_lock);
    return f;
}

static void raise_fd_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int set_nonblocking(int fd) {
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int epoll_set(int ep, int op, int fd, uint32_t events, uint64_t tag) {
    struct epoll_event ev = {.events = events, .data = {.u64 = tag}};
    if (epoll_ctl(ep, op, fd, &ev) != 0) return fail("epoll_ctl: %s", strerror(errno));
    return 0;
}

/* Writes what the socket takes of buf[*off, len); 0 when all went or would-block, -1 on error. */
static int write_some(int fd, const uint8_t *buf, size_t len, size_t *off) {
    while (*off < len) {
        ssize_t n = send(fd, buf + *off, len - *off, MSG_NOSIGNAL);
        if (n > 0) {
            *off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN) {
            return 0;
        } else {
            return fail("write: %s", n < 0 ? strerror(errno) : "wrote nothing");
        }
    }
    return 0;
}

/* ---- rows ------------------------------------------------------------------------------------- */

struct row {
    int connections;
    int chunk;
    long long bytes; /* each client sends and must get back */
    int child_clients;
};

/* The labels and parameters of bench/qt_flow.cpp's parse_row and cpp_tests/flow.cpp's grid. */
static int parse_row(const char *label, struct row *r) {
    int c = 0, k = 0;
    memset(r, 0, sizeof *r);
    if (sscanf(label, "pingPong %d", &c) == 1 && c > 0) {
        r->connections = c;
        r->chunk = 1;
        r->bytes = 100000LL / c > 1 ? 100000LL / c : 1;
        r->child_clients = c >= 10000;
        return 0;
    }
    if (sscanf(label, "dataExchange %d x %d", &c, &k) == 2 && c > 0 && k > 0 && k <= MAX_CHUNK) {
        r->connections = c;
        r->chunk = k;
        r->bytes = 50000LL * k / c;
        return 0;
    }
    return -1;
}

/* ---- echo server: its own thread, its own epoll loop ------------------------------------------ */

struct echo_conn {
    int fd;
    size_t len, off; /* buf[off, len) is read but not yet written back */
    uint8_t *buf;    /* chunk bytes */
};

struct server {
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int listen_fd, stop_fd, ep;
    int chunk;
    int corrupt;            /* --corrupt: flip a bit of the 1000th echoed byte */
    long long echoed;
    struct echo_conn **conns; /* by slot; the epoll tag of a connection is its slot + 2 */
    size_t nconns, cap;
    pthread_t thread;
};

enum { TAG_LISTEN = 0, TAG_STOP = 1 };

static void close_conn(struct server *s, size_t slot) {
    struct echo_conn *c = s->conns[slot];
    if (!c) return;
    close(c->fd);
    free(c->buf);
    free(c);
    s->conns[slot] = NULL;
}

static int accept_all(struct server *s) {
    for (;;) {
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EAGAIN) return 0;
            return fail("accept: %s", strerror(errno));
        }
        if (s->nconns == s->cap) {
            size_t cap = s->cap ? 2 * s->cap : 64;
            struct echo_conn **grown = realloc(s->conns, cap * sizeof *grown);
            if (!grown) return close(fd), fail("out of memory");
            s->conns = grown;
            s->cap = cap;
        }
        struct echo_conn *c = calloc(1, sizeof *c);
        uint8_t *buf = malloc((size_t)s->chunk);
        if (!c || !buf) return free(c), free(buf), close(fd), fail("out of memory");
        c->fd = fd;
        c->buf = buf;
        size_t slot = s->nconns++;
        s->conns[slot] = c;
        if (epoll_set(s->ep, EPOLL_CTL_ADD, fd, EPOLLIN, slot + 2) != 0) return -1;
    }
}

/* Readable: read at most one chunk, write it back; what the socket does not take waits for
 * writability (and nothing more is read from this connection until it has gone). */
static int echo(struct server *s, size_t slot, uint32_t events) {
    struct echo_conn *c = s->conns[slot];
    if (!c) return 0;
    if (c->off < c->len) { /* writable again */
        if (write_some(c->fd, c->buf, c->len, &c->off) != 0) return -1;
        if (c->off < c->len) return 0;
        return epoll_set(s->ep, EPOLL_CTL_MOD, c->fd, EPOLLIN, slot + 2);
    }
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return 0;
    ssize_t n = read(c->fd, c->buf, (size_t)s->chunk);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
    if (n < 0) return fail("server read: %s", strerror(errno));
    if (n == 0) { /* the client closed */
        close_conn(s, slot);
        return 0;
    }
    if (s->corrupt && s->echoed < 1000 && s->echoed + n >= 1000) c->buf[999 - s->echoed] ^= 1;
    s->echoed += n;
    c->len = (size_t)n;
    c->off = 0;
    if (write_some(c->fd, c->buf, c->len, &c->off) != 0) return -1;
    if (c->off < c->len) return epoll_set(s->ep, EPOLL_CTL_MOD, c->fd, EPOLLOUT, slot + 2);
    return 0;
}

static void *server_main(void *arg) {
    struct server *s = arg;
    struct epoll_event events[256];
    for (;;) {
        int n = epoll_wait(s->ep, events, 256, -1); /* until stop_fd */
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            fail("server epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; ++i) {
            uint64_t tag = events[i].data.u64;
            if (tag == TAG_STOP) goto out;
            int rc = tag == TAG_LISTEN ? accept_all(s) : echo(s, (size_t)(tag - 2), events[i].events);
            if (rc != 0) goto out;
        }
    }
out:
    for (size_t k = 0; k < s->nconns; ++k) close_conn(s, k);
    free(s->conns);
    return NULL;
}

static int server_start(struct server *s, int chunk, int corrupt) {
    memset(s, 0, sizeof *s);
    s->listen_fd = s->stop_fd = s->ep = -1;
    s->chunk = chunk;
    s->corrupt = corrupt;
    const char *tmp = getenv("TMPDIR");
    snprintf(s->path, sizeof s->path, "%s/qlocal-floor-%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
    unlink(s->path);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    memcpy(addr.sun_path, s->path, sizeof addr.sun_path);
    s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    s->stop_fd = eventfd(0, EFD_CLOEXEC);
    s->ep = epoll_create1(EPOLL_CLOEXEC);
    if (s->listen_fd < 0 || s->stop_fd < 0 || s->ep < 0) return fail("server: %s", strerror(errno));
    if (bind(s->listen_fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(s->listen_fd, SOMAXCONN) != 0)
        return fail("listen %s: %s", s->path, strerror(errno));
    if (epoll_set(s->ep, EPOLL_CTL_ADD, s->listen_fd, EPOLLIN, TAG_LISTEN) != 0 ||
        epoll_set(s->ep, EPOLL_CTL_ADD, s->stop_fd, EPOLLIN, TAG_STOP) != 0)
        return -1;
    int err = pthread_create(&s->thread, NULL, server_main, s);
    if (err != 0) return fail("pthread_create: %s", strerror(err));
    return 0;
}

static void server_stop(struct server *s) {
    uint64_t one = 1;
    if (write(s->stop_fd, &one, sizeof one) == (ssize_t)sizeof one) pthread_join(s->thread, NULL);
    close(s->listen_fd);
    close(s->stop_fd);
    close(s->ep);
    unlink(s->path);
}

/* ---- clients: the calling thread's epoll loop ------------------------------------------------- */

struct client {
    int fd;
    long long to_read, sent, received;
    size_t out_off, out_len; /* the chunk being sent: stream_at(id, sent - out_len) + [off, len) */
};

struct clients {
    struct client *list;
    int count, chunk, done, ep;
    uint8_t scratch[MAX_CHUNK > SCRATCH ? MAX_CHUNK : SCRATCH];
};

static int flush_chunk(struct clients *all, int i) {
    struct client *c = &all->list[i];
    const uint8_t *chunk = stream_at(i, c->sent - (long long)c->out_len);
    int was_waiting = c->out_off > 0;
    if (write_some(c->fd, chunk, c->out_len, &c->out_off) != 0) return -1;
    int waiting = c->out_off < c->out_len;
    if (waiting != was_waiting)
        return epoll_set(all->ep, EPOLL_CTL_MOD, c->fd, waiting ? EPOLLIN | EPOLLOUT : EPOLLIN,
                         (uint64_t)i);
    return 0;
}

static int send_chunk(struct clients *all, int i) {
    struct client *c = &all->list[i];
    c->sent += all->chunk;
    c->out_len = (size_t)all->chunk;
    c->out_off = 0;
    return flush_chunk(all, i);
}

/* Reads everything available, checks it byte for byte, and keeps one chunk in flight. */
static int on_readable(struct clients *all, int i) {
    struct client *c = &all->list[i];
    for (;;) {
        ssize_t n = read(c->fd, all->scratch, sizeof all->scratch);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) break;
        if (n < 0) return fail("client read: %s", strerror(errno));
        if (n == 0) return fail("client %d: the server closed the connection", i);
        if (n > c->to_read || c->received + n > c->sent)
            return fail("client %d got more bytes than it sent", i);
        if (memcmp(all->scratch, stream_at(i, c->received), (size_t)n) != 0)
            return fail("client %d got wrong bytes at offset %lld", i, c->received);
        c->received += n;
        c->to_read -= n;
    }
    if (c->to_read == 0 && c->received == c->sent) {
        all->done++;
        c->to_read = -1; /* counted */
    } else if (c->to_read > 0 && c->received == c->sent) {
        return send_chunk(all, i);
    }
    return 0;
}

/* One blocking epoll_wait and its events; -1 on error or when the deadline passed. */
static int dispatch(struct clients *all, double deadline) {
    struct epoll_event events[256];
    int n = epoll_wait(all->ep, events, 256, ms_left(deadline));
    if (n < 0 && errno == EINTR) return 0;
    if (n < 0) return fail("client epoll_wait: %s", strerror(errno));
    if (n == 0 && now_ms() >= deadline) return fail("timed out (%d of %d clients done)", all->done, all->count);
    for (int k = 0; k < n; ++k) {
        int i = (int)events[k].data.u64;
        struct client *c = &all->list[i];
        if ((events[k].events & EPOLLOUT) && c->out_off < c->out_len && flush_chunk(all, i) != 0) return -1;
        if ((events[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && on_readable(all, i) != 0) return -1;
        if (has_failed()) return -1;
    }
    return 0;
}

static void clients_close(struct clients *all) {
    for (int i = 0; i < all->count; ++i)
        if (all->list[i].fd >= 0) close(all->list[i].fd);
    free(all->list);
    if (all->ep >= 0) close(all->ep);
    free(all);
}

/* Connects `row.connections` clients to `path` (blocking connect: a full backlog waits in the
 * kernel for the server to accept, bounded by SO_SNDTIMEO, no retry loop), then makes them
 * non-blocking. */
static struct clients *clients_connect(const struct row *row, const char *path) {
    struct clients *all = calloc(1, sizeof *all);
    if (!all) return fail("out of memory"), NULL;
    all->chunk = row->chunk;
    all->ep = epoll_create1(EPOLL_CLOEXEC);
    all->list = calloc((size_t)row->connections, sizeof *all->list);
    if (all->ep < 0 || !all->list) return fail("client setup: %s", strerror(errno)), clients_close(all), NULL;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
    long long per_client = (row->bytes / row->chunk > 1 ? row->bytes / row->chunk : 1) * row->chunk;
    for (int i = 0; i < row->connections; ++i) {
        struct client *c = &all->list[i];
        c->to_read = per_client;
        c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        all->count = i + 1;
        struct timeval bound = {.tv_sec = 30};
        if (c->fd < 0 || setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &bound, sizeof bound) != 0)
            return fail("client %d socket: %s", i, strerror(errno)), clients_close(all), NULL;
        int rc;
        while ((rc = connect(c->fd, (struct sockaddr *)&addr, sizeof addr)) != 0 && errno == EINTR) {
        }
        if (rc != 0 || set_nonblocking(c->fd) != 0 ||
            epoll_set(all->ep, EPOLL_CTL_ADD, c->fd, EPOLLIN, (uint64_t)i) != 0)
            return fail("client %d connect: %s", i, strerror(errno)), clients_close(all), NULL;
    }
    return all;
}

struct result {
    double setup_ms, run_ms;
};

static int run_clients(const struct row *row, const char *path, struct result *res) {
    double t0 = now_ms(), deadline = t0 + TIMEOUT_MS;
    struct clients *all = clients_connect(row, path);
    if (!all) return -1;
    double t1 = now_ms();
    res->setup_ms = t1 - t0;
    int rc = 0;
    for (int i = 0; i < all->count && rc == 0; ++i) rc = send_chunk(all, i);
    while (rc == 0 && all->done < all->count) rc = dispatch(all, deadline);
    res->run_ms = now_ms() - t1;
    clients_close(all);
    return rc;
}

/* Runs this program's "flow-clients" in a second process and reads its "ok SETUP RUN" line. */
static int run_clients_in_child(const char *path, const char *label, struct result *res) {
    int fds[2];
    if (pipe(fds) != 0) return fail("pipe: %s", strerror(errno));
    char *argv[] = {"epoll_flow", "flow-clients", (char *)path, (char *)label, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    pid_t pid;
    int err = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (err != 0) return close(fds[0]), fail("posix_spawn: %s", strerror(err));
    char out[512] = {0};
    size_t len = 0;
    ssize_t n;
    while (len + 1 < sizeof out && ((n = read(fds[0], out + len, sizeof out - 1 - len)) > 0 ||
                                     (n < 0 && errno == EINTR)))
        if (n > 0) len += (size_t)n;
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    char word[8] = {0};
    if (sscanf(out, "%7s %lf %lf", word, &res->setup_ms, &res->run_ms) == 3 && strcmp(word, "ok") == 0 &&
        WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    out[strcspn(out, "\n")] = 0;
    return fail("client process: %s", out[0] ? out : "no output");
}

static int run_row(const struct row *row, const char *label, int corrupt, struct result *res) {
    struct server s;
    if (server_start(&s, row->chunk, corrupt) != 0) return -1;
    int rc = row->child_clients ? run_clients_in_child(s.path, label, res) : run_clients(row, s.path, res);
    server_stop(&s);
    return rc != 0 || has_failed() ? -1 : 0;
}

/* ---- round-trip latency: one connection, 100 bytes, blocking waits on both sides -------------- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int run_rtt(int rounds, double *p50, double *p99) {
    enum { WARMUP = 1000, SIZE = 100 };
    struct row row = {.connections = 1, .chunk = SIZE, .bytes = (long long)(WARMUP + rounds) * SIZE};
    double *us = malloc((size_t)rounds * sizeof *us);
    struct server s;
    if (!us) return fail("out of memory");
    if (server_start(&s, SIZE, 0) != 0) return free(us), -1;
    struct clients *all = clients_connect(&row, s.path);
    int rc = all ? 0 : -1;
    double deadline = now_ms() + TIMEOUT_MS;
    for (int k = 0; rc == 0 && k < WARMUP + rounds; ++k) {
        double t0 = now_ms();
        rc = send_chunk(all, 0);
        struct client *c = &all->list[0];
        /* on_readable sends the next chunk itself once the echo is complete; stop it here by
         * giving the client exactly the bytes of this round to read. */
        c->to_read = SIZE;
        while (rc == 0 && c->received < c->sent) rc = dispatch(all, deadline);
        if (k >= WARMUP) us[k - WARMUP] = (now_ms() - t0) * 1e3;
    }
    if (all) clients_close(all);
    server_stop(&s);
    if (rc == 0 && !has_failed()) {
        qsort(us, (size_t)rounds, sizeof *us, cmp_double);
        *p50 = us[rounds / 2];
        *p99 = us[(size_t)((rounds - 1) * 0.99)];
    }
    free(us);
    return rc != 0 || has_failed() ? -1 : 0;
}

/* ---- main ------------------------------------------------------------------------------------- */

static int report(int rc, double a, double b, const char *fmt) {
    if (rc != 0) {
        printf("error %s\n", g_error[0] ? g_error : "failed");
        return 1;
    }
    printf(fmt, a, b);
    return 0;
}

int main(int argc, char **argv) {
    make_table();
    raise_fd_limit();
    struct row row;
    struct result res = {0, 0};
    int corrupt = argc > 1 && strcmp(argv[1], "--corrupt") == 0;
    if (argc == 3 + corrupt && strcmp(argv[1 + corrupt], "--row") == 0) {
        const char *label = argv[2 + corrupt];
        if (parse_row(label, &row) != 0) return printf("error unknown row %s\n", label), 2;
        int rc = run_row(&row, label, corrupt, &res);
        return report(rc, res.setup_ms, res.run_ms, "ok %.3f %.3f\n");
    }
    if (argc == 4 && strcmp(argv[1], "flow-clients") == 0) {
        if (parse_row(argv[3], &row) != 0) return printf("error unknown row %s\n", argv[3]), 2;
        int rc = run_clients(&row, argv[2], &res);
        return report(rc, res.setup_ms, res.run_ms, "ok %.3f %.3f\n");
    }
    if (argc == 3 && strcmp(argv[1], "--rtt") == 0 && atoi(argv[2]) > 0) {
        double p50 = 0, p99 = 0;
        int rc = run_rtt(atoi(argv[2]), &p50, &p99);
        return report(rc, p50, p99, "ok %.2f %.2f\n");
    }
    fprintf(stderr, "usage: epoll_flow [--corrupt] --row LABEL | --rtt N | flow-clients PATH LABEL\n");
    return 2;
}
