/* s390x values and comparison for hold_registers.S. */
#define _GNU_SOURCE
#include <ucontext.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

#include "live.h"
#include "registers.h"

enum { R_GPR = 0, R_FPC = 48, R_V = 64, R_SIZE = 64 + 32 * 16 };
enum { FEATURE_VX = 1 };
#ifndef HWCAP_S390_VXRS
#define HWCAP_S390_VXRS 2048
#endif

static uint8_t expected[R_SIZE], observed[R_SIZE];

void live_arch_hold_registers_asm(struct live_hold *h);

bool live_arch_regs_prepare(struct live_hold *h, char *why, size_t why_size) {
    (void)why, (void)why_size;
    for (int i = 0; i < 6; i++) {
        uint64_t v = live_pattern_word(0x5390, (uint64_t)i);
        memcpy(expected + R_GPR + i * 8, &v, 8);
    }
    /* Round toward zero; inexact and divide-by-zero flags raised; no
     * exception enabled. */
    uint32_t fpc = 0x00480001;
    memcpy(expected + R_FPC, &fpc, 4);
    live_fill(expected + R_V, 32 * 16, 0x51d);
    memset(observed, 0, sizeof(observed));
    h->features = (getauxval(AT_HWCAP) & HWCAP_S390_VXRS) ? FEATURE_VX : 0;
    h->expected = (uintptr_t)expected;
    h->observed = (uintptr_t)observed;
    return true;
}

const char *live_arch_regs_summary(const struct live_hold *h) {
    return (h->features & FEATURE_VX) ? "r7-r12, v0-v31, fpc" : "r7-r12, f0-f15 (no vector facility), fpc";
}

void live_arch_regs_hold(struct live_hold *h) { live_arch_hold_registers_asm(h); }

static void expect_bytes(const char *name, size_t off, size_t len) {
    if (memcmp(expected + off, observed + off, len) == 0) return;
    char x[40], y[40];
    for (size_t i = 0; i < len; i++) { /* big-endian: memory order is register order */
        snprintf(x + 2 * i, 3, "%02x", expected[off + i]);
        snprintf(y + 2 * i, 3, "%02x", observed[off + i]);
    }
    LIVE_EXPECT(false, "%s is 0x%s, was 0x%s", name, y, x);
}

int live_arch_regs_compare(const struct live_hold *h) {
    int before = live_failures();
    char name[16];
    for (int i = 0; i < 6; i++) {
        snprintf(name, sizeof(name), "r%d", 7 + i);
        expect_bytes(name, R_GPR + (size_t)i * 8, 8);
    }
    expect_bytes("fpc", R_FPC, 4);
    bool vx = h->features & FEATURE_VX;
    for (int i = 0; i < (vx ? 32 : 16); i++) {
        snprintf(name, sizeof(name), "%s%d", vx ? "v" : "f", i);
        expect_bytes(name, R_V + (size_t)i * 16, vx ? 16 : 8);
    }
    return live_failures() - before;
}

uintptr_t live_signal_pc(const void *uc) { return (uintptr_t)((const ucontext_t *)uc)->uc_mcontext.psw.addr; }

bool live_backtrace_survives_vdso_proxy(void) { return true; }
