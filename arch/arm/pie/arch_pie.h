/* arm (EABI) raw syscalls, mmap and the trap, for freestanding blobs (pie/).
 * Blobs are compiled in ARM state (-marm), so the instructions here are the
 * 4-byte ARM encodings. */
#ifndef STASIS_ARCH_PIE_H
#define STASIS_ARCH_PIE_H

#include <asm-generic/errno-base.h>

#include "stasis_syscalls.h"

/* 0xe7f001f0 (udf #16) is the ARM-state breakpoint the kernel's undef hook
 * recognises (arch/arm/kernel/ptrace.c, arm_break_hook) and turns into
 * SIGTRAP (TRAP_BRKPT); it is also what gdb plants on arm Linux. */
#define STASIS_PIE_TRAP() __asm__ volatile(".inst 0xe7f001f0" ::: "memory")

/* EABI syscall ABI: number in r7, arguments in r0..r5, result in r0;
 * `svc #0` preserves every other register. */
static inline long stasis_syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
    register long r7 __asm__("r7") = nr;
    register long r0 __asm__("r0") = a1;
    register long r1 __asm__("r1") = a2;
    register long r2 __asm__("r2") = a3;
    register long r3 __asm__("r3") = a4;
    register long r4 __asm__("r4") = a5;
    register long r5 __asm__("r5") = a6;
    __asm__ volatile("svc #0"
                     : "+r"(r0)
                     : "r"(r7), "r"(r1), "r"(r2), "r"(r3), "r"(r4), "r"(r5)
                     : "memory");
    return r0;
}

/* 32-bit arm has no mmap syscall with a byte offset: mmap2 takes the offset
 * in 4096-byte units whatever the page size (arch/arm/kernel/entry-common.S,
 * sys_mmap2). */
static inline long stasis_sys_mmap(unsigned long addr, unsigned long len, long prot, long flags, long fd,
                                   unsigned long off) {
    if (off & 4095) return -EINVAL;
    return stasis_syscall6(STASIS_NR_mmap2, (long)addr, (long)len, prot, flags, fd, (long)(off >> 12));
}

/* The thread pointer (TPIDRURO), which ptrace cannot set. */
static inline long stasis_set_tls(unsigned long tls) {
    return stasis_syscall6(STASIS_NR_set_tls, (long)tls, 0, 0, 0, 0, 0);
}

#endif
