/* arm (32-bit) values and comparison for hold_registers.S. */
#define _GNU_SOURCE
#include <ucontext.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

#include "live.h"
#include "registers.h"

enum { R_GPR = 0, R_FPSCR = 32, R_D = 40, R_SIZE = 40 + 32 * 8 };
enum { FEATURE_D32 = 1 };
#ifndef HWCAP_VFPD32
#define HWCAP_VFPD32 (1 << 19)
#endif

static uint8_t expected[R_SIZE], observed[R_SIZE];
static const char *gpr_names[6] = {"r5", "r8", "r9", "r10", "r11", "r12"};

void live_arch_hold_registers_asm(struct live_hold *h);

bool live_arch_regs_prepare(struct live_hold *h, char *why, size_t why_size) {
    (void)why, (void)why_size;
    for (int i = 0; i < 6; i++) {
        uint32_t v = (uint32_t)live_pattern_word(0xa32, (uint64_t)i);
        memcpy(expected + R_GPR + i * 4, &v, 4);
    }
    /* Round toward zero, flush-to-zero, default NaN; sticky flags inexact,
     * divide-by-zero and invalid raised. */
    uint32_t fpscr = 0x03c00013;
    memcpy(expected + R_FPSCR, &fpscr, 4);
    live_fill(expected + R_D, 32 * 8, 0x51d);
    memset(observed, 0, sizeof(observed));
    h->features = (getauxval(AT_HWCAP) & HWCAP_VFPD32) ? FEATURE_D32 : 0;
    h->expected = (uintptr_t)expected;
    h->observed = (uintptr_t)observed;
    return true;
}

const char *live_arch_regs_summary(const struct live_hold *h) {
    return (h->features & FEATURE_D32) ? "r5 r8-r12, d0-d31, fpscr" : "r5 r8-r12, d0-d15 (VFP-D16), fpscr";
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
    int before = live_failures();
    char name[16];
    for (int i = 0; i < 6; i++) expect_bytes(gpr_names[i], R_GPR + (size_t)i * 4, 4);
    /* Only the fields set above: other bits may be reserved or read-only. */
    uint32_t e, o;
    memcpy(&e, expected + R_FPSCR, 4);
    memcpy(&o, observed + R_FPSCR, 4);
    LIVE_EXPECT((o & 0x0fc0009f) == (e & 0x0fc0009f), "fpscr is %#x, was %#x", o, e);
    int nd = (h->features & FEATURE_D32) ? 32 : 16;
    for (int i = 0; i < nd; i++) {
        snprintf(name, sizeof(name), "d%d", i);
        expect_bytes(name, R_D + (size_t)i * 8, 8);
    }
    return live_failures() - before;
}

uintptr_t live_signal_pc(const void *uc) { return (uintptr_t)((const ucontext_t *)uc)->uc_mcontext.arm_pc; }

bool live_backtrace_survives_vdso_proxy(void) { return true; }
