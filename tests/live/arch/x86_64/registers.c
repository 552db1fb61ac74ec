/* x86_64 values and comparison for hold_registers.S. */
#define _GNU_SOURCE
#include <ucontext.h>
#include <cpuid.h>
#include <stdio.h>
#include <string.h>

#include "live.h"
#include "registers.h"

enum { R_GPR = 0, R_MXCSR = 48, R_FCW = 56, R_ST = 64, R_Y = 192, R_SIZE = 192 + 16 * 32 };
enum { FEATURE_AVX = 1 };

static uint8_t expected[R_SIZE], observed[R_SIZE];
static bool have_pkru;
static uint32_t pkru_expected, pkru_observed;

void live_arch_hold_registers_asm(struct live_hold *h);

static uint32_t rdpkru(void) {
    uint32_t eax, edx;
    __asm__ volatile(".byte 0x0f, 0x01, 0xee" : "=a"(eax), "=d"(edx) : "c"(0));
    return eax;
}

static void wrpkru(uint32_t v) { __asm__ volatile(".byte 0x0f, 0x01, 0xef" : : "a"(v), "c"(0), "d"(0) : "memory"); }

static bool cpu_has_avx(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    if (!(c & bit_AVX) || !(c & bit_OSXSAVE)) return false;
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & 6) == 6; /* the OS saves SSE and AVX state */
}

static bool cpu_has_ospke(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    return c & (1u << 4);
}

bool live_arch_regs_prepare(struct live_hold *h, char *why, size_t why_size) {
    (void)why, (void)why_size;
    h->features = cpu_has_avx() ? FEATURE_AVX : 0;
    for (int i = 0; i < 6; i++) {
        uint64_t v = live_pattern_word(0x6e9, (uint64_t)i);
        memcpy(expected + R_GPR + i * 8, &v, 8);
    }
    /* Round toward zero, flush-to-zero, denormals-are-zero, all exceptions
     * masked, and two sticky flags (invalid, divide-by-zero) raised. */
    uint32_t mxcsr = 0xffc0 | 0x5;
    memcpy(expected + R_MXCSR, &mxcsr, 4);
    /* Truncate, double precision, all exceptions masked. */
    uint16_t fcw = 0x0e7f;
    memcpy(expected + R_FCW, &fcw, 2);
    for (int i = 0; i < 8; i++) {
        long double v = (i + 1) * 1.0e300L / 3.0L + i; /* full 64-bit mantissas */
        memcpy(expected + R_ST + i * 16, &v, 10);
    }
    live_fill(expected + R_Y, 16 * 32, 0x51d);
    memset(observed, 0, sizeof(observed));
    h->expected = (uintptr_t)expected;
    h->observed = (uintptr_t)observed;
    have_pkru = cpu_has_ospke();
    /* Key 1: access and write disabled (the default denies access only). */
    pkru_expected = have_pkru ? (rdpkru() | 0xc) : 0;
    return true;
}

const char *live_arch_regs_summary(const struct live_hold *h) {
    static char s[160];
    snprintf(s, sizeof(s), "rbx rbp r12-r15, %s, mxcsr, x87 st0-7 and control word%s",
             (h->features & FEATURE_AVX) ? "ymm0-15" : "xmm0-15 (no AVX)", have_pkru ? ", pkru" : "");
    return s;
}

void live_arch_regs_hold(struct live_hold *h) {
    uint32_t pkru_before = 0;
    if (have_pkru) {
        pkru_before = rdpkru();
        wrpkru(pkru_expected);
    }
    live_arch_hold_registers_asm(h);
    if (have_pkru) {
        pkru_observed = rdpkru();
        wrpkru(pkru_before);
    }
}

static void expect_bytes(const char *name, size_t off, size_t len) {
    if (memcmp(expected + off, observed + off, len) == 0) return;
    char x[80], y[80];
    size_t n = len > 32 ? 32 : len;
    for (size_t i = 0; i < n; i++) {
        /* most significant byte first, like a register dump */
        snprintf(x + 2 * i, 3, "%02x", expected[off + n - 1 - i]);
        snprintf(y + 2 * i, 3, "%02x", observed[off + n - 1 - i]);
    }
    LIVE_EXPECT(false, "%s is 0x%s, was 0x%s", name, y, x);
}

int live_arch_regs_compare(const struct live_hold *h) {
    int before = live_failures();
    static const char *gpr[] = {"rbx", "rbp", "r12", "r13", "r14", "r15"};
    char name[16];
    for (int i = 0; i < 6; i++) expect_bytes(gpr[i], R_GPR + (size_t)i * 8, 8);
    expect_bytes("mxcsr", R_MXCSR, 4);
    expect_bytes("x87 control word", R_FCW, 2);
    for (int i = 0; i < 8; i++) {
        snprintf(name, sizeof(name), "st%d", i);
        expect_bytes(name, R_ST + (size_t)i * 16, 10);
    }
    bool avx = h->features & FEATURE_AVX;
    for (int i = 0; i < 16; i++) {
        snprintf(name, sizeof(name), "%s%d", avx ? "ymm" : "xmm", i);
        expect_bytes(name, R_Y + (size_t)i * 32, avx ? 32 : 16);
    }
    if (have_pkru)
        LIVE_EXPECT(pkru_observed == pkru_expected, "pkru is %#x, was %#x", pkru_observed, pkru_expected);
    return live_failures() - before;
}

uintptr_t live_signal_pc(const void *uc) { return (uintptr_t)((const ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP]; }

bool live_backtrace_survives_vdso_proxy(void) { return true; }
