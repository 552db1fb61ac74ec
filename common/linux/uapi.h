/* Kernel ABI that Debian 12's headers (linux-libc-dev 6.1, glibc 2.36) lack.
 *
 * The ONE place for such constants and structs: include this header instead
 * of spelling a number in engine code. Every constant is guarded with #ifndef
 * so a newer system header wins, and carries the kernel release that
 * introduced it; whether the RUNNING kernel has it is decided at run time
 * (see common/check/), never from these headers or a version number.
 *
 * Structs are defined under a stasis_ prefix (kernel field names kept) so
 * they never collide with a newer system header's definition; their sizes are
 * checked below against the kernel's published sizes.
 *
 * The header is plain C as well as C++ and needs no libc when compiled
 * freestanding, so pie/ (parasite, restorer) can use the same definitions.
 * Values are identical on all five stasis architectures (x86_64, aarch64,
 * arm, ppc64le, s390x); where an architecture would differ it is said.
 *
 * To add a constant: guard it, cite the kernel version, keep it near its
 * relatives. */
#ifndef STASIS_COMMON_LINUX_UAPI_H
#define STASIS_COMMON_LINUX_UAPI_H

#include <stdint.h>

#include <linux/ioctl.h>
#include <linux/userfaultfd.h>

#if defined(__STDC_HOSTED__) && __STDC_HOSTED__
/* glibc first: several of its headers define the same names as enumerators
 * plus macros (PTRACE_*), so they must be seen before our #ifndef checks. */
#include <elf.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#else
#include <linux/auxvec.h>
#include <linux/elf.h>
#include <linux/fcntl.h>
#include <linux/mman.h>
#include <linux/prctl.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#endif

#ifdef __cplusplus
#define STASIS_UAPI_SIZE_CHECK(type, size) static_assert(sizeof(type) == (size), #type " size")
#else
#define STASIS_UAPI_SIZE_CHECK(type, size) _Static_assert(sizeof(type) == (size), #type " size")
#endif

/* ---- clone3 (5.3) ------------------------------------------------------- */

/* struct clone_args as of 5.7 (CLONE_ARGS_SIZE_VER2). set_tid/set_tid_size
 * came in 5.5 (VER1), cgroup in 5.7. Pass the size you filled: the kernel
 * accepts any published size and treats missing fields as zero. */
struct stasis_clone_args {
    uint64_t flags;
    uint64_t pidfd;
    uint64_t child_tid;
    uint64_t parent_tid;
    uint64_t exit_signal;
    uint64_t stack;
    uint64_t stack_size;
    uint64_t tls;
    uint64_t set_tid;
    uint64_t set_tid_size;
    uint64_t cgroup;
};
STASIS_UAPI_SIZE_CHECK(struct stasis_clone_args, 88);

#ifndef CLONE_ARGS_SIZE_VER0
#define CLONE_ARGS_SIZE_VER0 64 /* 5.3 */
#endif
#ifndef CLONE_ARGS_SIZE_VER1
#define CLONE_ARGS_SIZE_VER1 80 /* 5.5: set_tid, set_tid_size */
#endif
#ifndef CLONE_ARGS_SIZE_VER2
#define CLONE_ARGS_SIZE_VER2 88 /* 5.7: cgroup */
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000 /* 5.2 */
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080 /* 5.6, unshare()/clone3() only */
#endif
#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL /* 5.5, clone3() only */
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL /* 5.7, clone3() only */
#endif

/* ---- file handles ---------------------------------------------------------- */

/* name_to_handle_at(): the handle fsnotify shows in fdinfo (exportfs_encode_fid),
 * also on file systems that cannot decode it. */
#ifndef AT_HANDLE_FID
#define AT_HANDLE_FID 0x200 /* 6.5 */
#endif

/* ---- pidfd ---------------------------------------------------------------- */

#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK /* 5.10 */
#endif
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL /* 6.9: a pidfd for one thread, not the group */
#endif
#ifndef PIDFD_SIGNAL_THREAD
#define PIDFD_SIGNAL_THREAD (1UL << 0)        /* 6.9, pidfd_send_signal() scope */
#define PIDFD_SIGNAL_THREAD_GROUP (1UL << 1)  /* 6.9 */
#define PIDFD_SIGNAL_PROCESS_GROUP (1UL << 2) /* 6.9 */
#endif

/* ---- ptrace --------------------------------------------------------------- */

