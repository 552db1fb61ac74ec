/* Holding distinctive values in CPU registers across a checkpoint.
 *
 * A per-architecture loop (arch/<arch>/hold_registers.S) loads every
 * register it can hold from h->expected, signals readiness with a raw
 * renameat2(ready.tmp, ready), then polls for the check file with raw
 * faccessat/nanosleep syscalls — no libc call, so nothing in between can
 * touch the registers — and finally stores them into h->observed.
 * arch/<arch>/registers.c chooses the values, names the slots and compares.
 * Architectures without a loop use arch/generic/registers.c, which skips.
 */
#ifndef STASIS_LIVE_REGISTERS_H
#define STASIS_LIVE_REGISTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every field is 64-bit so that the assembly sees the same offsets on 32-
 * and 64-bit targets (a 32-bit target reads the low word; arm is little-
 * endian). Keep in sync with the H_* offsets in every hold_registers.S. */
struct live_hold {
    uint64_t nr_faccessat;  /* 0 */
    uint64_t nr_nanosleep;  /* 8 */
    uint64_t nr_renameat2;  /* 16 */
    uint64_t check_path;    /* 24: const char * */
    uint64_t ready_tmp;     /* 32: const char * */
    uint64_t ready_path;    /* 40: const char * */
    uint64_t interval;      /* 48: const struct timespec * */
    uint64_t features;      /* 56: per-architecture bits */
    uint64_t expected;      /* 64: register values to load */
    uint64_t observed;      /* 72: where the loop stores them */
    int64_t rename_result;  /* 80: the raw renameat2 return value */
    uint64_t polls;         /* 88: how many times the loop slept */
};

/* The interrupted instruction address in a signal handler's ucontext (0 where
 * this architecture's file does not say). */
uintptr_t live_signal_pc(const void *ucontext);

/* Whether backtrace() in a signal handler still works once the process
 * runs on a vDSO proxy. Not on ppc64le: the kernel returns from handlers
 * through the signal trampoline of its own (moved) vDSO, which libc does
 * not know, and libgcc's unwinder then aborts (docs/design.md, the vDSO
 * proxy's known limits). */
bool live_backtrace_survives_vdso_proxy(void);

/* Fills h->expected/h->observed/h->features. Returns false (with a reason)
 * when this architecture or CPU has no register loop. */
bool live_arch_regs_prepare(struct live_hold *h, char *why, size_t why_size);
/* One line for the log: what is held ("rbx..r15, ymm0-15, mxcsr, x87"). */
const char *live_arch_regs_summary(const struct live_hold *h);
/* Runs the loop (sets and reads any state the assembly cannot). */
void live_arch_regs_hold(struct live_hold *h);
/* LIVE_EXPECTs every held register; returns how many differ. */
int live_arch_regs_compare(const struct live_hold *h);

/* Common driver: prepares, fills in the paths and syscall numbers, holds
 * the registers until the check file appears (signalling ready itself),
 * and compares. Where the architecture has no loop it says why, and just
 * does live_ready() and live_wait_for_check(); returns whether registers
 * were held. */
bool live_hold_registers_until_check(char *why, size_t why_size);

#endif
