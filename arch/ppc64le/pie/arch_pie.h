/* ppc64le raw syscalls, mmap and the trap, for freestanding blobs (pie/). */
#ifndef STASIS_ARCH_PIE_H
#define STASIS_ARCH_PIE_H

#include "stasis_syscalls.h"

/* `trap` (tw 31,0,0): a program check the kernel reports as SIGTRAP
 * (arch/powerpc/kernel/traps.c, program_check_exception: TRAP_BRKPT). */
#define STASIS_PIE_TRAP() __asm__ volatile("trap" ::: "memory")

/* `sc` ABI: number in r0, arguments in r3..r8, result in r3. An error is
 * flagged by CR0.SO with a positive errno in r3; turn it into -errno like
 * every other arch. The kernel may clobber the volatile registers r0, r4..r12,
 * ctr, xer and cr0. */
static inline long stasis_syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
    register long r0 __asm__("r0") = nr;
    register long r3 __asm__("r3") = a1;
    register long r4 __asm__("r4") = a2;
    register long r5 __asm__("r5") = a3;
    register long r6 __asm__("r6") = a4;
    register long r7 __asm__("r7") = a5;
    register long r8 __asm__("r8") = a6;
    __asm__ volatile("sc\n\t"
                     "bns+ 1f\n\t"
                     "neg %1, %1\n"
                     "1:"
                     : "+r"(r0), "+r"(r3), "+r"(r4), "+r"(r5), "+r"(r6), "+r"(r7), "+r"(r8)
                     :
                     : "r9", "r10", "r11", "r12", "cr0", "ctr", "xer", "memory");
    return r3;
}

static inline long stasis_sys_mmap(unsigned long addr, unsigned long len, long prot, long flags, long fd,
                                   unsigned long off) {
    return stasis_syscall6(STASIS_NR_mmap, (long)addr, (long)len, prot, flags, fd, (long)off);
}

/* The thread pointer is restored with the register sets: nothing to do. */
static inline long stasis_set_tls(unsigned long tls) {
    (void)tls;
    return 0;
}

#endif
