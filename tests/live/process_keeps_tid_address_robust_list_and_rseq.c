/* Proves: per-thread kernel registrations come back for every thread: the
 * clear-child-tid address (PR_GET_TID_ADDRESS; pthread_join of a thread
 * that exits after restore still works through it), the robust futex list
 * (get_robust_list; a robust mutex held by a thread that dies after restore
 * is reported EOWNERDEAD), and the rseq area glibc registered (the cpu_id
 * field holds a valid CPU again, and registering the same area again fails
 * with EBUSY, so it is the same registration). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "live.h"

struct registrations {
    const char *who;
    void *tid_address;
    void *robust_head;
    size_t robust_len;
    struct rseq *rseq;
    uint32_t rseq_len; /* the length glibc registered with (probed) */
};

static pthread_mutex_t robust;
static atomic_int thread_phase; /* 1: holds the mutex, 2: may exit */
static struct registrations main_regs, thread_regs_before, thread_regs_after;
static long ncpus;

static struct rseq *rseq_area(void) {
    if (__rseq_size == 0) return NULL; /* glibc's rseq registration is disabled */
    return (struct rseq *)((char *)live_thread_pointer() + __rseq_offset);
}

/* EBUSY from rseq() means "this exact area, length and signature are
 * already registered"; anything else, different registration. */
static int rseq_register_again(struct rseq *area, uint32_t len) {
    return syscall(SYS_rseq, area, len, 0, RSEQ_SIG) == -1 ? errno : 0;
}

static void take(struct registrations *r, const char *who) {
    r->who = who;
    r->tid_address = NULL;
    prctl(PR_GET_TID_ADDRESS, &r->tid_address, 0, 0, 0);
    syscall(SYS_get_robust_list, 0, &r->robust_head, &r->robust_len);
    r->rseq = rseq_area();
}

static void probe_rseq_len(struct registrations *r) {
    r->rseq_len = 0;
    if (!r->rseq) return;
    const uint32_t candidates[] = {32, __rseq_size};
    for (size_t i = 0; i < 2; i++)
        if (rseq_register_again(r->rseq, candidates[i]) == EBUSY) r->rseq_len = candidates[i];
    if (!r->rseq_len) live_fail("setup: cannot find the length glibc registered rseq with");
}

static void expect_same(const struct registrations *b, const struct registrations *a) {
    LIVE_EXPECT(a->tid_address == b->tid_address, "%s: tid address is %p, was %p", b->who, a->tid_address,
                b->tid_address);
    LIVE_EXPECT(a->robust_head == b->robust_head && a->robust_len == b->robust_len,
                "%s: robust list is %p (%zu), was %p (%zu)", b->who, a->robust_head, a->robust_len, b->robust_head,
                b->robust_len);
    if (!b->rseq) return;
    int e = rseq_register_again(b->rseq, b->rseq_len);
    LIVE_EXPECT(e == EBUSY, "%s: registering rseq again gives %s, expected EBUSY (not the same registration)", b->who,
                e ? strerror(e) : "success");
    int64_t cpu = (int32_t)b->rseq->cpu_id, cpu_start = b->rseq->cpu_id_start;
    LIVE_EXPECT(cpu >= 0 && cpu < ncpus, "%s: rseq cpu_id is %lld", b->who, (long long)cpu);
    LIVE_EXPECT(cpu_start >= 0 && cpu_start < ncpus, "%s: rseq cpu_id_start is %lld", b->who, (long long)cpu_start);
}

static void *thread_main(void *arg) {
    (void)arg;
    take(&thread_regs_before, "thread");
    probe_rseq_len(&thread_regs_before);
    pthread_mutex_lock(&robust);
    atomic_store(&thread_phase, 1);
    while (atomic_load(&thread_phase) < 2) live_sleep_ns(5 * 1000000);
    take(&thread_regs_after, "thread");
    thread_regs_after.rseq_len = thread_regs_before.rseq_len;
    expect_same(&thread_regs_before, &thread_regs_after);
    return NULL; /* dies holding the robust mutex */
}

int main(int argc, char **argv) {
    live_init(argc, argv);
    ncpus = sysconf(_SC_NPROCESSORS_CONF);
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&robust, &attr);

    take(&main_regs, "main");
    probe_rseq_len(&main_regs);
    pthread_t t;
    if (pthread_create(&t, NULL, thread_main, NULL) != 0) live_fail("setup: pthread_create failed");
    while (atomic_load(&thread_phase) < 1) live_sleep_ns(1000000);
    live_log("main: tid address %p, robust list %p, rseq %p (len %u)%s", main_regs.tid_address, main_regs.robust_head,
             (void *)main_regs.rseq, main_regs.rseq_len, main_regs.rseq ? "" : " — glibc registers no rseq here");

    live_ready();
    live_wait_for_check();

    struct registrations now;
    take(&now, "main");
    now.rseq_len = main_regs.rseq_len;
    expect_same(&main_regs, &now);

    atomic_store(&thread_phase, 2);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 5;
    int r = pthread_timedjoin_np(t, NULL, &deadline);
    LIVE_EXPECT(r == 0, "joining the thread (clear-child-tid wake-up) failed: %s", strerror(r));
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 5; /* a lost robust list would leave the mutex locked forever */
    r = pthread_mutex_timedlock(&robust, &deadline);
    LIVE_EXPECT(r == EOWNERDEAD, "locking the robust mutex its dead owner held gives %s, expected EOWNERDEAD",
                r ? strerror(r) : "success");
    if (r == EOWNERDEAD) pthread_mutex_consistent(&robust);
    if (r == 0 || r == EOWNERDEAD) pthread_mutex_unlock(&robust);
    live_finish();
}
