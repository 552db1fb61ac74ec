/* Architectures without a register-holding loop yet: the registers
 * scenarios skip, saying so. */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/utsname.h>

#include "registers.h"

bool live_arch_regs_prepare(struct live_hold *h, char *why, size_t why_size) {
    (void)h;
    struct utsname u;
    uname(&u);
    snprintf(why, why_size, "no register-holding loop written for %s yet (tests/live/arch/<arch>/)", u.machine);
    return false;
}

const char *live_arch_regs_summary(const struct live_hold *h) {
    (void)h;
    return "nothing";
}

void live_arch_regs_hold(struct live_hold *h) { (void)h; }

int live_arch_regs_compare(const struct live_hold *h) {
    (void)h;
    return 0;
}

uintptr_t live_signal_pc(const void *uc) {
    (void)uc;
    return 0;
}

bool live_backtrace_survives_vdso_proxy(void) { return true; }
