/* Stand-in for the cross-kernel tier's program while
 * tests/live/vdso_calls_survive_a_kernel_change.c does not exist yet
 * (run-xkernel.sh uses that one whenever the build has it).
 *
 * Speaks the tier's protocol: `standin WORKDIR --repeat-checks` writes
 * WORKDIR/ready, then keeps calling the vDSO's clocks; each time
 * WORKDIR/check appears it removes it, checks that the vDSO's clock_gettime
 * and gettimeofday still agree with the raw system calls under the kernel
 * it runs on now, and writes WORKDIR/verdict (PASS or FAIL: ...), and keeps
 * running; it exits 0 after a verdict written while WORKDIR/finish exists.
 * Checks nothing about time going forward: every hop boots another kernel,
 * and CLOCK_MONOTONIC starts again with each boot.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "live.h"

/* What the current check found wrong, "" when nothing. */
static char problems[2048];

static void expect(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void expect(bool ok, const char *fmt, ...) {
    if (ok) return;
    size_t used = strlen(problems);
    if (used + 3 >= sizeof(problems)) return;
    if (used) used += (size_t)snprintf(problems + used, sizeof(problems) - used, "; ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(problems + used, sizeof(problems) - used, fmt, ap);
    va_end(ap);
}

/* WORKDIR/verdict, tmp + rename; forgets the problems. */
static void verdict(void) {
    char path[600], tmp[600], text[2100];
    live_path(path, sizeof(path), "verdict");
    live_path(tmp, sizeof(tmp), "verdict.tmp");
    int n = problems[0] ? snprintf(text, sizeof(text), "FAIL: %.2000s\n", problems) : snprintf(text, sizeof(text), "PASS\n");
    live_log("verdict: %.*s", n - 1, text);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, text, (size_t)n) != n || close(fd) != 0 || rename(tmp, path) != 0)
        live_log("cannot write %s", path);
    problems[0] = '\0';
}

static int64_t ns(struct timespec t) { return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec; }

static void check_clocks(void) {
    static const clockid_t clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME};
    static const char *const names[] = {"REALTIME", "MONOTONIC", "BOOTTIME"};
    const int64_t tolerance = 200 * 1000000LL; /* TCG: the two reads can be far apart */
    for (size_t i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
        struct timespec a, b;
        int ra = clock_gettime(clocks[i], &a);
        long rb = syscall(SYS_clock_gettime, clocks[i], &b);
        expect(ra == 0 && rb == 0, "clock_gettime(CLOCK_%s) failed", names[i]);
        int64_t d = ns(b) - ns(a);
        expect(d >= 0 && d < tolerance, "CLOCK_%s: vDSO %lld ns, system call %lld ns", names[i],
                    (long long)ns(a), (long long)ns(b));
    }
    struct timeval tv;
    struct timespec rt;
    gettimeofday(&tv, NULL);
    syscall(SYS_clock_gettime, CLOCK_REALTIME, &rt);
    int64_t d = ns(rt) - ((int64_t)tv.tv_sec * 1000000000 + (int64_t)tv.tv_usec * 1000);
    expect(d > -1000000 && d < tolerance, "gettimeofday is %lld ns off CLOCK_REALTIME", (long long)d);
}

int main(int argc, char **argv) {
    if (argc != 3 || strcmp(argv[2], "--repeat-checks") != 0) {
        fprintf(stderr, "usage: %s WORKDIR --repeat-checks\n", argv[0]);
        return 2;
    }
    live_init(2, argv);
    char finish[600];
    live_path(finish, sizeof(finish), "finish");
    check_clocks();
    if (problems[0]) live_fail("before the first checkpoint: %s", problems);
    pid_t pid = getpid();
    live_ready();
    for (unsigned long spins = 0;; spins++) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t); /* most likely inside the vDSO at a dump */
        if (spins % 1000 != 0) continue;
        if (access(live_check_path(), F_OK) != 0) {
            struct timespec pause = {0, 10 * 1000000};
            nanosleep(&pause, NULL);
            continue;
        }
        unlink(live_check_path());
        pid_t now = (pid_t)syscall(SYS_getpid);
        expect(now == pid, "getpid() is %d, was %d", (int)now, (int)pid);
        check_clocks();
        bool last = access(finish, F_OK) == 0;
        verdict();
        if (last) _exit(0);
    }
}
