/* s390x raw syscalls, mmap and the trap, for freestanding blobs (pie/). */
#ifndef STASIS_ARCH_PIE_H
#define STASIS_ARCH_PIE_H

#include "stasis_syscalls.h"

/* 0x0001 is the 2-byte breakpoint the kernel recognises in its illegal-
 * operation handler (arch/s390/kernel/traps.c, S390_BREAKPOINT_U16): a traced
 * task gets SIGTRAP (TRAP_BRKPT), an untraced one SIGILL. The engine always
 * traces the task it injects into. */
#define STASIS_PIE_TRAP() __asm__ volatile(".short 0x0001" ::: "memory")

/* `svc 0` with the number in r1 (the form that reaches every syscall number,
 * also those above 255), arguments in r2..r7, result in r2. The kernel
 * preserves every other register. */
static inline long stasis_syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
    register long r1 __asm__("r1") = nr;
    register long r2 __asm__("r2") = a1;
    register long r3 __asm__("r3") = a2;
    register long r4 __asm__("r4") = a3;
    register long r5 __asm__("r5") = a4;
    register long r6 __asm__("r6") = a5;
    register long r7 __asm__("r7") = a6;
    __asm__ volatile("svc 0"
                     : "+r"(r2)
                     : "r"(r1), "r"(r3), "r"(r4), "r"(r5), "r"(r6), "r"(r7)
                     : "memory");
    return r2;
}

/* s390x's mmap is the old_mmap calling convention: one pointer to the six
 * arguments in memory (arch/s390/kernel/syscall.c, struct s390_mmap_arg_struct;
 * the offset is in bytes). */
struct stasis_s390_mmap_args {
    unsigned long addr;
    unsigned long len;
    unsigned long prot;
    unsigned long flags;
    unsigned long fd;
    unsigned long offset;
};

static inline long stasis_sys_mmap(unsigned long addr, unsigned long len, long prot, long flags, long fd,
                                   unsigned long off) {
    struct stasis_s390_mmap_args a = {addr, len, (unsigned long)prot, (unsigned long)flags, (unsigned long)fd,
                                      off};
    return stasis_syscall6(STASIS_NR_mmap, (long)&a, 0, 0, 0, 0, 0);
}

/* The thread pointer is restored with the register sets: nothing to do. */
static inline long stasis_set_tls(unsigned long tls) {
    (void)tls;
    return 0;
}

#endif
