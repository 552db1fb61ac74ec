/* Process-wide kernel state the task sets for itself. */
#include "pie/restorer/restorer.h"

#define SIGKILL_NR 9
#define SIGSTOP_NR 19 /* same number on every architecture stasis supports */

#define PR_SET_PDEATHSIG 1
#define PR_SET_DUMPABLE 4
#define PR_SET_NAME 15
#define PR_SET_MM 35
#define PR_SET_MM_MAP 14
#define PR_SET_CHILD_SUBREAPER 36
#define PR_SET_THP_DISABLE 41
#define PR_TIMER_CREATE_RESTORE_IDS 77 /* Linux 6.17 */

long restore_sigactions(struct restore_plan *plan) {
    for (int sig = 1; sig <= PARASITE_MAX_SIGNALS; ++sig) {
        if (sig == SIGKILL_NR || sig == SIGSTOP_NR) continue;
        long r = SYS4(rt_sigaction, sig, &plan->sigactions[sig - 1], 0, 8);
        if (is_err(r)) return restore_fail(plan, RESTORE_STEP_SIGACTION, r, (uint64_t)sig);
    }
    return 0;
}

long restore_itimers(struct restore_plan *plan) {
    for (int which = 0; which < 3; ++which) {
        struct parasite_itimer *t = &plan->itimers[which];
        if (!t->value.sec && !t->value.usec) continue;
        long r = SYS3(setitimer, which, t, 0);
        if (is_err(r)) return restore_fail(plan, RESTORE_STEP_ITIMER, r, (uint64_t)which);
    }
    return 0;
}

/* struct sigevent, as timer_create(2) reads it. */
struct k_sigevent {
    union {
        int i;
        void *p;
    } value;
    int signo;
    int notify;
    int tid;
    int pad[13];
};

static long create_timer_with_id(struct restore_timer *t, int explicit_ids) {
    struct k_sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.value.p = (void *)(unsigned long)t->sigev_value;
    sev.signo = t->sigev_signo;
    sev.notify = t->sigev_notify;
    sev.tid = t->notify_tid;
    int id = t->id;
    if (explicit_ids) {
        long r = SYS3(timer_create, t->clock_id, &sev, &id);
        if (is_err(r)) return r;
        return id == t->id ? 0 : -17;
    }
    /* Older kernels hand out increasing ids: create and delete until the
     * wanted one comes up (timers are restored in ascending id order). */
    for (;;) {
        long r = SYS3(timer_create, t->clock_id, &sev, &id);
        if (is_err(r)) return r;
        if (id == t->id) return 0;
        SYS1(timer_delete, id);
        if (id > t->id) return -17;
    }
}

long restore_posix_timers(struct restore_plan *plan) {
    if (!plan->nr_timers) return 0;
    struct restore_timer *timers = PLAN_ARRAY(plan, plan->timers_off, struct restore_timer);
    int explicit_ids = !is_err(SYS2(prctl, PR_TIMER_CREATE_RESTORE_IDS, 1));
    for (uint32_t i = 0; i < plan->nr_timers; ++i) {
        long r = create_timer_with_id(&timers[i], explicit_ids);
        if (r) return restore_fail(plan, RESTORE_STEP_TIMER, r, (uint64_t)timers[i].id);
    }
    if (explicit_ids) SYS2(prctl, PR_TIMER_CREATE_RESTORE_IDS, 0);
    for (uint32_t i = 0; i < plan->nr_timers; ++i) {
        struct parasite_timespec spec[2] = {timers[i].interval, timers[i].value};
        if (!spec[1].sec && !spec[1].nsec) continue;
        long r = SYS4(timer_settime, timers[i].id, 0, spec, 0);
        if (is_err(r)) return restore_fail(plan, RESTORE_STEP_TIMER, r, (uint64_t)timers[i].id);
    }
    return 0;
}

long restore_rlimits(struct restore_plan *plan) {
    for (uint32_t res = 0; res < plan->nr_rlimits && res < RESTORE_MAX_RLIMITS; ++res) {
        long r = SYS4(prlimit64, 0, res, plan->rlimits[res], 0);
        if (is_err(r)) return restore_fail(plan, RESTORE_STEP_RLIMIT, r, res);
    }
    return 0;
}

