#define _GNU_SOURCE
#include "registers.h"

#include <sys/syscall.h>
#include <time.h>

#include "live.h"

bool live_hold_registers_until_check(char *why, size_t why_size) {
    static struct live_hold h;
    static const struct timespec interval = {0, 10 * 1000 * 1000};
    if (!live_arch_regs_prepare(&h, why, why_size)) {
        live_log("registers not held: %s", why);
        live_ready();
        live_wait_for_check();
        return false;
    }
    const char *tmp, *ready;
    live_ready_prepare(&tmp, &ready);
    h.nr_faccessat = SYS_faccessat;
    h.nr_nanosleep = SYS_nanosleep;
    h.nr_renameat2 = SYS_renameat2;
    h.check_path = (uintptr_t)live_check_path();
    h.ready_tmp = (uintptr_t)tmp;
    h.ready_path = (uintptr_t)ready;
    h.interval = (uintptr_t)&interval;
    live_log("holding %s until the check", live_arch_regs_summary(&h));
    live_arch_regs_hold(&h);
    live_expect_same_identity();
    LIVE_EXPECT(h.rename_result == 0, "the raw renameat2 that signalled readiness returned %lld",
                (long long)h.rename_result);
    int bad = live_arch_regs_compare(&h);
    live_log("register loop slept %llu times; %d register(s) differ", (unsigned long long)h.polls, bad);
    return true;
}
