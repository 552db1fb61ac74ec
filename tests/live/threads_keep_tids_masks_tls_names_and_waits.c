/* Proves: every thread comes back with its own TID, signal mask, TLS value
 * (__thread) and name, and carries on with what it was doing: a thread
 * blocked in FUTEX_WAIT (no timeout) stays blocked until the main thread
 * wakes it during the check — no early return, no EINTR — a thread looping
 * in nanosleep never returns early or with an error, and a thread spinning
 * on a counter keeps spinning. */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "live.h"
#include "signals.h"

enum kind { FUTEX_WAITER, SLEEPER, SPINNER, NKINDS };
static const char *kind_name[] = {"futex waiter", "sleeper", "spinner"};
enum { SLEEP_MS = 200 };

struct worker {
    enum kind kind;
    char name[16];
    sigset_t mask;
    uint64_t tls_expected;
    pthread_t thread;
    pid_t tid;
    char status_sigblk[32], comm[32]; /* as /proc/self/task/TID shows them before the checkpoint */
    atomic_int futex_returned;
};

static struct worker workers[NKINDS];
static __thread uint64_t tls_value;
static atomic_int started, stop;
static _Atomic uint32_t futex_word;
static atomic_ulong spin_counter;
static atomic_ulong sleeps_done;

static void check_identity(struct worker *w, const char *when) {
    pid_t tid = live_gettid();
    LIVE_EXPECT(tid == w->tid, "%s thread %s: gettid() is %d, was %d", when, w->name, tid, w->tid);
    LIVE_EXPECT(pthread_equal(pthread_self(), w->thread), "%s thread %s: pthread_self() changed", when, w->name);
    LIVE_EXPECT(tls_value == w->tls_expected, "%s thread %s: TLS value is %#llx, was %#llx", when, w->name,
                (unsigned long long)tls_value, (unsigned long long)w->tls_expected);
    sigset_t now;
    pthread_sigmask(SIG_BLOCK, NULL, &now);
    char x[200], y[200];
    LIVE_EXPECT(live_sigset_equal(&now, &w->mask), "%s thread %s: signal mask is {%s}, was {%s}", when, w->name,
                live_sigset_str(&now, x, sizeof(x)), live_sigset_str(&w->mask, y, sizeof(y)));
    char name[16] = "";
    prctl(PR_GET_NAME, name);
    LIVE_EXPECT(strcmp(name, w->name) == 0, "%s thread %s: name is \"%s\"", when, w->name, name);
}

static void *run(void *arg) {
    struct worker *w = arg;
    prctl(PR_SET_NAME, w->name);
    tls_value = w->tls_expected;
    pthread_sigmask(SIG_SETMASK, &w->mask, NULL);
    w->tid = live_gettid();
    atomic_fetch_add(&started, 1);

    switch (w->kind) {
    case FUTEX_WAITER:
        while (atomic_load(&futex_word) == 0) {
            long r = syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
            int e = errno;
            if (r == -1 && e == EAGAIN) break; /* the word changed before we slept */
            LIVE_EXPECT(r == 0, "FUTEX_WAIT returned %ld (%s) while nobody woke it", r, strerror(e));
            LIVE_EXPECT(r != 0 || atomic_load(&futex_word) != 0, "FUTEX_WAIT returned 0 before the wake-up");
            if (r != 0 || atomic_load(&futex_word) == 0) break; /* reported; do not spin */
        }
        atomic_store(&w->futex_returned, 1);
        break;
    case SLEEPER:
        while (!atomic_load(&stop)) {
            struct timespec req = {0, SLEEP_MS * 1000000L}, rem = {0, 0};
            int64_t t0 = live_now_ns(CLOCK_MONOTONIC);
            int r = nanosleep(&req, &rem);
            int e = errno;
            int64_t slept = live_now_ns(CLOCK_MONOTONIC) - t0;
            LIVE_EXPECT(r == 0, "nanosleep(%d ms) failed: %s (remaining %ld.%09ld s)", SLEEP_MS, strerror(e),
                        (long)rem.tv_sec, rem.tv_nsec);
            LIVE_EXPECT(slept >= SLEEP_MS * 1000000LL, "nanosleep(%d ms) returned after %lld us", SLEEP_MS,
                        (long long)(slept / 1000));
            atomic_fetch_add(&sleeps_done, 1); /* and on: one failure is reported, not a cascade */
        }
        break;
    case SPINNER:
        while (!atomic_load_explicit(&stop, memory_order_relaxed))
            atomic_fetch_add_explicit(&spin_counter, 1, memory_order_relaxed);
        break;
    default:
        break;
    }
    check_identity(w, "after the check,");
    return NULL;
}

static void task_file(pid_t tid, const char *file, char *path, size_t size) {
    snprintf(path, size, "/proc/self/task/%d/%s", tid, file);
}