long restore_task_misc(struct restore_plan *plan) {
    long r = SYS1(personality, plan->personality);
    if (is_err(r)) return restore_fail(plan, RESTORE_STEP_PRCTL, r, 1);
    SYS1(umask, plan->umask);
    r = SYS2(prctl, PR_SET_CHILD_SUBREAPER, plan->child_subreaper);
    if (is_err(r)) return restore_fail(plan, RESTORE_STEP_PRCTL, r, 4);
    r = SYS2(prctl, PR_SET_THP_DISABLE, plan->thp_disabled);
    if (is_err(r)) return restore_fail(plan, RESTORE_STEP_PRCTL, r, 5);
    return 0;
}

/* struct prctl_mm_map: the auxv member is a pointer, so its size follows the
 * architecture (4 bytes on 32-bit arm), exactly as in the kernel's UAPI. */
struct k_prctl_mm_map {
    uint64_t start_code, end_code, start_data, end_data;
    uint64_t start_brk, brk, start_stack;
    uint64_t arg_start, arg_end, env_start, env_end;
    unsigned long *auxv;
    uint32_t auxv_size;
    uint32_t exe_fd;
};

/* What a credential change resets (commit_creds): the dumpable flag and
 * the parent-death signal. Set after the credentials. */
long restore_after_creds(struct restore_plan *plan) {
    long r = SYS2(prctl, PR_SET_PDEATHSIG, plan->pdeath_sig);
    if (is_err(r)) return restore_fail(plan, RESTORE_STEP_PRCTL, r, 2);
    r = SYS2(prctl, PR_SET_DUMPABLE, plan->dumpable);
    if (is_err(r)) return restore_fail(plan, RESTORE_STEP_PRCTL, r, 3);
    return 0;
}

long restore_mm_fields(struct restore_plan *plan) {
    struct k_prctl_mm_map m;
    memset(&m, 0, sizeof m);
    m.start_code = plan->mm_start_code;
    m.end_code = plan->mm_end_code;
    m.start_data = plan->mm_start_data;
    m.end_data = plan->mm_end_data;
    m.start_brk = plan->mm_start_brk;
    m.brk = plan->mm_brk;
    m.start_stack = plan->mm_start_stack;
    m.arg_start = plan->mm_arg_start;
    m.arg_end = plan->mm_arg_end;
    m.env_start = plan->mm_env_start;
    m.env_end = plan->mm_env_end;
    m.auxv = plan->auxv;
    m.auxv_size = plan->auxv_words * (uint32_t)sizeof(unsigned long);
    m.exe_fd = (uint32_t)plan->exe_fd;
    long r = SYS5(prctl, PR_SET_MM, PR_SET_MM_MAP, &m, sizeof m, 0);
    if (is_err(r)) return restore_fail(plan, RESTORE_STEP_MM, r, 0);
    return 0;
}

long restore_close_fds(struct restore_plan *plan) {
    int32_t *fds = PLAN_ARRAY(plan, plan->close_fds_off, int32_t);
    for (uint32_t i = 0; i < plan->nr_close_fds; ++i) {
        long r = SYS1(close, fds[i]);
        if (is_err(r)) return restore_fail(plan, RESTORE_STEP_CLOSE, r, (uint64_t)fds[i]);
    }
    return 0;
}

/* Children re-created as zombies exited during the restore (their SIGCHLD
 * was blocked since child_main): that SIGCHLD is an artifact, the original
 * was delivered before the dump. Drop it before queueing the saved ones. */
static void drain_sigchld(void) {
    uint64_t set = (uint64_t)1 << (17 - 1); /* SIGCHLD is 17 on every arch we build */
    long zero[2] = {0, 0};                   /* timespec: poll */
    unsigned char info[RESTORE_SIGINFO_SIZE];
    while (!is_err(SYS4(rt_sigtimedwait, &set, info, zero, 8))) {
    }
}

long restore_shared_pending(struct restore_plan *plan) {
    unsigned char *info = PLAN_ARRAY(plan, plan->shared_pending_off, unsigned char);
    long tgid = SYS0(getpid);
    drain_sigchld();
    for (int32_t i = 0; i < plan->shared_pending_count; ++i, info += RESTORE_SIGINFO_SIZE) {
        int sig = *(int32_t *)info; /* si_signo is the first member everywhere */
        long r = SYS3(rt_sigqueueinfo, tgid, sig, info);
        if (is_err(r)) return restore_fail(plan, RESTORE_STEP_SIGQUEUE, r, (uint64_t)sig);
    }
    return 0;
}
