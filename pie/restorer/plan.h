/*
 * The restore plan: everything the restorer blob needs, flat, written by the
 * engine into the restorer's own region of the task being restored. It holds
 * no pointer into engine memory: variable-length arrays are reached by byte
 * offsets from the start of the plan.
 *
 * Shared by the engine (C++) and the blob (freestanding C), which are built
 * for the same architecture, so `unsigned long` agrees on both sides.
 */
#ifndef STASIS_PIE_RESTORER_PLAN_H
#define STASIS_PIE_RESTORER_PLAN_H

#include <stdint.h>

#include "pie/parasite/parasite.h"

#define RESTORE_PLAN_MAGIC 0x52535452u /* "RSTR" */
#define RESTORE_PLAN_VERSION 1
#define RESTORE_MAX_WORKERS 16
#define RESTORE_SIGINFO_SIZE 128
#define RESTORE_MAX_RLIMITS 16
#define RESTORE_MAX_GROUPS 64
#define RESTORE_MAX_AUXV 128 /* unsigned longs */
#define RESTORE_MAIN_STACK_SIZE (64 * 1024)
#define RESTORE_MAX_PREMAP 16 /* premap areas: this task's and its ancestors' */
#define RESTORE_THREAD_STACK_SIZE (16 * 1024)

/* What a cloned restorer thread does (restore_start.kind). */
#define RESTORE_START_WORKER 1
#define RESTORE_START_THREAD 2

/* The first member of every structure handed to a cloned restorer thread. */
struct restore_start {
    uint64_t plan_addr;
    uint32_t kind;
    uint32_t index;
};

/* restore_vma.flags */
#define RESTORE_VMA_FILL 0x1     /* page data follows in fill jobs: map writable first */
#define RESTORE_VMA_SYSV_SHM 0x2 /* shmat(shmid) at start */
#define RESTORE_VMA_LOCKED 0x4   /* mlock after filling */
#define RESTORE_VMA_PREMAPPED 0x8 /* already mapped and filled at premap_addr: mremap it into place */
#define RESTORE_VMA_LAZY 0x10     /* registered with the userfaultfd: `stasis lazy-pages` fills it */
#define RESTORE_VMA_UFFD_FILL 0x20 /* set by the restorer: filled by UFFDIO_COPY */
#define RESTORE_VMA_ACCOUNTED 0x40 /* the process had it commit-accounted ("ac" in VmFlags) */
#define RESTORE_VMA_PROTECTED 0x80 /* set by the restorer: at its final protection before the fill */

/* The first bytes of the message a restorer sends `stasis lazy-pages` with
 * its userfaultfd (SCM_RIGHTS). */
#define RESTORE_LAZY_MAGIC 0x595a414cu /* "LAZY" */
struct restore_lazy_hello {
    uint32_t magic;
    int32_t pid;
};

struct restore_vma {
    uint64_t start;
    uint64_t end;
    uint64_t pgoff;     /* file offset in bytes */
    uint32_t prot;      /* final PROT_* */
    uint32_t map_flags; /* MAP_PRIVATE|MAP_SHARED|MAP_ANONYMOUS|MAP_GROWSDOWN|MAP_NORESERVE */
    int32_t fd;         /* service fd of the backing file, -1 for anonymous */
    uint32_t flags;     /* RESTORE_VMA_* */
    uint64_t madv;      /* bit n set: madvise(start, len, n) after filling */
    int32_t shmid;
    uint32_t pad;
    uint64_t premap_addr;
};

/* A kernel iovec (struct iovec) of this architecture. */
struct restore_iovec {
    unsigned long base;
    unsigned long len;
};

/* One preadv(2) job: `nr_iov` iovecs starting at `first_iov`, read from the
 * pages image `fd` (this checkpoint's or a parent's) at `file_off`, back to
 * back. */
struct restore_fill {
    uint64_t file_off;
    uint32_t first_iov;
    uint32_t nr_iov;
    uint64_t bytes;
    int32_t fd;
    uint32_t pad;
};

