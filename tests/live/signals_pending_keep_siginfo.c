/* Proves: signals pending at the checkpoint are still pending after it,
 * with their siginfo, where they were: process-wide ones (sigqueue to self
 * while blocked: two queued instances of one real-time signal in order, and
 * a standard signal) and thread-directed ones (pthread_sigqueue and tgkill
 * to one thread), which only that thread can take. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "live.h"
#include "signals.h"

static int sig_rt_shared, sig_rt_thread;
static pid_t pid, thread_tid;
static atomic_int phase; /* 1: thread ready, 2: thread may take its signals, 3: thread done */
static char shdpnd_before[32], thread_sigpnd_before[32];

static const struct timespec no_wait = {0, 0};

/* The raw syscall: glibc's sigtimedwait reports SI_TKILL as SI_USER. */
static int take(const sigset_t *set, siginfo_t *si) {
    return (int)syscall(SYS_rt_sigtimedwait, set, si, &no_wait, LIVE_NSIG / 8);
}

static void expect_taken(const char *who, int sig, int code, int value, bool check_value) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    siginfo_t si;
    int got = take(&set, &si);
    if (got != sig) {
        LIVE_EXPECT(false, "%s: signal %d is no longer pending (%s)", who, sig, strerror(errno));
        return;
    }
    LIVE_EXPECT(si.si_code == code, "%s: signal %d has si_code %d, expected %d", who, sig, si.si_code, code);
    LIVE_EXPECT(si.si_pid == pid, "%s: signal %d has si_pid %d, expected %d", who, sig, si.si_pid, pid);
    LIVE_EXPECT(si.si_uid == getuid(), "%s: signal %d has si_uid %d", who, sig, (int)si.si_uid);
    if (check_value)
        LIVE_EXPECT(si.si_value.sival_int == value, "%s: signal %d has si_value %d, expected %d", who, sig,
                    si.si_value.sival_int, value);
}

static void expect_not_pending(const char *who, int sig) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    int got = take(&set, NULL);
    LIVE_EXPECT(got == -1 && errno == EAGAIN, "%s: signal %d is pending for it (got %d)", who, sig, got);
}

static void *thread_main(void *arg) {
    (void)arg;
    thread_tid = live_gettid();
    atomic_store(&phase, 1);
    while (atomic_load(&phase) < 2) live_sleep_ns(5 * 1000000);
    /* Thread-directed first, in queue order; then the thread must not see
     * the process-wide signals the main thread already took. */
    expect_taken("thread", sig_rt_thread, SI_QUEUE, 99, true);
    expect_taken("thread", SIGUSR2, SI_TKILL, 0, false);
    expect_not_pending("thread", sig_rt_thread);
    expect_not_pending("thread", sig_rt_shared);
    atomic_store(&phase, 3);
    return NULL;
}

int main(int argc, char **argv) {
    live_init(argc, argv);
    pid = getpid();
    sig_rt_shared = SIGRTMIN + 2;
    sig_rt_thread = SIGRTMIN + 4;

    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGUSR2);
    sigaddset(&block, sig_rt_shared);
    sigaddset(&block, sig_rt_thread);
    LIVE_SETUP(sigprocmask(SIG_BLOCK, &block, NULL)); /* inherited by the thread */

    pthread_t t;
    if (pthread_create(&t, NULL, thread_main, NULL) != 0) live_fail("setup: pthread_create failed");
    while (atomic_load(&phase) < 1) live_sleep_ns(1000000);

    LIVE_SETUP(sigqueue(pid, sig_rt_shared, (union sigval){.sival_int = 0x1234}));
    LIVE_SETUP(sigqueue(pid, sig_rt_shared, (union sigval){.sival_int = 0x5678}));
    LIVE_SETUP(sigqueue(pid, SIGUSR1, (union sigval){.sival_int = 77}));
    if (pthread_sigqueue(t, sig_rt_thread, (union sigval){.sival_int = 99}) != 0)
        live_fail("setup: pthread_sigqueue failed");
    LIVE_SETUP(syscall(SYS_tgkill, pid, thread_tid, SIGUSR2));

    char path[64];
    live_status_field("/proc/self/status", "ShdPnd", shdpnd_before, sizeof(shdpnd_before));
    snprintf(path, sizeof(path), "/proc/self/task/%d/status", thread_tid);
    live_status_field(path, "SigPnd", thread_sigpnd_before, sizeof(thread_sigpnd_before));
    live_log("pending: shared %s, thread %d %s", shdpnd_before, thread_tid, thread_sigpnd_before);

    live_ready();
    live_wait_for_check();

    char v[32] = "";
    live_status_field("/proc/self/status", "ShdPnd", v, sizeof(v));
    LIVE_EXPECT(strcmp(v, shdpnd_before) == 0, "process-wide pending set ShdPnd is %s, was %s", v, shdpnd_before);
    live_status_field(path, "SigPnd", v, sizeof(v));
    LIVE_EXPECT(strcmp(v, thread_sigpnd_before) == 0, "thread %d pending set SigPnd is %s, was %s", thread_tid, v,
                thread_sigpnd_before);
    live_status_field("/proc/self/status", "SigPnd", v, sizeof(v));
    LIVE_EXPECT(strcmp(v, "0000000000000000") == 0, "the main thread has thread-directed signals pending: %s", v);

    /* The main thread takes the process-wide ones, in order, and must not
     * see the thread's. */
    expect_taken("main", sig_rt_shared, SI_QUEUE, 0x1234, true);
    expect_taken("main", sig_rt_shared, SI_QUEUE, 0x5678, true);
    expect_not_pending("main (a third instance)", sig_rt_shared);
    expect_taken("main", SIGUSR1, SI_QUEUE, 77, true);
    expect_not_pending("main", sig_rt_thread);
    expect_not_pending("main", SIGUSR2);

    atomic_store(&phase, 2);
    for (int i = 0; i < 500 && atomic_load(&phase) < 3; i++) live_sleep_ns(10 * 1000000);
    LIVE_EXPECT(atomic_load(&phase) == 3, "the thread did not finish taking its signals");
    pthread_join(t, NULL);
    live_finish();
}
