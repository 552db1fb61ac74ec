/* Threads: recreated with their original TIDs, each restoring what only it
 * can set for itself; and the credentials, set last in every thread. */
#include "pie/restorer/restorer.h"

#define CLONE_VM 0x00000100
#define CLONE_FS 0x00000200
#define CLONE_FILES 0x00000400
#define CLONE_SIGHAND 0x00000800
#define CLONE_THREAD 0x00010000
#define CLONE_SYSVSEM 0x00040000

#define SS_DISABLE 2
#define SS_AUTODISARM (1u << 31)
#define PR_SET_NAME 15
#define PR_SET_TIMERSLACK 29
#define PR_SET_NO_NEW_PRIVS 38
#define PR_SET_SECUREBITS 28
#define PR_CAPBSET_DROP 24
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#define SECBIT_KEEP_CAPS 0x10
#define SECBIT_NO_SETUID_FIXUP 0x04
#define LINUX_CAPABILITY_VERSION_3 0x20080522

long restore_threads(struct restore_plan *plan) {
    struct restore_thread *threads = PLAN_ARRAY(plan, plan->threads_off, struct restore_thread);
    for (uint32_t i = 1; i < plan->nr_threads; ++i) {
        struct restore_thread *t = &threads[i];
        t->start.plan_addr = (uint64_t)(unsigned long)plan;
        t->start.kind = RESTORE_START_THREAD;
        t->start.index = i;
        t->set_tid[0] = t->tid;
        uint64_t *ca = t->clone_args;
        memset(ca, 0, sizeof t->clone_args);
        ca[0] = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
        ca[5] = t->stack_top - RESTORE_THREAD_STACK_SIZE;
        ca[6] = RESTORE_THREAD_STACK_SIZE;
        ca[8] = (uint64_t)(unsigned long)t->set_tid; /* set_tid */
        ca[9] = 1;                                     /* set_tid_size */
        long r = pie_clone3_thread(ca, sizeof t->clone_args, t);
        if (is_err(r)) return restore_fail(plan, RESTORE_STEP_THREAD_CLONE, r, (uint64_t)t->tid);
        if (r != t->tid) return restore_fail(plan, RESTORE_STEP_THREAD_CLONE, -17, (uint64_t)t->tid);
    }
    /* Wait until every thread has restored its own state. */
    int32_t want = (int32_t)plan->nr_threads - 1;
    int32_t ready;
    while ((ready = atomic_load(&plan->threads_ready)) < want) futex_wait(&plan->threads_ready, ready);
    for (uint32_t i = 1; i < plan->nr_threads; ++i)
        if (threads[i].state < 0)
            return restore_fail(plan, threads[i].failed_step ? threads[i].failed_step : RESTORE_STEP_THREAD_STATE,
                                threads[i].state, (uint64_t)threads[i].tid);
    return 0;
}

static long thread_fail(struct restore_thread *t, int step, long r) {
    t->failed_step = step;
    return r;
}

long restore_thread_state(struct restore_plan *plan, struct restore_thread *t) {
    struct {
        unsigned long sp;
        int flags;
        unsigned long size;
    } ss = {(unsigned long)t->altstack_sp, t->altstack_flags & (int)(SS_DISABLE | SS_AUTODISARM),
            (unsigned long)t->altstack_size};
    long r = SYS2(sigaltstack, &ss, 0);
    if (is_err(r)) return thread_fail(t, RESTORE_STEP_THREAD_STATE, r);
    SYS1(set_tid_address, (unsigned long)t->tid_address);
    if (t->robust_list) {
        r = SYS2(set_robust_list, (unsigned long)t->robust_list, (unsigned long)t->robust_list_len);
        if (is_err(r)) return thread_fail(t, RESTORE_STEP_THREAD_STATE, r);
    }
    if (t->rseq_ptr) {
        r = SYS4(rseq, (unsigned long)t->rseq_ptr, t->rseq_len, 0, t->rseq_sig);
        if (is_err(r)) return thread_fail(t, RESTORE_STEP_THREAD_STATE, r);
    }
    SYS2(prctl, PR_SET_NAME, t->comm);
    if (t->tls) {
        r = stasis_set_tls((unsigned long)t->tls);
        if (is_err(r)) return thread_fail(t, RESTORE_STEP_THREAD_STATE, r);
    }
    /* Scheduling: 0 = the calling thread for each of these. */
    if (t->timer_slack_ns) SYS2(prctl, PR_SET_TIMERSLACK, (unsigned long)t->timer_slack_ns);
    r = SYS3(setpriority, 0 /* PRIO_PROCESS */, 0, t->nice);
    if (is_err(r)) return thread_fail(t, RESTORE_STEP_THREAD_STATE, r);
    struct {
        int prio;
    } sp = {t->sched_priority};
    r = SYS3(sched_setscheduler, 0, t->sched_policy, &sp);
    if (is_err(r)) return thread_fail(t, RESTORE_STEP_THREAD_STATE, r);
    if (t->affinity_len) {
        r = SYS3(sched_setaffinity, 0, t->affinity_len, t->affinity);
        if (is_err(r)) return thread_fail(t, RESTORE_STEP_THREAD_STATE, r);
    }
    unsigned char *info = PLAN_ARRAY(plan, t->pending_off, unsigned char);
    long tgid = SYS0(getpid);
    for (int32_t i = 0; i < t->pending_count; ++i, info += RESTORE_SIGINFO_SIZE) {
        int sig = *(int32_t *)info;
        r = SYS4(rt_tgsigqueueinfo, tgid, t->tid, sig, info);
        if (is_err(r)) return thread_fail(t, RESTORE_STEP_SIGQUEUE, r);
    }
    return 0;
}