/* A kernel-provided mapping ([vdso], [vvar], [vvar_vclock] ...) of the
 * restoring process, moved to where the dumped process had it. */
struct restore_special {
    uint64_t cur_start;
    uint64_t len;
    uint64_t target;
};

struct restore_timer {
    int32_t id;
    int32_t clock_id;
    int32_t sigev_notify;
    int32_t sigev_signo;
    uint64_t sigev_value;
    int32_t notify_tid;
    int32_t overrun;
    struct parasite_timespec interval;
    struct parasite_timespec value;
};

struct restore_creds {
    uint32_t uid, euid, suid, fsuid;
    uint32_t gid, egid, sgid, fsgid;
    uint32_t ngroups;
    uint32_t groups[RESTORE_MAX_GROUPS];
    uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
    uint32_t securebits;
    uint32_t no_new_privs;
    uint32_t last_cap; /* highest capability number the kernel knows */
};

struct restore_thread {
    struct restore_start start;
    int32_t tid;
    int32_t is_main;
    uint64_t stack_top; /* restorer stack of this thread (in the region) */
    uint64_t altstack_sp;
    uint64_t altstack_size;
    int32_t altstack_flags;
    int32_t pending_count; /* thread-directed pending signals */
    uint64_t pending_off;  /* offset of pending_count siginfos (RESTORE_SIGINFO_SIZE each) */
    uint64_t tid_address;
    uint64_t robust_list;
    uint64_t robust_list_len;
    uint64_t rseq_ptr;
    uint32_t rseq_len;
    uint32_t rseq_sig;
    char comm[16];
    int32_t nice;
    int32_t sched_policy;
    int32_t sched_priority;
    uint32_t affinity_len;
    uint64_t affinity[16]; /* cpu mask, up to 1024 CPUs */
    uint64_t timer_slack_ns;
    uint64_t tls; /* set by the restorer where ptrace cannot (arch::tls_set_by_restorer) */
    volatile int32_t state; /* 0 not started, 1 ready, <0 -errno */
    int32_t failed_step;
    uint64_t clone_args[11]; /* struct clone_args for clone3 */
    int32_t set_tid[1];
    int32_t pad;
};

/* A fill worker's bookkeeping. */
struct restore_worker {
    struct restore_start start;
    uint64_t stack_top;
    volatile int32_t tid_futex; /* cleared by the kernel when it exits (CLONE_CHILD_CLEARTID) */
    int32_t result;
    uint64_t clone_args[11];
};

struct restore_plan {
    uint32_t magic;
    uint32_t version;
    int64_t result;      /* 0, or -errno of the first failure */
    int64_t failed_step; /* RESTORE_STEP_* of that failure */
    uint64_t failed_addr;

    /* The restorer's own region: never unmapped by it. */
    uint64_t region_start;
    uint64_t region_end;
    /* Unmap everything from 0 to here except the region, the premap area and
     * the specials. */
    uint64_t unmap_end;
    /* Premap areas (this task's and those inherited from ancestors): kept
     * while memory is built, unmapped once the VMAs are moved out. */
    uint32_t nr_premap;
    uint32_t pad_premap;
    uint64_t premap[RESTORE_MAX_PREMAP][2];
    uint64_t page_size;

    /* Memory. */
    int32_t lazy_sock; /* connected to `stasis lazy-pages` (-1: no lazy restore) */
    uint32_t nr_workers;
    uint32_t nr_vmas;
    uint32_t nr_fills;
    uint32_t nr_iovs;
    uint32_t nr_specials;
    uint64_t vmas_off;
    uint64_t fills_off;
    uint64_t iovs_off;
    uint64_t specials_off;
    uint64_t scratch_start; /* free room inside the region to move specials through */
    uint64_t scratch_len;
    volatile int32_t next_fill; /* work queue index shared by fill workers */
    int32_t fill_error;
    struct restore_worker workers[RESTORE_MAX_WORKERS];

