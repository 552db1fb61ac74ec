/*
 * The probe blob: the smallest real blob, used by `stasis check` and the blob
 * tests. It makes a couple of raw syscalls and reports through its plain-data
 * argument block. Runs inside any process (or the test itself).
 */
#include "pie/probe/probe.h"

#include "arch_pie.h"
#include "stasis_syscalls.h"

__attribute__((visibility("default"), used)) long pie_main(struct probe_args *args) {
    args->pid = stasis_syscall6(STASIS_NR_getpid, 0, 0, 0, 0, 0, 0);
    args->tid = stasis_syscall6(STASIS_NR_gettid, 0, 0, 0, 0, 0, 0);
    args->magic_out = args->magic_in ^ PROBE_MAGIC_XOR;
    args->done = 1;
    return 0;
}
