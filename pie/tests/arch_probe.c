/*
 * Test blob for the arch helpers freestanding code builds on
 * (arch/<arch>/pie/): pie_main reads constant data PC-relatively, maps a
 * file through stasis_sys_mmap (s390x
 * passes an argument block, arm converts the offset to mmap2's 4096-byte
 * units) and reads it back; pie_thread_main is what pie_clone3_thread runs
 * in the new thread, which then exits inside clone3.S.
 */
#include "pie/tests/arch_probe.h"

#include "arch_pie.h"
#include "stasis_syscalls.h"

#define PROT_READ 1
#define MAP_SHARED 1

static const uint64_t kTable[4] = {0x1111111111111111ull, 0x2222222222222222ull, 0x3333333333333333ull,
                                   0x4444444444444444ull};

__attribute__((visibility("default"), used)) long pie_main(struct arch_probe_args *args) {
    args->table_word = kTable[args->table_index & 3];
    long addr = stasis_sys_mmap(0, 4096, PROT_READ, MAP_SHARED, (long)args->fd, args->offset);
    args->mmap_result = addr;
    if (addr < 0 && addr > -4096) return addr;
    args->mapped_word = *(volatile uint64_t *)addr;
    stasis_syscall6(STASIS_NR_munmap, addr, 4096, 0, 0, 0, 0);
    return 0;
}

__attribute__((visibility("default"), used)) void pie_thread_main(struct arch_probe_args *args) {
    args->tid = stasis_syscall6(STASIS_NR_gettid, 0, 0, 0, 0, 0, 0);
    args->seen_magic = args->magic;
    __atomic_store_n(&args->done, 1, __ATOMIC_RELEASE);
}
