// Beyond Qt: descriptor passing (SCM_RIGHTS) with qlocal_socket_write_with_descriptors,
// qlocal_socket_set_max_descriptors and qlocal_socket_take_descriptor. What is checked:
// descriptors reach another process and work there (a memfd's bytes, a pipe's write end), they
// are close-on-exec, they come in order and no later than the bytes written with them, the
// bytes around them arrive whole and in order, and no descriptor is left open anywhere —
// neither the ones never taken (close, destroy), nor queued ones (abort), nor the ones beyond
// the bound (MSG_CTRUNC), nor the ones sent to a socket that does not receive them.
#include "harness.hpp"

#ifndef _WIN32
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#endif

#ifndef _WIN32
namespace {

const uint8_t *bytes(const char *s) { return reinterpret_cast<const uint8_t *>(s); }
const uint8_t *bytes(const std::string &s) { return reinterpret_cast<const uint8_t *>(s.data()); }

// A memfd holding `text` (close-on-exec), or -1.
int memfd_with(const std::string &text) {
    int fd = memfd_create("qlocal-test", MFD_CLOEXEC);
    if (fd < 0) return -1;
    if (write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
        close(fd);
        return -1;
    }
    return fd;
}

// All of a memfd's bytes (read from offset 0, whatever its file position).
std::string memfd_text(int fd) {
    std::string out;
    char buf[256];
    off_t at = 0;
    for (;;) {
        ssize_t n = pread(fd, buf, sizeof buf, at);
        if (n <= 0) return out;
        out.append(buf, static_cast<size_t>(n));
        at += n;
    }
}

bool cloexec(int fd) { return (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0; }

// Runs `loop` until the child exits (or the deadline): its exit status, -1 on timeout.
int wait_child(qlocal_loop *loop, pid_t pid, int timeout_ms = 10000) {
    int status = 0;
    bool done = qt::run_until(loop, [&] { return waitpid(pid, &status, WNOHANG) == pid; }, timeout_ms);
    if (!done) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The child: connects to `name` with its own loop, expects 1000 'A', one 'F' carrying a memfd
// and a pipe's write end, 1000 'B'; writes the memfd's text reversed into the pipe, closes both
// and answers "ok". The exit status names the step that failed (0: all passed).
[[noreturn]] void child_main(const std::string &name) {
    alarm(10);  // the child's own deadline
    qlocal_loop *loop = nullptr;
    qlocal_socket *s = nullptr;
    if (qlocal_loop_new(&loop) != QLOCAL_RESULT_OK || qlocal_socket_new(loop, &s) != QLOCAL_RESULT_OK) _exit(10);
    if (qlocal_socket_set_max_descriptors(s, 4) != QLOCAL_RESULT_OK) _exit(11);
    if (qlocal_socket_connect_to_server(s, name.c_str()) != QLOCAL_RESULT_OK ||
        qlocal_socket_wait_for_connected(s, 5000) != QLOCAL_RESULT_OK)
        _exit(12);
    const size_t before = qt::open_fds();
    std::string got;
    while (got.size() < 2001) {
        if (qlocal_socket_bytes_available(s) == 0 && qlocal_socket_wait_for_ready_read(s, 5000) != QLOCAL_RESULT_OK)
            _exit(13);
        got += qt::read_all(s);
        // The descriptors are there no later than the byte they were written with.
        if (got.size() > 1000 && qlocal_socket_descriptors_available(s) != 2) _exit(14);
    }
    if (got != std::string(1000, 'A') + "F" + std::string(1000, 'B')) _exit(15);
    qlocal_descriptor memfd = -1, pipe_w = -1, none = 7;
    if (qlocal_socket_take_descriptor(s, &memfd) != QLOCAL_RESULT_OK || memfd < 0) _exit(16);
    if (qlocal_socket_take_descriptor(s, &pipe_w) != QLOCAL_RESULT_OK || pipe_w < 0) _exit(17);
    if (qlocal_socket_take_descriptor(s, &none) != QLOCAL_RESULT_OK || none != -1) _exit(18);
    if (qt::open_fds() != before + 2) _exit(19);
    if (!cloexec(static_cast<int>(memfd)) || !cloexec(static_cast<int>(pipe_w))) _exit(20);
    std::string text = memfd_text(static_cast<int>(memfd));
    std::reverse(text.begin(), text.end());
    if (write(static_cast<int>(pipe_w), text.data(), text.size()) != static_cast<ssize_t>(text.size())) _exit(21);
    close(static_cast<int>(memfd));
    close(static_cast<int>(pipe_w));
    if (qt::open_fds() != before) _exit(22);
    if (qlocal_socket_write(s, bytes("ok"), 2) != QLOCAL_RESULT_OK) _exit(23);
    if (qlocal_socket_wait_for_bytes_written(s, 5000) != QLOCAL_RESULT_OK && qlocal_socket_bytes_to_write(s) != 0)
        _exit(24);
    qlocal_socket_disconnect_from_server(s);
    qlocal_socket_destroy(s);
    qlocal_loop_destroy(loop);
    _exit(0);
}

// Reads `fd` (non-blocking) until its end while running `loop`; false on a deadline.
bool read_to_end(qlocal_loop *loop, int fd, std::string &out) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    bool eof = false;
    return qt::run_until(loop, [&] {
        char buf[256];
        for (;;) {
            ssize_t n = read(fd, buf, sizeof buf);
            if (n > 0) {
                out.append(buf, static_cast<size_t>(n));
                continue;
            }
            if (n == 0) eof = true;
            return eof;
        }
    });
}

// A connected pair whose ends receive up to `max_fds` descriptors per write (set before the
// loop runs after the accept, as documented).
qt::Pair fd_pair(qlocal_loop *loop, const char *tag, size_t max_fds, std::string &err) {
    qt::Pair p = qt::connect_pair(loop, qt::unique_name(tag), err);
    if (err.empty() && (qlocal_socket_set_max_descriptors(p.accepted.get(), max_fds) != QLOCAL_RESULT_OK ||
                        qlocal_socket_set_max_descriptors(p.client.get(), max_fds) != QLOCAL_RESULT_OK))
        err = "set_max_descriptors";
    return p;
}

}  // namespace
#endif

QLOCAL_TEST_POSIX(descriptors_reach_a_child_process_and_work_there, QT_WHY_FD_PASSING)
#ifndef _WIN32
{
    const size_t baseline = qt::open_fds();
    {
        auto loop = qt::make_loop();
        auto server = qt::make_server(loop.get());
        std::string name = qt::unique_name("fdchild");
        CHECK_OK(qlocal_server_listen(server.get(), name.c_str()));
        const std::string payload = "memfd payload 0123456789";
        int memfd = memfd_with(payload);
        int pipefd[2];
        CHECK(memfd >= 0);
        CHECK(pipe2(pipefd, O_CLOEXEC) == 0);
        pid_t child = fork();
        if (child == 0) {
            // Only the descriptors that come through the socket may be open in the child.
            close(pipefd[0]);
            close(pipefd[1]);
            close(memfd);
            child_main(name);
        }
        CHECK(child > 0);
        CHECK_OK(qlocal_server_wait_for_new_connection(server.get(), 5000));
        qlocal_socket *raw = nullptr;
        CHECK_OK(qlocal_server_next_pending_connection(server.get(), &raw));
        qt::SocketPtr accepted(raw);
        std::string a(1000, 'A'), b(1000, 'B');
        CHECK_OK(qlocal_socket_write(accepted.get(), bytes(a), a.size()));
        const qlocal_descriptor fds[2] = {memfd, pipefd[1]};
        CHECK_OK(qlocal_socket_write_with_descriptors(accepted.get(), bytes("F"), 1, fds, 2));
        CHECK_OK(qlocal_socket_write(accepted.get(), bytes(b), b.size()));
        // The socket sent duplicates: ours can go at once.
        close(memfd);
        close(pipefd[1]);
        // The pipe ends only when every write end is closed: ours, the socket's duplicate and
        // the child's.
        std::string reversed;
        CHECK(read_to_end(loop.get(), pipefd[0], reversed));
        close(pipefd[0]);
        std::string expect = payload;
        std::reverse(expect.begin(), expect.end());
        CHECK_STREQ(reversed, expect);
        CHECK(qt::run_until(loop.get(), [&] { return qlocal_socket_bytes_available(accepted.get()) >= 2; }));
        CHECK_STREQ(qt::read_all(accepted.get()), "ok");
        CHECK_EQ(wait_child(loop.get(), child), 0);
    }
    CHECK_EQ(qt::open_fds(), baseline);
}
#endif

QLOCAL_TEST_POSIX(descriptors_come_in_order_no_later_than_their_bytes, QT_WHY_FD_PASSING)
#ifndef _WIN32
{
    // 40 records of 64 KiB of pattern bytes then a marker byte carrying a memfd that holds the
    // record's number: 2.6 MB, more than the kernel takes at once, so most of them wait in the
    // write queue and go out from the flush, which must end each send at the next marker.
    const size_t baseline = qt::open_fds();
    {
        auto loop = qt::make_loop();
        std::string err;
        qt::Pair p = fd_pair(loop.get(), "fdorder", 1, err);
        CHECK_STREQ(err, "");
        CHECK_OK(qlocal_socket_set_read_buffer_size(p.accepted.get(), 16384));
        const int records = 40;
        const size_t record = 65537;
        std::string stream;
        for (int i = 0; i < records; ++i) {
            auto pat = qt::pattern(record - 1, static_cast<uint32_t>(i));
            std::string chunk(pat.begin(), pat.end());
            CHECK_OK(qlocal_socket_write(p.client.get(), bytes(chunk), chunk.size()));
            int m = memfd_with("record " + std::to_string(i));
            CHECK(m >= 0);
            const qlocal_descriptor one[1] = {m};
            std::string marker(1, static_cast<char>('a' + i % 26));
            CHECK_OK(qlocal_socket_write_with_descriptors(p.client.get(), bytes(marker), 1, one, 1));
            close(m);
            stream += chunk + marker;
        }
        CHECK(qlocal_socket_bytes_to_write(p.client.get()) > record);  // they did queue
        std::string got;
        int taken = 0;
        bool early_enough = true;
        CHECK(qt::run_until(loop.get(), [&] {
            got += qt::read_all(p.accepted.get());
            // Records whose marker byte is readable now must have their descriptor here.
            size_t whole = got.size() / record;
            if (static_cast<size_t>(taken) + qlocal_socket_descriptors_available(p.accepted.get()) < whole)
                early_enough = false;
            qlocal_descriptor fd = -1;
            while (qlocal_socket_take_descriptor(p.accepted.get(), &fd) == QLOCAL_RESULT_OK && fd >= 0) {
                if (memfd_text(static_cast<int>(fd)) != "record " + std::to_string(taken)) early_enough = false;
                close(static_cast<int>(fd));
                ++taken;
            }
            return got.size() == stream.size() && taken == records;
        }));
        CHECK(early_enough);
        CHECK(got == stream);
        CHECK_EQ(taken, records);
    }
    CHECK_EQ(qt::open_fds(), baseline);
}
#endif

QLOCAL_TEST_POSIX(descriptors_never_taken_are_closed, QT_WHY_FD_PASSING)
#ifndef _WIN32
{
    const size_t baseline = qt::open_fds();
    auto loop = qt::make_loop();
    std::string err;
    qt::Pair p = fd_pair(loop.get(), "fdclose", 8, err);
    CHECK_STREQ(err, "");
    const size_t with_pair = qt::open_fds();
    int pipefd[2];
    CHECK(pipe2(pipefd, O_CLOEXEC) == 0);
    const qlocal_descriptor fds[2] = {pipefd[0], pipefd[1]};
    for (int i = 0; i < 3; ++i)
        CHECK_OK(qlocal_socket_write_with_descriptors(p.client.get(), bytes("x"), 1, fds, 2));
    close(pipefd[0]);
    close(pipefd[1]);
    CHECK(qt::run_until(loop.get(), [&] { return qlocal_socket_bytes_available(p.accepted.get()) == 3; }));
    CHECK_EQ(qlocal_socket_descriptors_available(p.accepted.get()), static_cast<size_t>(6));
    CHECK_EQ(qt::open_fds(), with_pair + 6);
    // The peer's close keeps them takeable, as the bytes stay readable.
    qlocal_socket_disconnect_from_server(p.client.get());
    CHECK(qt::run_until(loop.get(), [&] {
        return qlocal_socket_state(p.accepted.get()) == QLOCAL_LOCAL_SOCKET_STATE_UNCONNECTED;
    }));
    CHECK_EQ(qlocal_socket_descriptors_available(p.accepted.get()), static_cast<size_t>(6));
    qlocal_descriptor fd = -1;
    CHECK_OK(qlocal_socket_take_descriptor(p.accepted.get(), &fd));
    CHECK(fd >= 0);
    close(static_cast<int>(fd));
    // close() drops the input: the five left are closed.
    qlocal_socket_close(p.accepted.get());
    CHECK_EQ(qlocal_socket_descriptors_available(p.accepted.get()), static_cast<size_t>(0));
    p = {};
    loop.reset();
    CHECK_EQ(qt::open_fds(), baseline);

    // Destroy with descriptors held: closed too.
    loop = qt::make_loop();
    p = fd_pair(loop.get(), "fddestroy", 8, err);
    CHECK_STREQ(err, "");
    int m = memfd_with("held");
    const qlocal_descriptor one[1] = {m};
    CHECK_OK(qlocal_socket_write_with_descriptors(p.client.get(), bytes("y"), 1, one, 1));
    close(m);
    CHECK(qt::run_until(loop.get(), [&] { return qlocal_socket_descriptors_available(p.accepted.get()) == 1; }));
    p = {};
    loop.reset();
    CHECK_EQ(qt::open_fds(), baseline);
}
#endif

QLOCAL_TEST_POSIX(descriptors_queued_behind_a_full_queue_are_closed_on_abort, QT_WHY_FD_PASSING)
#ifndef _WIN32
{
    const size_t baseline = qt::open_fds();
    auto loop = qt::make_loop();
    std::string err;
    qt::Pair p = fd_pair(loop.get(), "fdabort", 8, err);
    CHECK_STREQ(err, "");
    const size_t with_pair = qt::open_fds();
    // Fill the kernel's buffers: the peer does not read, so these bytes queue.
    std::vector<uint8_t> big(8 << 20, 'z');
    CHECK_OK(qlocal_socket_write(p.client.get(), big.data(), big.size()));
    CHECK(qlocal_socket_bytes_to_write(p.client.get()) > 0);
    int m = memfd_with("queued");
    const qlocal_descriptor fds[3] = {m, m, m};
    CHECK_OK(qlocal_socket_write_with_descriptors(p.client.get(), bytes("q"), 1, fds, 3));
    close(m);
    // The socket's three duplicates wait with the queue.
    CHECK_EQ(qt::open_fds(), with_pair + 3);
    qlocal_socket_abort(p.client.get());
    CHECK_EQ(qt::open_fds(), with_pair - 1);  // the client's own descriptor went too
    p = {};
    loop.reset();
    CHECK_EQ(qt::open_fds(), baseline);
}
#endif

QLOCAL_TEST_POSIX(descriptors_beyond_the_bound_end_the_connection_after_the_bytes_before, QT_WHY_FD_PASSING)
#ifndef _WIN32
{
    const size_t baseline = qt::open_fds();
    {
        auto loop = qt::make_loop();
        std::string err;
        qt::Pair p = fd_pair(loop.get(), "fdbound", 2, err);
        CHECK_STREQ(err, "");
        qt::Recorder rec;
        rec.attach_moments(p.accepted.get());
        CHECK_OK(qlocal_socket_write(p.client.get(), bytes("before"), 6));
        CHECK(qt::run_until(loop.get(), [&] { return qlocal_socket_bytes_available(p.accepted.get()) == 6; }));
        int m = memfd_with("three");
        const qlocal_descriptor fds[3] = {m, m, m};
        CHECK_OK(qlocal_socket_write_with_descriptors(p.client.get(), bytes("T"), 1, fds, 3));
        close(m);
        CHECK(qt::run_until(loop.get(), [&] { return rec.count("disconnected") == 1; }));
        // Nothing of that write's descriptors is kept, and the error says why.
        CHECK_EQ(qlocal_socket_descriptors_available(p.accepted.get()), static_cast<size_t>(0));
        CHECK_EQ(static_cast<int>(qlocal_socket_error(p.accepted.get())),
                 static_cast<int>(QLOCAL_LOCAL_SOCKET_ERROR_SOCKET_RESOURCE));
        const std::string text = qlocal_socket_error_string(p.accepted.get());
        CHECK(text.find("descriptors") != std::string::npos);
        // Qt's close order, with the error seen while still connected.
        CHECK(rec.joined().find("error:4{s=3,e=4") != std::string::npos);
        // The bytes before it stay readable (the marker byte too: it came with them).
        CHECK_STREQ(qt::read_all(p.accepted.get()), "beforeT");
    }
    CHECK_EQ(qt::open_fds(), baseline);
}
#endif

QLOCAL_TEST_POSIX(descriptors_to_a_socket_that_does_not_receive_them_are_closed, QT_WHY_FD_PASSING)
#ifndef _WIN32
{
    const size_t baseline = qt::open_fds();
    {
        auto loop = qt::make_loop();
        std::string err;
        qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("fdoff"), err);
        CHECK_STREQ(err, "");
        CHECK_EQ(qlocal_socket_max_descriptors(p.accepted.get()), static_cast<size_t>(0));  // the default
        const size_t with_pair = qt::open_fds();
        int m = memfd_with("unwanted");
        const qlocal_descriptor one[1] = {m};
        CHECK_OK(qlocal_socket_write_with_descriptors(p.client.get(), bytes("u"), 1, one, 1));
        CHECK_OK(qlocal_socket_write(p.client.get(), bytes("v"), 1));
        close(m);
        CHECK(qt::run_until(loop.get(), [&] { return qlocal_socket_bytes_available(p.accepted.get()) == 2; }));
        CHECK_STREQ(qt::read_all(p.accepted.get()), "uv");
        CHECK_EQ(qlocal_socket_descriptors_available(p.accepted.get()), static_cast<size_t>(0));
        CHECK_EQ(qt::open_fds(), with_pair);
    }
    CHECK_EQ(qt::open_fds(), baseline);
}
#endif

