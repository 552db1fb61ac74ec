/*
 * A deliberately broken blob: it calls through a function pointer. The
 * pointer is computed PC-relatively, so no relocation is left, but an
 * indirect call is exactly what a call through a PLT or GOT looks like, and
 * the blob checker must refuse it (tests/unit/pie).
 */
#include "pie/probe/probe.h"

static long target(void) { return 42; }

__attribute__((visibility("default"), used)) long pie_main(struct probe_args *args) {
    long (*volatile fn)(void) = target;
    args->magic_out = (uint64_t)fn();
    args->done = 1;
    return 0;
}
