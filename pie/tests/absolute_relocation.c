/*
 * A deliberately broken blob: a static table of function pointers holds
 * absolute addresses, so the linker must leave dynamic relocations
 * (R_*_RELATIVE) that nothing in the target would apply. The blob checker
 * must refuse it (tests/unit/pie).
 */
#include "pie/probe/probe.h"

static long one(void) { return 1; }
static long two(void) { return 2; }

static long (*const kTable[])(void) = {one, two};

__attribute__((visibility("default"), used)) long pie_main(struct probe_args *args) {
    args->magic_out = (uint64_t)kTable[args->magic_in & 1]();
    args->done = 1;
    return 0;
}
