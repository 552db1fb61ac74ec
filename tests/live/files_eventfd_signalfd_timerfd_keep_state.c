/* Proves: eventfd, signalfd and timerfd descriptors come back with their
 * state, at their fd numbers:
 *  - eventfds: a counter (5, O_NONBLOCK), a semaphore (3: three reads of 1),
 *    and a counter beyond 32 bits (2^40, which eventfd(2)'s initial value
 *    cannot hold);
 *  - a signalfd for SIGUSR1|SIGUSR2 (same sigmask in fdinfo) that reads the
 *    SIGUSR1 left pending before the dump, then nothing;
 *  - timerfds: a 100 ms interval timer whose expirations went unread keeps
 *    them (at least the 3 it had) and keeps firing; an expired one-shot
 *    keeps its one tick; a one-hour timer keeps the time it had left
 *    (never more, and no less than what passed meanwhile); an absolute
 *    CLOCK_REALTIME timer keeps TFD_TIMER_ABSTIME|TFD_TIMER_CANCEL_ON_SET. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "live.h"

enum { EV_COUNT = 10, EV_SEM = 11, EV_BIG = 12, SIG_FD = 13, T_INTERVAL = 14, T_HOUR = 15, T_EXPIRED = 16, T_ABS = 17 };
static const int64_t kMs = 1000 * 1000;
static const int64_t kHourNs = 3600ll * 1000 * 1000 * 1000;

static void fdinfo_line(int fd, const char *key, char *out, size_t size) {
    char path[64], text[4096];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
    ssize_t n = live_read_file(path, text, sizeof text - 1);
    out[0] = '\0';
    if (n <= 0) return;
    text[n] = '\0';
    char *at = strstr(text, key);
    if (!at) return;
    size_t len = strcspn(at, "\n");
    snprintf(out, size, "%.*s", (int)len, at);
}

static int64_t ts_ns(struct timespec t) { return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec; }

static int64_t remaining_ns(int fd) {
    struct itimerspec its;
    if (timerfd_gettime(fd, &its) != 0) return -1;
    return ts_ns(its.it_value);
}

static uint64_t read_u64(int fd, int *err) {
    uint64_t v = 0;
    *err = 0;
    if (read(fd, &v, sizeof v) != (ssize_t)sizeof v) *err = errno;
    return v;
}

int main(int argc, char **argv) {
    live_init(argc, argv);
    uint64_t v;
    live_place_fd(LIVE_SETUP(eventfd(0, EFD_NONBLOCK)), EV_COUNT);
    v = 5;
    LIVE_SETUP(write(EV_COUNT, &v, sizeof v));
    live_place_fd(LIVE_SETUP(eventfd(3, EFD_SEMAPHORE)), EV_SEM);
    live_place_fd(LIVE_SETUP(eventfd(0, 0)), EV_BIG);
    v = 1ull << 40;
    LIVE_SETUP(write(EV_BIG, &v, sizeof v));

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    LIVE_SETUP(sigprocmask(SIG_BLOCK, &set, NULL));
    live_place_fd(LIVE_SETUP(signalfd(-1, &set, SFD_NONBLOCK)), SIG_FD);
    LIVE_SETUP(raise(SIGUSR1));
    char mask_before[128];
    fdinfo_line(SIG_FD, "sigmask:", mask_before, sizeof mask_before);

    live_place_fd(LIVE_SETUP(timerfd_create(CLOCK_MONOTONIC, 0)), T_INTERVAL);
    struct itimerspec its = {.it_interval = {0, 100 * kMs}, .it_value = {0, 100 * kMs}};
    LIVE_SETUP(timerfd_settime(T_INTERVAL, 0, &its, NULL));
    live_place_fd(LIVE_SETUP(timerfd_create(CLOCK_MONOTONIC, 0)), T_HOUR);
    its = (struct itimerspec){.it_value = {3600, 0}};
    LIVE_SETUP(timerfd_settime(T_HOUR, 0, &its, NULL));
    live_place_fd(LIVE_SETUP(timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK)), T_EXPIRED);
    its = (struct itimerspec){.it_value = {0, 50 * kMs}};
    LIVE_SETUP(timerfd_settime(T_EXPIRED, 0, &its, NULL));
    live_place_fd(LIVE_SETUP(timerfd_create(CLOCK_REALTIME, 0)), T_ABS);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    its = (struct itimerspec){.it_value = {now.tv_sec + 3600, now.tv_nsec}};
    LIVE_SETUP(timerfd_settime(T_ABS, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL));
    live_sleep_ns(350 * kMs);  /* the interval timer expires 3 times, the one-shot once: unread */

    int64_t hour_before = remaining_ns(T_HOUR), abs_before = remaining_ns(T_ABS);
    int64_t ready_at = live_now_ns(CLOCK_MONOTONIC);
    live_log("eventfds 5, sem 3, 2^40; signalfd %s with SIGUSR1 pending; timers armed", mask_before);
    live_ready();
    live_wait_for_check();
    int64_t passed = live_now_ns(CLOCK_MONOTONIC) - ready_at;

    int err;
    v = read_u64(EV_COUNT, &err);
    LIVE_EXPECT(v == 5 && !err, "eventfd counter read %llu (%s), want 5", (unsigned long long)v, strerror(err));
    read_u64(EV_COUNT, &err);
    LIVE_EXPECT(err == EAGAIN, "eventfd counter not empty (or not O_NONBLOCK) after reading it: %s", strerror(err));
    /* Non-blocking from here: a plain counter where a semaphore should be
     * must fail the check, not hang it. */
    LIVE_SETUP(fcntl(EV_SEM, F_SETFL, O_NONBLOCK));
    for (int i = 0; i < 3; i++) {
        v = read_u64(EV_SEM, &err);
        LIVE_EXPECT(v == 1 && !err, "semaphore eventfd read #%d gave %llu (%s), want 1", i, (unsigned long long)v,
                    strerror(err));
    }
    read_u64(EV_SEM, &err);
    LIVE_EXPECT(err == EAGAIN, "semaphore eventfd still readable after 3 reads: %s", strerror(err));
    v = read_u64(EV_BIG, &err);
    LIVE_EXPECT(v == 1ull << 40 && !err, "eventfd counter read %llu, want 2^40", (unsigned long long)v);

    char mask_after[128];
    fdinfo_line(SIG_FD, "sigmask:", mask_after, sizeof mask_after);
    LIVE_EXPECT(mask_after[0] && strcmp(mask_before, mask_after) == 0, "signalfd %s, was %s", mask_after, mask_before);
    struct signalfd_siginfo si;
    ssize_t n = read(SIG_FD, &si, sizeof si);
    LIVE_EXPECT(n == (ssize_t)sizeof si && si.ssi_signo == SIGUSR1, "signalfd read %zd bytes, signal %u, want SIGUSR1",
                n, n > 0 ? si.ssi_signo : 0);
    n = read(SIG_FD, &si, sizeof si);
    err = errno;
    LIVE_EXPECT(n == -1 && err == EAGAIN, "signalfd gave a second signal or blocked: %zd (%s)", n, strerror(err));

    v = read_u64(T_INTERVAL, &err);
    LIVE_EXPECT(v >= 3 && !err, "interval timer: %llu expirations read (%s), want at least 3", (unsigned long long)v,
                strerror(err));
    v = read_u64(T_INTERVAL, &err);  /* blocks until the next period */
    LIVE_EXPECT(v >= 1 && !err, "interval timer stopped firing after restore (%s)", strerror(err));
    v = read_u64(T_EXPIRED, &err);
    LIVE_EXPECT(v == 1 && !err, "expired one-shot timer: %llu expirations (%s), want 1", (unsigned long long)v,
                strerror(err));
    read_u64(T_EXPIRED, &err);
    LIVE_EXPECT(err == EAGAIN, "expired one-shot timer fired again or lost O_NONBLOCK: %s", strerror(err));
    int64_t hour_after = remaining_ns(T_HOUR);
    LIVE_EXPECT(hour_after > 0 && hour_after <= hour_before && hour_after >= hour_before - passed - 1000 * kMs,
                "one-hour timer has %lld ns left, had %lld ns %lld ns ago", (long long)hour_after,
                (long long)hour_before, (long long)passed);
    int64_t abs_after = remaining_ns(T_ABS);
    LIVE_EXPECT(abs_after > kHourNs - passed - 60000 * kMs && abs_after <= abs_before + 1000 * kMs,
                "absolute timer has %lld ns left, had %lld", (long long)abs_after, (long long)abs_before);
    char flags[64];
    fdinfo_line(T_ABS, "settime flags:", flags, sizeof flags);
    LIVE_EXPECT(strstr(flags, "03") != NULL, "absolute timer's fdinfo says '%s', want settime flags 03", flags);
    live_finish();
}
