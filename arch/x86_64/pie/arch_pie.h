/* x86_64 raw syscalls, mmap and the trap, for freestanding blobs (pie/). */
#ifndef STASIS_ARCH_PIE_H
#define STASIS_ARCH_PIE_H

#include "stasis_syscalls.h"

#define STASIS_PIE_TRAP() __asm__ volatile("int3" ::: "memory")

static inline long stasis_syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
    long ret;
    register long r10 __asm__("r10") = a4;
    register long r8 __asm__("r8") = a5;
    register long r9 __asm__("r9") = a6;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
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
