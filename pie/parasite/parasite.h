/*
 * The parasite's command protocol: one plain-data argument block shared by
 * the engine (C++) and the blob (freestanding C). The engine writes `cmd`
 * and inputs, points the thread at pie_entry with the block's address, and
 * resumes it; the blob fills the outputs and stops with a trap.
 *
 * Layout note: the engine and the blob are built for the same architecture,
 * so `unsigned long` has the same size on both sides.
 */
#ifndef STASIS_PIE_PARASITE_H
#define STASIS_PIE_PARASITE_H

#include <stdint.h>

#define PARASITE_MAGIC 0x50415241u /* "PARA" */
#define PARASITE_MAX_SIGNALS 64
#define PARASITE_MAX_TIMERS 64

enum parasite_cmd {
    PARASITE_CMD_NONE = 0,
    PARASITE_CMD_TASK_STATE = 1,   /* process-wide state only the task can tell */
    PARASITE_CMD_THREAD_STATE = 2, /* per-thread state: run in each thread */
    PARASITE_CMD_POSIX_TIMERS = 3, /* timer_gettime/getoverrun of listed ids */
};

/* The kernel's sigset_t is an array of unsigned long: 64 bits aligned like
 * a long. On 32-bit arm a plain uint64_t would be 8-byte aligned and land 4
 * bytes after where the kernel puts sa_mask. A typedef may lower alignment. */
typedef uint64_t parasite_sigset __attribute__((aligned(sizeof(unsigned long))));

/* The kernel's struct sigaction for rt_sigaction(2): handler, flags,
 * restorer, mask on every architecture stasis supports (all define
 * SA_RESTORER). */
struct parasite_sigaction {
    unsigned long handler;
    unsigned long flags;
    unsigned long restorer;
    parasite_sigset mask;
};
#ifdef __cplusplus
static_assert(sizeof(struct parasite_sigaction) == 3 * sizeof(unsigned long) + 8,
              "struct parasite_sigaction must match the kernel's struct sigaction");
#else
_Static_assert(sizeof(struct parasite_sigaction) == 3 * sizeof(unsigned long) + 8,
               "struct parasite_sigaction must match the kernel's struct sigaction");
#endif

struct parasite_timeval {
    long sec;
    long usec;
};

struct parasite_itimer {
    struct parasite_timeval interval;
    struct parasite_timeval value;
};

struct parasite_timespec {
    long sec;
    long nsec;
};

struct parasite_task_state {
    struct parasite_sigaction sigactions[PARASITE_MAX_SIGNALS]; /* index = signo - 1 */
    int32_t sigaction_errors[PARASITE_MAX_SIGNALS];           /* -errno per signal (SIGKILL/SIGSTOP: 0, read fine) */
    struct parasite_itimer itimers[3];                        /* ITIMER_REAL, _VIRTUAL, _PROF */
    int64_t securebits;
    int64_t pdeath_sig;
    int64_t dumpable;
    int64_t child_subreaper;
    int64_t thp_disabled;
    unsigned long brk; /* brk(0): the current program break */
};

struct parasite_thread_state {
    unsigned long altstack_sp;
    int32_t altstack_flags;
    int32_t pad;
    unsigned long altstack_size;
    unsigned long tid_address;
    int64_t tid;
    int64_t timer_slack_ns; /* PR_GET_TIMERSLACK */
};

struct parasite_timers {
    int32_t count;
    int32_t ids[PARASITE_MAX_TIMERS];
    struct parasite_timespec interval[PARASITE_MAX_TIMERS];
    struct parasite_timespec value[PARASITE_MAX_TIMERS];
    int32_t overrun[PARASITE_MAX_TIMERS];
};

struct parasite_args {
    uint32_t magic;
    uint32_t cmd;
    int64_t result;      /* 0 or -errno of the first failing step */
    int64_t failed_step; /* which step failed (for the engine's error message) */
    union {
        struct parasite_task_state task;
        struct parasite_thread_state thread;
        struct parasite_timers timers;
    } u;
};

#endif