#ifndef PTRACE_GET_RSEQ_CONFIGURATION
#define PTRACE_GET_RSEQ_CONFIGURATION 0x420f /* 5.13 */
#endif
#ifndef PTRACE_SET_SYSCALL_USER_DISPATCH_CONFIG
#define PTRACE_SET_SYSCALL_USER_DISPATCH_CONFIG 0x4210 /* 6.4 */
#endif
#ifndef PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG
#define PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG 0x4211 /* 6.4 */
#endif
#ifndef PTRACE_SET_SYSCALL_INFO
#define PTRACE_SET_SYSCALL_INFO 0x4212 /* 6.16 */
#endif

/* What PTRACE_GET_RSEQ_CONFIGURATION fills in (5.13). The call returns the
 * number of bytes the kernel wrote. */
struct stasis_ptrace_rseq_configuration {
    uint64_t rseq_abi_pointer;
    uint32_t rseq_abi_size;
    uint32_t signature;
    uint32_t flags;
    uint32_t pad;
};
STASIS_UAPI_SIZE_CHECK(struct stasis_ptrace_rseq_configuration, 24);

/* PTRACE_{GET,SET}_SYSCALL_USER_DISPATCH_CONFIG argument (6.4). */
struct stasis_ptrace_sud_config {
    uint64_t mode;
    uint64_t selector;
    uint64_t offset;
    uint64_t len;
};
STASIS_UAPI_SIZE_CHECK(struct stasis_ptrace_sud_config, 32);

/* ---- regset note types newer than glibc 2.36's <elf.h> -------------------- */

#ifndef NT_X86_SHSTK
#define NT_X86_SHSTK 0x204 /* 6.6: x86 user shadow stack pointer */
#endif
#ifndef NT_X86_XSAVE_LAYOUT
#define NT_X86_XSAVE_LAYOUT 0x205 /* ~6.11, core-dump note only (XSAVE layout), not a regset */
#endif
#ifndef NT_PPC_DEXCR
#define NT_PPC_DEXCR 0x111 /* 6.5 */
#endif
#ifndef NT_PPC_HASHKEYR
#define NT_PPC_HASHKEYR 0x112 /* 6.5 */
#endif
#ifndef NT_ARM_SSVE
#define NT_ARM_SSVE 0x40b /* 5.19: streaming-mode SVE (SME) */
#endif
#ifndef NT_ARM_ZA
#define NT_ARM_ZA 0x40c /* 5.19: SME ZA array */
#endif
#ifndef NT_ARM_ZT
#define NT_ARM_ZT 0x40d /* 6.3: SME2 ZT0 */
#endif
#ifndef NT_ARM_FPMR
#define NT_ARM_FPMR 0x40e /* 6.9: floating-point mode register */
#endif
#ifndef NT_ARM_POE
#define NT_ARM_POE 0x40f /* 6.12: permission overlay (POR_EL0) */
#endif
#ifndef NT_ARM_GCS
#define NT_ARM_GCS 0x410 /* 6.13: guarded control stack */
#endif

/* ---- restartable sequences (4.18) ------------------------------------------ */

/* linux/rseq.h defines these as enumerators, which #ifndef cannot see: the
 * stasis_ names avoid the clash. */
#define STASIS_RSEQ_FLAG_UNREGISTER (1 << 0)
#define STASIS_RSEQ_CS_FLAG_NO_RESTART_ON_PREEMPT (1U << 0)
#define STASIS_RSEQ_CS_FLAG_NO_RESTART_ON_SIGNAL (1U << 1)
#define STASIS_RSEQ_CS_FLAG_NO_RESTART_ON_MIGRATE (1U << 2)
/* The size every kernel accepts for sys_rseq (the original 4.18 layout);
 * larger, feature-sized registrations need AT_RSEQ_FEATURE_SIZE (6.3). */
#define STASIS_RSEQ_ORIG_SIZE 32

/* struct rseq with the 6.3 fields (node_id, mm_cid). The registered area is
 * 32-byte aligned; its size is what the task registered (rseq_abi_size). */
struct stasis_rseq {
    uint32_t cpu_id_start;
    uint32_t cpu_id;
    uint64_t rseq_cs;
    uint32_t flags;
    uint32_t node_id; /* 6.3 */
    uint32_t mm_cid;  /* 6.3 */
    uint32_t padding_;
} __attribute__((aligned(32)));
STASIS_UAPI_SIZE_CHECK(struct stasis_rseq, 32);