int main(int argc, char **argv) {
    live_init(argc, argv);
    static struct worker main_w;
    snprintf(main_w.name, sizeof(main_w.name), "live-main");
    sigemptyset(&main_w.mask);
    sigaddset(&main_w.mask, SIGWINCH);
    sigaddset(&main_w.mask, SIGRTMIN + 4);
    main_w.tls_expected = 0x3a1200000000beefull;
    main_w.thread = pthread_self();
    main_w.tid = live_gettid();
    prctl(PR_SET_NAME, main_w.name);
    tls_value = main_w.tls_expected;
    /* Threads start with this mask, then set their own. */
    pthread_sigmask(SIG_SETMASK, &main_w.mask, NULL);

    static const int blocked[NKINDS][2] = {{SIGUSR1, 1}, {SIGUSR2, 2}, {SIGHUP, 3}};
    for (int i = 0; i < NKINDS; i++) {
        struct worker *w = &workers[i];
        w->kind = (enum kind)i;
        snprintf(w->name, sizeof(w->name), "live-t%d-%.6s", i, kind_name[i]);
        sigemptyset(&w->mask);
        sigaddset(&w->mask, blocked[i][0]);
        sigaddset(&w->mask, SIGRTMIN + blocked[i][1]);
        w->tls_expected = 0x7100000000000000ull | (uint64_t)(i + 1) * 0x1111;
        if (pthread_create(&w->thread, NULL, run, w) != 0) live_fail("setup: pthread_create failed");
    }
    while (atomic_load(&started) < NKINDS) live_sleep_ns(1000000);
    live_sleep_ns(20 * 1000000); /* let the futex waiter reach FUTEX_WAIT */

    char path[128], threads_before[32], threads_now[32], v[64];
    live_status_field("/proc/self/status", "Threads", threads_before, sizeof(threads_before));
    for (int i = 0; i < NKINDS; i++) {
        struct worker *w = &workers[i];
        task_file(w->tid, "status", path, sizeof(path));
        live_status_field(path, "SigBlk", w->status_sigblk, sizeof(w->status_sigblk));
        task_file(w->tid, "comm", path, sizeof(path));
        live_read_file(path, w->comm, sizeof(w->comm));
        live_log("thread %s: tid %d, SigBlk %s", w->name, w->tid, w->status_sigblk);
    }

    live_ready();
    live_wait_for_check();

    check_identity(&main_w, "main:");
    live_status_field("/proc/self/status", "Threads", threads_now, sizeof(threads_now));
    LIVE_EXPECT(strcmp(threads_now, threads_before) == 0, "the process has %s threads, had %s", threads_now,
                threads_before);
    /* From outside each thread, while they still wait or spin. */
    for (int i = 0; i < NKINDS; i++) {
        struct worker *w = &workers[i];
        char comm[32] = "";
        task_file(w->tid, "status", path, sizeof(path));
        bool there = live_status_field(path, "SigBlk", v, sizeof(v));
        LIVE_EXPECT(there, "no thread with TID %d (%s) any more", w->tid, w->name);
        if (!there) continue;
        LIVE_EXPECT(strcmp(v, w->status_sigblk) == 0, "thread %s: SigBlk %s, was %s", w->name, v, w->status_sigblk);
        task_file(w->tid, "comm", path, sizeof(path));
        live_read_file(path, comm, sizeof(comm));
        LIVE_EXPECT(strcmp(comm, w->comm) == 0, "thread %d: comm is \"%.15s\", was \"%.15s\"", w->tid, comm, w->comm);
    }
    LIVE_EXPECT(!atomic_load(&workers[FUTEX_WAITER].futex_returned), "the futex waiter returned before the wake-up");
    /* Up to 2 s: on a loaded machine the spinner may wait for a CPU. */
    unsigned long c0 = atomic_load(&spin_counter);
    for (int i = 0; i < 200 && atomic_load(&spin_counter) == c0; i++) live_sleep_ns(10 * 1000000);
    LIVE_EXPECT(atomic_load(&spin_counter) > c0, "the spinning thread does not spin any more");
    unsigned long s0 = atomic_load(&sleeps_done);
    live_sleep_ns((SLEEP_MS + 100) * 1000000LL);
    LIVE_EXPECT(atomic_load(&sleeps_done) > s0, "the sleeping thread did not finish a sleep within %d ms",
                SLEEP_MS + 100);

    atomic_store(&stop, 1);
    atomic_store(&futex_word, 1);
    syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    for (int i = 0; i < NKINDS; i++) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 5;
        int r = pthread_timedjoin_np(workers[i].thread, NULL, &deadline);
        LIVE_EXPECT(r == 0, "thread %s did not finish within 5 s of being released: %s", workers[i].name, strerror(r));
    }
    LIVE_EXPECT(atomic_load(&workers[FUTEX_WAITER].futex_returned), "the futex waiter never returned");
    live_finish();
}
