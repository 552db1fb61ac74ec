/* aarch64 raw syscalls, mmap and the trap, for freestanding blobs (pie/). */
#ifndef STASIS_ARCH_PIE_H
#define STASIS_ARCH_PIE_H

#include "stasis_syscalls.h"

/* `brk #0`: the kernel's brk handler finds no in-kernel hook for immediate 0
 * and sends SIGTRAP (TRAP_BRKPT) to the task. */
#define STASIS_PIE_TRAP() __asm__ volatile("brk #0" ::: "memory")

/* Linux aarch64 syscall ABI: number in x8, arguments in x0..x5, result in x0;
 * `svc #0` preserves every other general register. */
static inline long stasis_syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
    register long x8 __asm__("x8") = nr;
    register long x0 __asm__("x0") = a1;
    register long x1 __asm__("x1") = a2;
    register long x2 __asm__("x2") = a3;
    register long x3 __asm__("x3") = a4;
    register long x4 __asm__("x4") = a5;
    register long x5 __asm__("x5") = a6;
    __asm__ volatile("svc #0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                     : "memory");
    return x0;
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