struct stasis_rseq_cs {
    uint32_t version;
    uint32_t flags;
    uint64_t start_ip;
    uint64_t post_commit_offset;
    uint64_t abort_ip;
} __attribute__((aligned(32)));
STASIS_UAPI_SIZE_CHECK(struct stasis_rseq_cs, 32);

#ifndef AT_RSEQ_FEATURE_SIZE
#define AT_RSEQ_FEATURE_SIZE 27 /* 6.3: rseq feature size the kernel supports */
#endif
#ifndef AT_RSEQ_ALIGN
#define AT_RSEQ_ALIGN 28 /* 6.3: required alignment of the rseq area */
#endif

/* ---- prctl ------------------------------------------------------------------ */

#ifndef PR_SET_MM
#define PR_SET_MM 35 /* 3.3 */
#endif
#ifndef PR_SET_MM_MAP
#define PR_SET_MM_MAP 14      /* 3.18: set every mm field in one call */
#define PR_SET_MM_MAP_SIZE 15 /* 3.18: query sizeof(struct prctl_mm_map) */
#endif

/* PR_SET_MM_MAP argument (3.18). Pointers are 64-bit fields on every arch;
 * the kernel compares the caller's size with PR_SET_MM_MAP_SIZE's answer. */
struct stasis_prctl_mm_map {
    uint64_t start_code;
    uint64_t end_code;
    uint64_t start_data;
    uint64_t end_data;
    uint64_t start_brk;
    uint64_t brk;
    uint64_t start_stack;
    uint64_t arg_start;
    uint64_t arg_end;
    uint64_t env_start;
    uint64_t env_end;
    uint64_t auxv; /* user pointer to the saved auxv */
    uint32_t auxv_size;
    uint32_t exe_fd;
};
STASIS_UAPI_SIZE_CHECK(struct stasis_prctl_mm_map, 104);

#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65                       /* 6.3: memory-deny-write-execute */
#define PR_GET_MDWE 66                       /* 6.3 */
#define PR_MDWE_REFUSE_EXEC_GAIN (1UL << 0)  /* 6.3 */
#endif
#ifndef PR_MDWE_NO_INHERIT
#define PR_MDWE_NO_INHERIT (1UL << 1) /* 6.6 */
#endif
#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE 67 /* 6.4: KSM for the whole process */
#define PR_GET_MEMORY_MERGE 68 /* 6.4 */
#endif
#ifndef PR_GET_SHADOW_STACK_STATUS
#define PR_GET_SHADOW_STACK_STATUS 74  /* 6.13 (arm64 GCS; x86 uses arch_prctl) */
#define PR_SET_SHADOW_STACK_STATUS 75  /* 6.13 */
#define PR_LOCK_SHADOW_STACK_STATUS 76 /* 6.13 */
#define PR_SHADOW_STACK_ENABLE (1UL << 0)
#define PR_SHADOW_STACK_WRITE (1UL << 1)
#define PR_SHADOW_STACK_PUSH (1UL << 2)
#endif
#ifndef PR_TIMER_CREATE_RESTORE_IDS
/* 6.15: while ON, timer_create() takes the wanted timer ID from *timerid, so
 * a restorer can recreate POSIX timers with their original IDs. */
#define PR_TIMER_CREATE_RESTORE_IDS 77
#define PR_TIMER_CREATE_RESTORE_IDS_OFF 0
#define PR_TIMER_CREATE_RESTORE_IDS_ON 1
#define PR_TIMER_CREATE_RESTORE_IDS_GET 2
#endif
#ifndef PR_FUTEX_HASH
#define PR_FUTEX_HASH 78 /* 6.16: private futex hash size */
#define PR_FUTEX_HASH_SET_SLOTS 1
#define PR_FUTEX_HASH_GET_SLOTS 2
#endif

/* ---- memory: mmap, madvise, memfd ------------------------------------------ */

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000 /* 4.17 (same value on all five arches) */
#endif
#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08 /* 6.11: contents may be dropped (vgetrandom state) */
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22  /* 5.14 */
#define MADV_POPULATE_WRITE 23 /* 5.14 */
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* 6.13: guard regions inside a VMA */
#define MADV_GUARD_REMOVE 103  /* 6.13 */
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U       /* 3.17 */
#define MFD_ALLOW_SEALING 0x0002U /* 3.17 */
#define MFD_HUGETLB 0x0004U       /* 4.14 */
#endif
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U /* 6.3: not executable, sealed so */
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* 6.3: executable (vm.memfd_noexec may refuse) */
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020 /* 6.3 */
#endif

