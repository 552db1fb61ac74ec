/* ppc64le values and comparison for hold_registers.S. */
#define _GNU_SOURCE
#include <ucontext.h>
#include <stdio.h>
#include <string.h>

#include "live.h"
#include "registers.h"

enum { R_GPR = 0, R_FPSCR = 144, R_VS = 160, R_SIZE = 160 + 64 * 16 };

static uint8_t expected[R_SIZE], observed[R_SIZE];

void live_arch_hold_registers_asm(struct live_hold *h);

bool live_arch_regs_prepare(struct live_hold *h, char *why, size_t why_size) {
    (void)why, (void)why_size;
    for (int i = 0; i < 17; i++) {
        uint64_t v = live_pattern_word(0x9c64, (uint64_t)i);
        memcpy(expected + R_GPR + i * 8, &v, 8);
    }
    /* Round toward zero; sticky FX and XX (inexact) raised; no exception
     * enabled. The image is a double whose low word is the FPSCR. */
    uint64_t fpscr = 0x82000001;
    memcpy(expected + R_FPSCR, &fpscr, 8);
    live_fill(expected + R_VS, 64 * 16, 0x51d);
    memset(observed, 0, sizeof(observed));
    h->features = 0;
    h->expected = (uintptr_t)expected;
    h->observed = (uintptr_t)observed;
    return true;
}

const char *live_arch_regs_summary(const struct live_hold *h) {
    (void)h;
    return "r14-r30, vs0-vs63 (f0-f31, v0-v31), fpscr";
}

void live_arch_regs_hold(struct live_hold *h) { live_arch_hold_registers_asm(h); }

static void expect_bytes(const char *name, size_t off, size_t len) {
    if (memcmp(expected + off, observed + off, len) == 0) return;
    char x[40], y[40];
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
    for (int i = 0; i < 17; i++) {
        snprintf(name, sizeof(name), "r%d", 14 + i);
        expect_bytes(name, R_GPR + (size_t)i * 8, 8);
    }
    uint64_t e, o;
    memcpy(&e, expected + R_FPSCR, 8);
    memcpy(&o, observed + R_FPSCR, 8);
    /* Not FEX and VX: summary bits the processor computes. */
    LIVE_EXPECT((o & 0x9fffffff) == (e & 0x9fffffff), "fpscr is %#llx, was %#llx", (unsigned long long)o,
                (unsigned long long)e);
    for (int i = 0; i < 64; i++) {
        snprintf(name, sizeof(name), "vs%d", i);
        expect_bytes(name, R_VS + (size_t)i * 16, 16);
    }
    return live_failures() - before;
}

uintptr_t live_signal_pc(const void *uc) { return (uintptr_t)((const ucontext_t *)uc)->uc_mcontext.gp_regs[32 /* PT_NIP */]; }

bool live_backtrace_survives_vdso_proxy(void) { return false; }