    /* Lazy restore: this architecture's userfaultfd flags, ioctl numbers
     * and wanted features (from the engine's headers). */
    uint64_t uffd_flags;
    uint64_t uffdio_api;
    uint64_t uffdio_register;
    uint64_t uffd_features;

    /* Filling private anonymous memory (restore_fill): the restorer's own
     * userfaultfd installs whole ranges of pages with UFFDIO_COPY from a
     * bounce buffer per filling thread, instead of a page fault per page
     * of a preadv straight into the memory. */
    uint64_t fill_uffd_flags; /* userfaultfd(2) flags: O_CLOEXEC | UFFD_USER_MODE_ONLY */
    uint64_t uffdio_copy;
    uint64_t fill_buf_len;    /* bytes of bounce buffer per filling thread */
    int32_t fill_uffd;        /* set by the restorer: -1 when filling by preadv */
    uint32_t pad_fill;
    uint64_t fill_bufs;       /* set by the restorer: the bounce buffers */

    /* The restoring process's own rseq registration, dropped first. */
    uint64_t self_rseq_ptr;
    uint32_t self_rseq_len;
    uint32_t self_rseq_sig;

    /* Process-wide state. */
    struct parasite_sigaction sigactions[PARASITE_MAX_SIGNALS];
    struct parasite_itimer itimers[3];
    uint32_t nr_timers;
    uint32_t nr_rlimits;
    uint64_t timers_off;
    uint64_t rlimits[RESTORE_MAX_RLIMITS][2]; /* cur, max per resource 0..nr_rlimits-1 */
    struct restore_creds creds;
    uint32_t personality;
    uint32_t umask;
    int32_t pdeath_sig;
    int32_t dumpable;
    int32_t child_subreaper;
    int32_t thp_disabled;
    int32_t shared_pending_count;
    int32_t exe_fd;
    uint64_t shared_pending_off;
    /* struct prctl_mm_map fields; auxv follows in `auxv`. */
    uint64_t mm_start_code, mm_end_code, mm_start_data, mm_end_data;
    uint64_t mm_start_brk, mm_brk, mm_start_stack;
    uint64_t mm_arg_start, mm_arg_end, mm_env_start, mm_env_end;
    uint32_t auxv_words;
    uint32_t pad2;
    unsigned long auxv[RESTORE_MAX_AUXV];

    /* Service fds the restorer closes when memory is in place. */
    uint32_t nr_close_fds;
    uint32_t pad3;
    uint64_t close_fds_off;

    /* Threads: [0] is the main thread. */
    uint32_t nr_threads;
    volatile int32_t threads_ready;
    uint64_t threads_off;
    volatile int32_t never; /* threads wait on this forever; the engine takes over */
    int32_t pad4;
};

/* Where a failure happened (restore_plan.failed_step). */
enum restore_step {
    RESTORE_STEP_NONE = 0,
    RESTORE_STEP_SIGMASK,
    RESTORE_STEP_RSEQ_UNREGISTER,
    RESTORE_STEP_UNMAP,
    RESTORE_STEP_SPECIALS,
    RESTORE_STEP_MAP,
    RESTORE_STEP_FILL,
    RESTORE_STEP_PROTECT,
    RESTORE_STEP_MADVISE,
    RESTORE_STEP_CLOSE,
    RESTORE_STEP_SIGACTION,
    RESTORE_STEP_ITIMER,
    RESTORE_STEP_TIMER,
    RESTORE_STEP_RLIMIT,
    RESTORE_STEP_PRCTL,
    RESTORE_STEP_MM,
    RESTORE_STEP_THREAD_CLONE,
    RESTORE_STEP_THREAD_STATE,
    RESTORE_STEP_SIGQUEUE,
    RESTORE_STEP_CREDS,
    RESTORE_STEP_WORKER,
    RESTORE_STEP_LAZY,
};

#endif