QLOCAL_TEST_POSIX(descriptors_refusals, QT_WHY_FD_PASSING)
#ifndef _WIN32
{
    auto loop = qt::make_loop();
    std::string err;
    qt::Pair p = fd_pair(loop.get(), "fdrefuse", 4, err);
    CHECK_STREQ(err, "");
    const size_t before = qt::open_fds();
    int m = memfd_with("r");
    const qlocal_descriptor one[1] = {m};
    qlocal_socket *c = p.client.get();
    CHECK_RC(qlocal_socket_write_with_descriptors(c, bytes("x"), 0, one, 1), QLOCAL_RESULT_INVALID_ARGUMENT);
    CHECK_RC(qlocal_socket_write_with_descriptors(c, bytes("x"), 1, one, 0), QLOCAL_RESULT_INVALID_ARGUMENT);
    CHECK_RC(qlocal_socket_write_with_descriptors(c, bytes("x"), 1, nullptr, 1), QLOCAL_RESULT_NULL_ARGUMENT);
    std::vector<qlocal_descriptor> many(QLOCAL_MAX_DESCRIPTORS_PER_WRITE + 1, m);
    CHECK_RC(qlocal_socket_write_with_descriptors(c, bytes("x"), 1, many.data(), many.size()),
             QLOCAL_RESULT_INVALID_ARGUMENT);
    const qlocal_descriptor closed_one[2] = {m, 1000000};
    CHECK_RC(qlocal_socket_write_with_descriptors(c, bytes("x"), 1, closed_one, 2), QLOCAL_RESULT_INVALID_ARGUMENT);
    const qlocal_descriptor huge[1] = {static_cast<qlocal_descriptor>(INTPTR_MAX)};
    CHECK_RC(qlocal_socket_write_with_descriptors(c, bytes("x"), 1, huge, 1), QLOCAL_RESULT_INVALID_ARGUMENT);
    CHECK_RC(qlocal_socket_write_with_descriptors(nullptr, bytes("x"), 1, one, 1), QLOCAL_RESULT_NULL_ARGUMENT);
    auto lone = qt::make_socket(loop.get());
    CHECK_RC(qlocal_socket_write_with_descriptors(lone.get(), bytes("x"), 1, one, 1), QLOCAL_RESULT_WRONG_STATE);
    CHECK_EQ(qlocal_socket_bytes_to_write(c), static_cast<size_t>(0));  // nothing was queued
    CHECK_EQ(qt::open_fds(), before + 1);                               // and no duplicate kept
    CHECK_RC(qlocal_socket_set_max_descriptors(c, QLOCAL_MAX_DESCRIPTORS_PER_WRITE + 1),
             QLOCAL_RESULT_INVALID_ARGUMENT);
    CHECK_EQ(qlocal_socket_max_descriptors(c), static_cast<size_t>(4));
    CHECK_OK(qlocal_socket_set_max_descriptors(c, QLOCAL_MAX_DESCRIPTORS_PER_WRITE));
    CHECK_RC(qlocal_socket_take_descriptor(c, nullptr), QLOCAL_RESULT_NULL_ARGUMENT);
    qlocal_descriptor fd = 5;
    CHECK_OK(qlocal_socket_take_descriptor(c, &fd));
    CHECK_EQ(fd, static_cast<qlocal_descriptor>(-1));
    // The most per write goes through whole.
    std::vector<qlocal_descriptor> max(QLOCAL_MAX_DESCRIPTORS_PER_WRITE, m);
    CHECK_OK(qlocal_socket_set_max_descriptors(p.accepted.get(), QLOCAL_MAX_DESCRIPTORS_PER_WRITE));
    CHECK_OK(qlocal_socket_write_with_descriptors(c, bytes("M"), 1, max.data(), max.size()));
    CHECK(qt::run_until(loop.get(), [&] { return qlocal_socket_bytes_available(p.accepted.get()) == 1; }));
    CHECK_EQ(qlocal_socket_descriptors_available(p.accepted.get()), max.size());
    CHECK_EQ(qt::open_fds(), before + 1 + max.size());
    close(m);
    // close() drops them (and the connection: its descriptor goes too).
    qlocal_socket_close(p.accepted.get());
    CHECK_EQ(qt::open_fds(), before - 1);
}
#endif

