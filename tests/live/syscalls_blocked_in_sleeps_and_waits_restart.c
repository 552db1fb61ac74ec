/* Proves: threads blocked in system calls at the checkpoint carry on
 * correctly after restore — nothing returns early, with an error or with
 * garbage: relative nanosleep and clock_nanosleep sleep at least as long as
 * asked; absolute clock_nanosleep never returns before its deadline; a
 * futex wait with a timeout times out no earlier than asked; poll with no
 * fds sleeps its timeout; a FUTEX_WAIT without timeout returns only when
 * woken; pause() returns only for the signal sent during the check, whose
 * handler runs on that thread; sigsuspend() likewise, and restores the
 * original mask on return. */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "live.h"
#include "signals.h"

enum { NANOSLEEP, CLOCK_REL, CLOCK_ABS, FUTEX_TIMEOUT, POLL, FUTEX_FOREVER, PAUSE, SIGSUSPEND, NKINDS };
static const char *kind_name[NKINDS] = {"nanosleep", "clock_nanosleep relative", "clock_nanosleep absolute",
                                        "futex wait with timeout", "poll without fds", "futex wait without timeout",
                                        "pause", "sigsuspend"};
static const int64_t period_ns = 300 * 1000000LL;

struct sleeper {
    int kind;
    pthread_t thread;
    pid_t tid;
    atomic_ulong rounds;
    atomic_int returned; /* for the ones that block once */
};
static struct sleeper sleepers[NKINDS];
static atomic_int stop, started;
static _Atomic uint32_t never_changes, wake_word;
static atomic_int handler_tid_usr1, handler_tid_usr2, handler_runs;

static void on_signal(int sig) {
    atomic_fetch_add(&handler_runs, 1);
    if (sig == SIGUSR1) atomic_store(&handler_tid_usr1, live_gettid());
    if (sig == SIGUSR2) atomic_store(&handler_tid_usr2, live_gettid());
}

static void timed_round(struct sleeper *s) {
    const char *what = kind_name[s->kind];
    int64_t t0 = live_now_ns(CLOCK_MONOTONIC);
    struct timespec rel = {(time_t)(period_ns / 1000000000), (long)(period_ns % 1000000000)};
    long r = 0;
    int e = 0;
    switch (s->kind) {
    case NANOSLEEP:
        r = nanosleep(&rel, NULL);
        e = errno;
        break;
    case CLOCK_REL:
        r = clock_nanosleep(CLOCK_MONOTONIC, 0, &rel, NULL); /* returns the error */
        e = (int)r;
        break;
    case CLOCK_ABS: {
        int64_t deadline = t0 + period_ns;
        struct timespec abs = {(time_t)(deadline / 1000000000), (long)(deadline % 1000000000)};
        r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL);
        e = (int)r;
        int64_t now = live_now_ns(CLOCK_MONOTONIC);
        LIVE_EXPECT(r != 0 || now >= deadline, "%s returned %lld ns before its deadline", what,
                    (long long)(deadline - now));
        break;
    }
    case FUTEX_TIMEOUT:
        r = syscall(SYS_futex, &never_changes, FUTEX_WAIT_PRIVATE, 0, &rel, NULL, 0);
        e = errno;
        LIVE_EXPECT(r == -1 && e == ETIMEDOUT, "%s returned %ld (%s), expected ETIMEDOUT", what, r, strerror(e));
        r = 0;
        break;
    case POLL:
        r = poll(NULL, 0, (int)(period_ns / 1000000));
        e = errno;
        break;
    }
    int64_t slept = live_now_ns(CLOCK_MONOTONIC) - t0;
    LIVE_EXPECT(r == 0, "%s failed: %ld (%s)", what, r, strerror(e));
    LIVE_EXPECT(slept >= period_ns, "%s returned after %lld us of %lld us", what, (long long)(slept / 1000),
                (long long)(period_ns / 1000));
}

