/*
 * The parasite: runs inside a frozen task to read what the kernel tells only
 * the task itself (sigactions, interval timers, POSIX timer state, the
 * alternate signal stack, the tid address, a few prctl flags). It writes
 * nothing but its own argument block and makes only read-only syscalls, so
 * curing it leaves no trace.
 */
#include "pie/parasite/parasite.h"

#include "arch_pie.h"
#include "stasis_syscalls.h"

/* prctl options (stable kernel ABI). */
#define PR_GET_PDEATHSIG 2
#define PR_GET_DUMPABLE 3
#define PR_GET_SECUREBITS 27
#define PR_GET_CHILD_SUBREAPER 37
#define PR_GET_TID_ADDRESS 40
#define PR_GET_THP_DISABLE 42
#define PR_GET_TIMERSLACK 30

#define SYS(nr, a, b, c, d, e, f) stasis_syscall6(STASIS_NR_##nr, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

static long task_state(struct parasite_args *args) {
    struct parasite_task_state *t = &args->u.task;
    for (int sig = 1; sig <= PARASITE_MAX_SIGNALS; ++sig) {
        /* rt_sigaction(sig, NULL, &old, sizeof(sigset)) */
        long r = SYS(rt_sigaction, sig, 0, &t->sigactions[sig - 1], 8, 0, 0);
        t->sigaction_errors[sig - 1] = (int32_t)r;
    }
    for (int which = 0; which < 3; ++which) {
        long r = SYS(getitimer, which, &t->itimers[which], 0, 0, 0, 0);
        if (r < 0) {
            args->failed_step = 100 + which;
            return r;
        }
    }
    int value = 0;
    t->securebits = SYS(prctl, PR_GET_SECUREBITS, 0, 0, 0, 0, 0);
    long r = SYS(prctl, PR_GET_PDEATHSIG, &value, 0, 0, 0, 0);
    t->pdeath_sig = r < 0 ? r : value;
    t->dumpable = SYS(prctl, PR_GET_DUMPABLE, 0, 0, 0, 0, 0);
    r = SYS(prctl, PR_GET_CHILD_SUBREAPER, &value, 0, 0, 0, 0);
    t->child_subreaper = r < 0 ? r : value;
    t->thp_disabled = SYS(prctl, PR_GET_THP_DISABLE, 0, 0, 0, 0, 0);
    t->brk = (unsigned long)SYS(brk, 0, 0, 0, 0, 0, 0);
    return 0;
}

static long thread_state(struct parasite_args *args) {
    struct parasite_thread_state *t = &args->u.thread;
    struct {
        unsigned long sp;
        int flags;
        unsigned long size;
    } ss;
    long r = SYS(sigaltstack, 0, &ss, 0, 0, 0, 0);
    if (r < 0) {
        args->failed_step = 200;
        return r;
    }
    t->altstack_sp = ss.sp;
    t->altstack_flags = ss.flags;
    t->altstack_size = ss.size;
    unsigned long addr = 0;
    r = SYS(prctl, PR_GET_TID_ADDRESS, &addr, 0, 0, 0, 0);
    if (r < 0) {
        args->failed_step = 201;
        return r;
    }
    t->tid_address = addr;
    t->tid = SYS(gettid, 0, 0, 0, 0, 0, 0);
    t->timer_slack_ns = SYS(prctl, PR_GET_TIMERSLACK, 0, 0, 0, 0, 0);
    return 0;
}

static long posix_timers(struct parasite_args *args) {
    struct parasite_timers *t = &args->u.timers;
    if (t->count < 0 || t->count > PARASITE_MAX_TIMERS) return -22;
    for (int i = 0; i < t->count; ++i) {
        struct parasite_timespec spec[2]; /* struct itimerspec: interval, value */
        long r = SYS(timer_gettime, t->ids[i], spec, 0, 0, 0, 0);
        if (r < 0) {
            args->failed_step = 300 + i;
            return r;
        }
        t->interval[i] = spec[0];
        t->value[i] = spec[1];
        r = SYS(timer_getoverrun, t->ids[i], 0, 0, 0, 0, 0);
        t->overrun[i] = (int32_t)r;
    }
    return 0;
}

__attribute__((visibility("default"), used)) long pie_main(struct parasite_args *args) {
    args->failed_step = 0;
    if (args->magic != PARASITE_MAGIC) {
        args->result = -22;
        return 0;
    }
    switch (args->cmd) {
        case PARASITE_CMD_TASK_STATE: args->result = task_state(args); break;
        case PARASITE_CMD_THREAD_STATE: args->result = thread_state(args); break;
        case PARASITE_CMD_POSIX_TIMERS: args->result = posix_timers(args); break;
        default: args->result = -22; break;
    }
    return 0;
}