/* Credentials are per thread at the syscall level, so every thread sets its
 * own, last: clone3 with set_tid and the steps above need the privileges. */
long restore_creds(struct restore_plan *plan) {
    struct restore_creds *c = &plan->creds;
    long r;
    for (uint32_t cap = 0; cap <= c->last_cap && cap < 64; ++cap) {
        if (c->cap_bnd & ((uint64_t)1 << cap)) continue;
        r = SYS2(prctl, PR_CAPBSET_DROP, cap);
        if (is_err(r)) return restore_fail(plan, RESTORE_STEP_CREDS, r, 1);
    }
    r = SYS2(setgroups, c->ngroups, c->groups);
    if (is_err(r)) return restore_fail(plan, RESTORE_STEP_CREDS, r, 2);
    r = SYS3(setresgid, c->gid, c->egid, c->sgid);
    if (is_err(r)) return restore_fail(plan, RESTORE_STEP_CREDS, r, 3);
    SYS1(setfsgid, c->fsgid);
    /* Keep every capability, effective ones included, across the uid
     * change, so that the final securebits and capset below are still
     * allowed; the capability sets are then set to exactly the saved ones. */
    r = SYS2(prctl, PR_SET_SECUREBITS, c->securebits | SECBIT_KEEP_CAPS | SECBIT_NO_SETUID_FIXUP);
    if (is_err(r)) return restore_fail(plan, RESTORE_STEP_CREDS, r, 4);
    r = SYS3(setresuid, c->uid, c->euid, c->suid);
    if (is_err(r)) return restore_fail(plan, RESTORE_STEP_CREDS, r, 5);
    SYS1(setfsuid, c->fsuid);
    r = SYS2(prctl, PR_SET_SECUREBITS, c->securebits);
    if (is_err(r)) return restore_fail(plan, RESTORE_STEP_CREDS, r, 6);
    SYS6(prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0, 0);
    struct {
        uint32_t version;
        int32_t pid;
    } hdr = {LINUX_CAPABILITY_VERSION_3, 0};
    struct {
        uint32_t effective, permitted, inheritable;
    } data[2] = {{(uint32_t)c->cap_eff, (uint32_t)c->cap_prm, (uint32_t)c->cap_inh},
                 {(uint32_t)(c->cap_eff >> 32), (uint32_t)(c->cap_prm >> 32), (uint32_t)(c->cap_inh >> 32)}};
    r = SYS2(capset, &hdr, data);
    if (is_err(r)) return restore_fail(plan, RESTORE_STEP_CREDS, r, 7);
    for (uint32_t cap = 0; cap <= c->last_cap && cap < 64; ++cap) {
        if (!(c->cap_amb & ((uint64_t)1 << cap))) continue;
        r = SYS6(prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0, 0);
        if (is_err(r)) return restore_fail(plan, RESTORE_STEP_CREDS, r, 8);
    }
    if (c->no_new_privs) {
        r = SYS6(prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0);
        if (is_err(r)) return restore_fail(plan, RESTORE_STEP_CREDS, r, 9);
    }
    return 0;
}