/* /proc/PID/pagemap entries: one 64-bit word per page. Not in any UAPI
 * header; documented in Documentation/admin-guide/mm/pagemap.rst. */
#define STASIS_PM_PFN_MASK ((1ULL << 55) - 1) /* zero unless CAP_SYS_ADMIN (4.2) */
#define STASIS_PM_SOFT_DIRTY (1ULL << 55)     /* 3.11, needs CONFIG_MEM_SOFT_DIRTY */
#define STASIS_PM_MMAP_EXCLUSIVE (1ULL << 56) /* 4.2 */
#define STASIS_PM_UFFD_WP (1ULL << 57)        /* 5.19 */
#define STASIS_PM_GUARD_REGION (1ULL << 58)   /* 6.15 */
#define STASIS_PM_FILE (1ULL << 61)           /* file page or shared anon */
#define STASIS_PM_SWAP (1ULL << 62)
#define STASIS_PM_PRESENT (1ULL << 63)
/* Writing this to /proc/PID/clear_refs clears the soft-dirty bits (3.11). */
#define STASIS_CLEAR_REFS_SOFT_DIRTY "4"

/* ---- PAGEMAP_SCAN ioctl on /proc/PID/pagemap (6.7) ------------------------ */

struct stasis_page_region {
    uint64_t start;
    uint64_t end; /* exclusive */
    uint64_t categories;
};
STASIS_UAPI_SIZE_CHECK(struct stasis_page_region, 24);

struct stasis_pm_scan_arg {
    uint64_t size;
    uint64_t flags;
    uint64_t start;
    uint64_t end;
    uint64_t walk_end; /* written by the kernel: where the walk stopped */
    uint64_t vec;      /* user pointer to struct stasis_page_region[vec_len] */
    uint64_t vec_len;
    uint64_t max_pages;
    uint64_t category_inverted;
    uint64_t category_mask;
    uint64_t category_anyof_mask;
    uint64_t return_mask;
};
STASIS_UAPI_SIZE_CHECK(struct stasis_pm_scan_arg, 96);

#ifndef PAGEMAP_SCAN
#define PAGEMAP_SCAN _IOWR('f', 16, struct stasis_pm_scan_arg)
#endif
#ifndef PAGE_IS_WPALLOWED
#define PAGE_IS_WPALLOWED (1 << 0) /* 6.7 */
#define PAGE_IS_WRITTEN (1 << 1)   /* 6.7: written since uffd-wp was armed */
#define PAGE_IS_FILE (1 << 2)      /* 6.7 */
#define PAGE_IS_PRESENT (1 << 3)   /* 6.7 */
#define PAGE_IS_SWAPPED (1 << 4)   /* 6.7 */
#define PAGE_IS_PFNZERO (1 << 5)   /* 6.7 */
#define PAGE_IS_HUGE (1 << 6)      /* 6.7 */
#define PAGE_IS_SOFT_DIRTY (1 << 7) /* 6.7 */
#endif
#ifndef PAGE_IS_GUARD
#define PAGE_IS_GUARD (1 << 8) /* 6.15 */
#endif
#ifndef PM_SCAN_WP_MATCHING
#define PM_SCAN_WP_MATCHING (1 << 0)   /* 6.7: write-protect what matched */
#define PM_SCAN_CHECK_WPASYNC (1 << 1) /* 6.7: fail on a range without async uffd-wp */
#endif

/* ---- PROCMAP_QUERY ioctl on /proc/PID/maps (6.11) -------------------------- */

struct stasis_procmap_query {
    uint64_t size;
    uint64_t query_flags;
    uint64_t query_addr;
    uint64_t vma_start;
    uint64_t vma_end;
    uint64_t vma_flags;
    uint64_t vma_page_size;
    uint64_t vma_offset;
    uint64_t inode;
    uint32_t dev_major;
    uint32_t dev_minor;
    uint32_t vma_name_size; /* in/out */
    uint32_t build_id_size; /* in/out, 6.11 */
    uint64_t vma_name_addr;
    uint64_t build_id_addr;
};
STASIS_UAPI_SIZE_CHECK(struct stasis_procmap_query, 104);

#ifndef PROCMAP_QUERY
#define PROCMAP_QUERY _IOWR('f', 17, struct stasis_procmap_query)
#endif
/* enum procmap_query_flags in linux/fs.h; enumerators, hence the prefix. */
#define STASIS_PROCMAP_QUERY_VMA_READABLE 0x01
#define STASIS_PROCMAP_QUERY_VMA_WRITABLE 0x02
#define STASIS_PROCMAP_QUERY_VMA_EXECUTABLE 0x04
#define STASIS_PROCMAP_QUERY_VMA_SHARED 0x08
#define STASIS_PROCMAP_QUERY_COVERING_OR_NEXT_VMA 0x10
#define STASIS_PROCMAP_QUERY_FILE_BACKED_VMA 0x20

