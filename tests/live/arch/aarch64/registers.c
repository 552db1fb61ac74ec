/* aarch64 values and comparison for hold_registers.S. */
#define _GNU_SOURCE
#include <ucontext.h>
#include <stdio.h>
#include <string.h>

#include "live.h"
#include "registers.h"

enum { R_GPR = 0, R_FPCR = 80, R_FPSR = 88, R_Q = 96, R_SIZE = 96 + 32 * 16 };

static uint8_t expected[R_SIZE], observed[R_SIZE];

void live_arch_hold_registers_asm(struct live_hold *h);

bool live_arch_regs_prepare(struct live_hold *h, char *why, size_t why_size) {
    (void)why, (void)why_size;
    for (int i = 0; i < 10; i++) {
        uint64_t v = live_pattern_word(0xa64, (uint64_t)i);
        memcpy(expected + R_GPR + i * 8, &v, 8);
    }
    /* Round toward zero, flush-to-zero, default NaN. */
    uint64_t fpcr = 0x03c00000;
    /* Cumulative flags: saturation, inexact, divide-by-zero, invalid. */
    uint64_t fpsr = 0x08000013;
    memcpy(expected + R_FPCR, &fpcr, 8);
    memcpy(expected + R_FPSR, &fpsr, 8);
    live_fill(expected + R_Q, 32 * 16, 0x51d);
    memset(observed, 0, sizeof(observed));
    h->features = 0;
    h->expected = (uintptr_t)expected;
    h->observed = (uintptr_t)observed;
    return true;
}

const char *live_arch_regs_summary(const struct live_hold *h) {
    (void)h;
    return "x19-x28, q0-q31, fpcr, fpsr";
}

void live_arch_regs_hold(struct live_hold *h) { live_arch_hold_registers_asm(h); }

static void expect_bytes(const char *name, size_t off, size_t len) {
    if (memcmp(expected + off, observed + off, len) == 0) return;
    char x[80], y[80];
    for (size_t i = 0; i < len; i++) { /* most significant byte first */
        snprintf(x + 2 * i, 3, "%02x", expected[off + len - 1 - i]);
        snprintf(y + 2 * i, 3, "%02x", observed[off + len - 1 - i]);
    }
    LIVE_EXPECT(false, "%s is 0x%s, was 0x%s", name, y, x);
}

int live_arch_regs_compare(const struct live_hold *h) {
    (void)h;
    int before = live_failures();
    char name[16];
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof(name), "x%d", 19 + i);
        expect_bytes(name, R_GPR + (size_t)i * 8, 8);
    }
    expect_bytes("fpcr", R_FPCR, 8);
    expect_bytes("fpsr", R_FPSR, 8);
    for (int i = 0; i < 32; i++) {
        snprintf(name, sizeof(name), "q%d", i);
        expect_bytes(name, R_Q + (size_t)i * 16, 16);
    }
    return live_failures() - before;
}

uintptr_t live_signal_pc(const void *uc) { return (uintptr_t)((const ucontext_t *)uc)->uc_mcontext.pc; }

bool live_backtrace_survives_vdso_proxy(void) { return true; }