static void *run(void *arg) {
    struct sleeper *s = arg;
    s->tid = live_gettid();
    sigset_t mask;
    sigemptyset(&mask);
    if (s->kind == PAUSE) {
        sigaddset(&mask, SIGUSR1);
        pthread_sigmask(SIG_UNBLOCK, &mask, NULL); /* only this thread takes SIGUSR1 */
    }
    atomic_fetch_add(&started, 1);
    switch (s->kind) {
    case FUTEX_FOREVER:
        while (atomic_load(&wake_word) == 0) {
            long r = syscall(SYS_futex, &wake_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
            int e = errno;
            if (r == -1 && e == EAGAIN) break;
            LIVE_EXPECT(r == 0 && atomic_load(&wake_word) != 0,
                        "futex wait without timeout returned %ld (%s) before it was woken", r, strerror(e));
            break;
        }
        atomic_store(&s->returned, 1);
        break;
    case PAUSE: {
        int r = pause();
        int e = errno;
        LIVE_EXPECT(atomic_load(&stop), "pause() returned before the check sent its signal");
        LIVE_EXPECT(r == -1 && e == EINTR, "pause() returned %d (%s), expected EINTR", r, strerror(e));
        atomic_store(&s->returned, 1);
        break;
    }
    case SIGSUSPEND: {
        sigset_t during, after;
        pthread_sigmask(SIG_BLOCK, NULL, &during);
        sigdelset(&during, SIGUSR2);
        sigset_t before;
        pthread_sigmask(SIG_BLOCK, NULL, &before);
        int r = sigsuspend(&during);
        int e = errno;
        pthread_sigmask(SIG_BLOCK, NULL, &after);
        LIVE_EXPECT(atomic_load(&stop), "sigsuspend() returned before the check sent its signal");
        LIVE_EXPECT(r == -1 && e == EINTR, "sigsuspend() returned %d (%s), expected EINTR", r, strerror(e));
        char x[200], y[200];
        LIVE_EXPECT(live_sigset_equal(&after, &before), "after sigsuspend the mask is {%s}, expected {%s}",
                    live_sigset_str(&after, x, sizeof(x)), live_sigset_str(&before, y, sizeof(y)));
        atomic_store(&s->returned, 1);
        break;
    }
    default:
        while (!atomic_load(&stop)) {
            timed_round(s);
            atomic_fetch_add(&s->rounds, 1);
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    live_init(argc, argv);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: pause and sigsuspend never restart anyway */
    sigemptyset(&sa.sa_mask);
    LIVE_SETUP(sigaction(SIGUSR1, &sa, NULL));
    LIVE_SETUP(sigaction(SIGUSR2, &sa, NULL));
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGUSR2);
    LIVE_SETUP(sigprocmask(SIG_BLOCK, &block, NULL)); /* every thread starts blocking both */

    for (int i = 0; i < NKINDS; i++) {
        sleepers[i].kind = i;
        if (pthread_create(&sleepers[i].thread, NULL, run, &sleepers[i]) != 0) live_fail("setup: pthread_create");
    }
    while (atomic_load(&started) < NKINDS) live_sleep_ns(1000000);
    live_sleep_ns(50 * 1000000); /* every thread in its call */

    live_ready();
    live_wait_for_check();

    for (int i = 0; i < NKINDS; i++)
        if (i >= FUTEX_FOREVER)
            LIVE_EXPECT(!atomic_load(&sleepers[i].returned), "%s returned before the check released it", kind_name[i]);
    /* The timed ones keep completing full rounds. */
    unsigned long r0[NKINDS];
    for (int i = 0; i < FUTEX_FOREVER; i++) r0[i] = atomic_load(&sleepers[i].rounds);
    live_sleep_ns(2 * period_ns + 100 * 1000000);
    for (int i = 0; i < FUTEX_FOREVER; i++)
        LIVE_EXPECT(atomic_load(&sleepers[i].rounds) > r0[i], "%s made no progress after restore", kind_name[i]);

    atomic_store(&stop, 1);
    atomic_store(&wake_word, 1);
    syscall(SYS_futex, &wake_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    pthread_kill(sleepers[PAUSE].thread, SIGUSR1);
    pthread_kill(sleepers[SIGSUSPEND].thread, SIGUSR2);
    for (int i = 0; i < NKINDS; i++) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 5;
        int r = pthread_timedjoin_np(sleepers[i].thread, NULL, &deadline);
        LIVE_EXPECT(r == 0, "the %s thread is still blocked 5 s after being released", kind_name[i]);
    }
    LIVE_EXPECT(atomic_load(&handler_tid_usr1) == sleepers[PAUSE].tid, "the SIGUSR1 handler ran on thread %d, not %d",
                atomic_load(&handler_tid_usr1), sleepers[PAUSE].tid);
    LIVE_EXPECT(atomic_load(&handler_tid_usr2) == sleepers[SIGSUSPEND].tid,
                "the SIGUSR2 handler ran on thread %d, not %d", atomic_load(&handler_tid_usr2),
                sleepers[SIGSUSPEND].tid);
    LIVE_EXPECT(atomic_load(&handler_runs) == 2, "signal handlers ran %d times, expected 2",
                atomic_load(&handler_runs));
    live_finish();
}
