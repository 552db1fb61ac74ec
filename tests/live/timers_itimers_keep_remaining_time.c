/* Proves: the three interval timers (ITIMER_REAL, ITIMER_VIRTUAL,
 * ITIMER_PROF) come back armed with their exact intervals and with a
 * remaining time that is no more than before the checkpoint, still positive,
 * and — for the real-time timer — not less than the time that really
 * passed allows (the CPU-time ones within the kernel's tick sampling).
 * None of them fires early. */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include <sys/time.h>

#include "live.h"

static volatile sig_atomic_t fired[3];
static void on_alarm(int sig) {
    fired[sig == SIGALRM ? 0 : sig == SIGVTALRM ? 1 : 2]++;
}

static int64_t tv_us(struct timeval tv) { return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec; }

int main(int argc, char **argv) {
    live_init(argc, argv);
    static const int which[3] = {ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF};
    static const char *name[3] = {"ITIMER_REAL", "ITIMER_VIRTUAL", "ITIMER_PROF"};
    static const int sig[3] = {SIGALRM, SIGVTALRM, SIGPROF};
    const struct itimerval set[3] = {
        {.it_interval = {1800, 250000}, .it_value = {3600, 0}},
        {.it_interval = {100, 0}, .it_value = {1000, 500000}},
        {.it_interval = {0, 0}, .it_value = {2000, 0}}, /* one-shot */
    };
    for (int i = 0; i < 3; i++) {
        signal(sig[i], on_alarm);
        LIVE_SETUP(setitimer(which[i], &set[i], NULL));
    }
    /* Use some CPU so the CPU-time timers have moved. */
    int64_t until = live_now_ns(CLOCK_PROCESS_CPUTIME_ID) + 50 * 1000000;
    while (live_now_ns(CLOCK_PROCESS_CPUTIME_ID) < until) {
    }

    struct itimerval before[3];
    for (int i = 0; i < 3; i++) getitimer(which[i], &before[i]);
    int64_t wall_before = live_now_ns(CLOCK_MONOTONIC), cpu_before = live_now_ns(CLOCK_PROCESS_CPUTIME_ID);

    live_ready();
    live_wait_for_check();

    struct itimerval now[3];
    for (int i = 0; i < 3; i++) getitimer(which[i], &now[i]);
    int64_t wall_passed_us = (live_now_ns(CLOCK_MONOTONIC) - wall_before) / 1000;
    int64_t cpu_passed_us = (live_now_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu_before) / 1000;
    const int64_t slack_us = 1000000; /* timer granularity and rounding, generously */
    const int64_t cpu_tick_slack_us = 20000;
    for (int i = 0; i < 3; i++) {
        int64_t b = tv_us(before[i].it_value), a = tv_us(now[i].it_value);
        LIVE_EXPECT(tv_us(now[i].it_interval) == tv_us(set[i].it_interval), "%s interval is %lld us, was set to %lld us",
                    name[i], (long long)tv_us(now[i].it_interval), (long long)tv_us(set[i].it_interval));
        LIVE_EXPECT(a > 0, "%s is disarmed after restore", name[i]);
        /* The kernel samples process CPU time for the CPU-time timers at tick
         * granularity, so re-arming them reads up to a few ticks high. */
        int64_t sample_slack = i == 0 ? 0 : cpu_tick_slack_us;
        LIVE_EXPECT(a <= b + sample_slack, "%s has %lld us left, more than the %lld us before the checkpoint%s", name[i],
                    (long long)a, (long long)b, i == 0 ? "" : " (plus 20 ms for tick sampling)");
        int64_t passed = i == 0 ? wall_passed_us : cpu_passed_us;
        LIVE_EXPECT(a >= b - passed - slack_us, "%s has %lld us left: %lld us before minus %lld us passed is more",
                    name[i], (long long)a, (long long)b, (long long)passed);
        LIVE_EXPECT(fired[i] == 0, "%s fired %d times (armed for far longer)", name[i], (int)fired[i]);
    }
    live_finish();
}