QLOCAL_TEST_POSIX(descriptors_when_the_process_has_no_descriptor_free, QT_WHY_FD_PASSING)
#ifndef _WIN32
{
    const size_t baseline = qt::open_fds();
    auto loop = qt::make_loop();
    std::string err;
    qt::Pair p = fd_pair(loop.get(), "fdexhaust", 4, err);
    CHECK_STREQ(err, "");
    qt::Recorder rec;
    rec.attach_moments(p.accepted.get());
    int m = memfd_with("no room");
    const qlocal_descriptor one[1] = {m};
    // Sent at once (the kernel holds it in flight); then the table is filled.
    CHECK_OK(qlocal_socket_write_with_descriptors(p.client.get(), bytes("E"), 1, one, 1));
    rlimit old{};
    CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0);
    rlimit low = old;
    low.rlim_cur = 256;
    CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
    std::vector<int> fillers;
    for (int fd; (fd = dup(0)) >= 0;) fillers.push_back(fd);
    const bool emfile = errno == EMFILE;
    // The sender cannot duplicate: refused whole, nothing queued.
    qlocal_result sent = qlocal_socket_write_with_descriptors(p.client.get(), bytes("F"), 1, one, 1);
    // The receiver cannot take it: the connection ends with the reason.
    bool closed = qt::run_until(loop.get(), [&] { return rec.count("disconnected") == 1; });
    for (int fd : fillers) close(fd);
    setrlimit(RLIMIT_NOFILE, &old);
    close(m);
    CHECK(emfile);
    CHECK_RC(sent, QLOCAL_RESULT_RESOURCE_EXHAUSTED);
    CHECK(closed);
    CHECK_EQ(static_cast<int>(qlocal_socket_error(p.accepted.get())),
             static_cast<int>(QLOCAL_LOCAL_SOCKET_ERROR_SOCKET_RESOURCE));
    CHECK_EQ(qlocal_socket_descriptors_available(p.accepted.get()), static_cast<size_t>(0));
    CHECK_STREQ(qt::read_all(p.accepted.get()), "E");
    p = {};
    loop.reset();
    CHECK_EQ(qt::open_fds(), baseline);
}
#endif