/* ---- userfaultfd ----------------------------------------------------------- */

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1 /* 5.11: userfaultfd() flag, faults from user mode only */
#endif
#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC 0xAA
#define USERFAULTFD_IOC_NEW _IO(USERFAULTFD_IOC, 0x00) /* 6.1: /dev/userfaultfd */
#endif
#ifndef UFFD_FEATURE_WP_HUGETLBFS_SHMEM
#define UFFD_FEATURE_WP_HUGETLBFS_SHMEM (1 << 12) /* 5.19 */
#endif
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13) /* 6.4: wp also marks empty ptes */
#endif
#ifndef UFFD_FEATURE_POISON
#define UFFD_FEATURE_POISON (1 << 14) /* 6.6 */
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
/* 6.7: write faults on wp ranges are resolved by the kernel itself (no
 * message); PAGEMAP_SCAN's PAGE_IS_WRITTEN then reports the written pages. */
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
#ifndef UFFD_FEATURE_MOVE
#define UFFD_FEATURE_MOVE (1 << 16) /* 6.8 */
#endif

#ifndef _UFFDIO_MOVE
#define _UFFDIO_MOVE (0x05) /* 6.8 */
#endif
#ifndef _UFFDIO_WRITEPROTECT
#define _UFFDIO_WRITEPROTECT (0x06) /* 5.7 */
#endif
#ifndef _UFFDIO_CONTINUE
#define _UFFDIO_CONTINUE (0x07) /* 5.13 */
#endif
#ifndef _UFFDIO_POISON
#define _UFFDIO_POISON (0x08) /* 6.6 */
#endif

struct stasis_uffdio_range {
    uint64_t start;
    uint64_t len;
};

/* UFFDIO_WRITEPROTECT argument (5.7). */
struct stasis_uffdio_writeprotect {
    struct stasis_uffdio_range range;
    uint64_t mode;
};
STASIS_UAPI_SIZE_CHECK(struct stasis_uffdio_writeprotect, 24);
#ifndef UFFDIO_WRITEPROTECT_MODE_WP
#define UFFDIO_WRITEPROTECT_MODE_WP ((uint64_t)1 << 0)
#define UFFDIO_WRITEPROTECT_MODE_DONTWAKE ((uint64_t)1 << 1)
#endif
#ifndef UFFDIO_WRITEPROTECT
#define UFFDIO_WRITEPROTECT _IOWR(UFFDIO, _UFFDIO_WRITEPROTECT, struct stasis_uffdio_writeprotect)
#endif
#ifndef UFFDIO_REGISTER_MODE_MINOR
#define UFFDIO_REGISTER_MODE_MINOR ((uint64_t)1 << 2) /* 5.13 */
#endif
#ifndef UFFDIO_COPY_MODE_WP
#define UFFDIO_COPY_MODE_WP ((uint64_t)1 << 1) /* 5.7: map the copied page write-protected */
#endif

/* UFFDIO_POISON argument (6.6). */
struct stasis_uffdio_poison {
    struct stasis_uffdio_range range;
    uint64_t mode;
    int64_t updated;
};
STASIS_UAPI_SIZE_CHECK(struct stasis_uffdio_poison, 32);
#ifndef UFFDIO_POISON
#define UFFDIO_POISON _IOWR(UFFDIO, _UFFDIO_POISON, struct stasis_uffdio_poison)
#endif

/* UFFDIO_MOVE argument (6.8). */
struct stasis_uffdio_move {
    uint64_t dst;
    uint64_t src;
    uint64_t len;
    uint64_t mode;
    int64_t move; /* written by the kernel: bytes moved or -errno */
};
STASIS_UAPI_SIZE_CHECK(struct stasis_uffdio_move, 40);
#ifndef UFFDIO_MOVE
#define UFFDIO_MOVE _IOWR(UFFDIO, _UFFDIO_MOVE, struct stasis_uffdio_move)
#define UFFDIO_MOVE_MODE_DONTWAKE ((uint64_t)1 << 0)
#define UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES ((uint64_t)1 << 1)
#endif

#endif /* STASIS_COMMON_LINUX_UAPI_H */
