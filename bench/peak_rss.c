/* Runs a command and writes its peak resident set size (KB, the largest of the command and the
 * children it waited for: getrusage(RUSAGE_CHILDREN).ru_maxrss) to a file; the command's output
 * and exit status pass through. scripts/flows.sh measures every benchmark run with it, so
 * qlocal, the epoll floor and Qt are measured the same way (no /usr/bin/time needed).
 *
 *   peak_rss OUT_FILE COMMAND [ARG...]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

extern char **environ;

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: peak_rss OUT_FILE COMMAND [ARG...]\n");
        return 2;
    }
    pid_t pid;
    int err = posix_spawnp(&pid, argv[2], NULL, NULL, argv + 2, environ);
    if (err != 0) {
        fprintf(stderr, "peak_rss: %s: %s\n", argv[2], strerror(err));
        return 127;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    struct rusage ru;
    FILE *out = fopen(argv[1], "w");
    if (out && getrusage(RUSAGE_CHILDREN, &ru) == 0) fprintf(out, "%ld\n", ru.ru_maxrss);
    if (out) fclose(out);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}