QLOCAL_TEST(descriptor_passing_is_refused_only_where_unsupported) {
    auto loop = qt::make_loop();
    std::string err;
    qt::Pair p = qt::connect_pair(loop.get(), qt::unique_name("fdplat"), err);
    CHECK_STREQ(err, "");
    qlocal_descriptor none = 5;
    CHECK_OK(qlocal_socket_set_max_descriptors(p.accepted.get(), 0));
    CHECK_OK(qlocal_socket_take_descriptor(p.accepted.get(), &none));
    CHECK_EQ(none, static_cast<qlocal_descriptor>(-1));
    CHECK_EQ(qlocal_socket_descriptors_available(p.accepted.get()), static_cast<size_t>(0));
#ifdef _WIN32
    // A pipe carries no handles (README, Windows): refused, nothing queued.
    const qlocal_descriptor own[1] = {qlocal_socket_socket_descriptor(p.client.get())};
    CHECK_RC(qlocal_socket_set_max_descriptors(p.accepted.get(), 1), QLOCAL_RESULT_UNSUPPORTED);
    CHECK_RC(qlocal_socket_write_with_descriptors(p.client.get(), reinterpret_cast<const uint8_t *>("x"), 1, own, 1),
             QLOCAL_RESULT_UNSUPPORTED);
    CHECK_EQ(qlocal_socket_bytes_to_write(p.client.get()), static_cast<size_t>(0));
    CHECK_EQ(qlocal_socket_max_descriptors(p.accepted.get()), static_cast<size_t>(0));
#else
    CHECK_OK(qlocal_socket_set_max_descriptors(p.accepted.get(), 1));
    CHECK_EQ(qlocal_socket_max_descriptors(p.accepted.get()), static_cast<size_t>(1));
#endif
}
