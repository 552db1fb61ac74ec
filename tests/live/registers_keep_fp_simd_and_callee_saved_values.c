/* Proves: distinctive values in general-purpose, FP and SIMD registers
 * (x86_64: callee-saved GPRs, ymm0-15, x87 stack and control word, mxcsr,
 * pkru) survive the checkpoint and restore bit for bit, while the program
 * sits in a loop of raw syscalls that touches none of them. */
#define _GNU_SOURCE
#include "live.h"
#include "registers.h"

int main(int argc, char **argv) {
    live_init(argc, argv);
    char why[256];
    if (!live_hold_registers_until_check(why, sizeof(why))) live_skip("%s", why);
    live_finish();
}
