/* Proves: POSIX timers come back with the same ids, clocks, signals and
 * values (/proc/self/timers is identical), armed ones with their interval
 * and remaining time, a disarmed one still disarmed; a fast periodic timer
 * whose signal is blocked keeps firing at its rate after restore, with
 * sane overrun counts and its own id and value in the siginfo; and a timer
 * created after restore gets an id of its own. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "live.h"

enum { SLOW, FAST, IDLE, BOOT, NTIMERS };
static const char *name[NTIMERS] = {"slow", "fast", "disarmed", "boottime"};
static timer_t id[NTIMERS];
static int signo[NTIMERS];
static const int fast_period_ms = 10;

static int64_t ts_ns(struct timespec t) { return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec; }

/* Takes one pending signal of the fast timer and checks its siginfo. */
static int take_fast(const char *when, int64_t max_overrun) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signo[FAST]);
    struct timespec wait = {1, 0};
    siginfo_t si;
    if (sigtimedwait(&set, &si, &wait) != signo[FAST]) {
        LIVE_EXPECT(false, "%s: the fast timer's signal did not come within 1 s", when);
        return -1;
    }
    LIVE_EXPECT(si.si_code == SI_TIMER, "%s: fast timer signal has si_code %d", when, si.si_code);
    LIVE_EXPECT(si.si_timerid == (int)(intptr_t)id[FAST], "%s: fast timer signal names timer %d, expected %d", when,
                si.si_timerid, (int)(intptr_t)id[FAST]);
    LIVE_EXPECT(si.si_value.sival_int == 0xfa57, "%s: fast timer signal value %#x", when, si.si_value.sival_int);
    LIVE_EXPECT(si.si_overrun >= 0 && si.si_overrun <= max_overrun,
                "%s: fast timer overrun %d, expected 0..%lld: more expirations than the time since the last "
                "signal allows (a second signal queued for the same timer?)",
                when, si.si_overrun, (long long)max_overrun);
    int o = timer_getoverrun(id[FAST]);
    LIVE_EXPECT(o == si.si_overrun, "%s: timer_getoverrun says %d, the siginfo %d", when, o, si.si_overrun);
    return si.si_overrun;
}

int main(int argc, char **argv) {
    live_init(argc, argv);
    static const clockid_t clock[NTIMERS] = {CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME};
    signo[SLOW] = SIGRTMIN + 1;
    signo[FAST] = SIGRTMIN + 2;
    signo[IDLE] = SIGUSR1;
    signo[BOOT] = SIGRTMIN + 3;
    sigset_t block;
    sigemptyset(&block);
    for (int i = 0; i < NTIMERS; i++) sigaddset(&block, signo[i]);
    LIVE_SETUP(sigprocmask(SIG_BLOCK, &block, NULL));

    const int values[NTIMERS] = {0x5105, 0xfa57, 0x1d1e, 0xb007};
    for (int i = 0; i < NTIMERS; i++) {
        struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = signo[i]};
        ev.sigev_value.sival_int = values[i];
        LIVE_SETUP(timer_create(clock[i], &ev, &id[i]));
    }
    const struct itimerspec arm[NTIMERS] = {
        {.it_interval = {3600, 0}, .it_value = {3600, 0}},
        {.it_interval = {0, fast_period_ms * 1000000L}, .it_value = {0, fast_period_ms * 1000000L}},
        {.it_interval = {0, 0}, .it_value = {0, 0}},
        {.it_interval = {0, 0}, .it_value = {7200, 123456789}},
    };
    for (int i = 0; i < NTIMERS; i++) LIVE_SETUP(timer_settime(id[i], 0, &arm[i], NULL));

    /* Let the fast one run up overruns, take one signal: overrun counting works. */
    live_sleep_ns(55 * 1000000);
    take_fast("before the checkpoint", 1000);

    static char timers_before[4096], timers_after[4096];
    LIVE_SETUP(live_read_file("/proc/self/timers", timers_before, sizeof(timers_before)));
    struct itimerspec before[NTIMERS];
    for (int i = 0; i < NTIMERS; i++) timer_gettime(id[i], &before[i]);
    int64_t t_before = live_now_ns(CLOCK_MONOTONIC);

    live_ready();
    live_wait_for_check();

    LIVE_EXPECT(live_read_file("/proc/self/timers", timers_after, sizeof(timers_after)) >= 0 &&
                    strcmp(timers_before, timers_after) == 0,
                "/proc/self/timers changed: was \"%s\", now \"%s\"", timers_before, timers_after);
    int64_t passed = live_now_ns(CLOCK_MONOTONIC) - t_before, slack = 1000000000;
    for (int i = 0; i < NTIMERS; i++) {
        struct itimerspec now;
        if (timer_gettime(id[i], &now) != 0) {
            LIVE_EXPECT(false, "timer %s (id %d) is gone: %s", name[i], (int)(intptr_t)id[i], strerror(errno));
            continue;
        }
        LIVE_EXPECT(ts_ns(now.it_interval) == ts_ns(arm[i].it_interval), "timer %s interval %lld ns, was %lld ns",
                    name[i], (long long)ts_ns(now.it_interval), (long long)ts_ns(arm[i].it_interval));
        int64_t b = ts_ns(before[i].it_value), a = ts_ns(now.it_value);
        if (i == IDLE) {
            LIVE_EXPECT(a == 0, "the disarmed timer is armed now (%lld ns left)", (long long)a);
        } else if (i != FAST) {
            LIVE_EXPECT(a > 0 && a <= b && a >= b - passed - slack, "timer %s has %lld ns left, had %lld ns, %lld ns passed",
                        name[i], (long long)a, (long long)b, (long long)passed);
        } else {
            LIVE_EXPECT(a > 0 && a <= fast_period_ms * 1000000LL, "fast timer has %lld ns left of a %d ms period",
                        (long long)a, fast_period_ms);
        }
    }

    /* The fast timer: its pending signal (overrun up to everything since the
     * last take), then a fresh one after a known time. */
    int64_t max_overrun = passed / (fast_period_ms * 1000000LL) + 10;
    take_fast("first after restore", max_overrun);
    int64_t t0 = live_now_ns(CLOCK_MONOTONIC);
    live_sleep_ns(105 * 1000000);
    int64_t slept = live_now_ns(CLOCK_MONOTONIC) - t0;
    int o = take_fast("105 ms later", slept / (fast_period_ms * 1000000LL) + 3);
    LIVE_EXPECT(o >= 5, "the fast timer fired only %d extra times in 105 ms (period %d ms)", o + 1, fast_period_ms);

    timer_t fresh;
    struct sigevent ev = {.sigev_notify = SIGEV_NONE};
    if (timer_create(CLOCK_MONOTONIC, &ev, &fresh) == 0) {
        for (int i = 0; i < NTIMERS; i++)
            LIVE_EXPECT(fresh != id[i], "a new timer got id %d, which timer %s has", (int)(intptr_t)fresh, name[i]);
    } else {
        LIVE_EXPECT(false, "timer_create after restore: %s", strerror(errno));
    }
    live_finish();
}
