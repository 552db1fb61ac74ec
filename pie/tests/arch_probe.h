/* Argument block of the arch_probe test blob: plain data shared by C and C++. */
#ifndef STASIS_PIE_TESTS_ARCH_PROBE_H
#define STASIS_PIE_TESTS_ARCH_PROBE_H

#include <stdint.h>

struct arch_probe_args {
    /* pie_main: stasis_sys_mmap of `fd` at byte offset `offset`, read back. */
    int64_t fd;
    uint64_t offset;
    int64_t mmap_result;  /* address, or -errno */
    uint64_t mapped_word; /* first 8 bytes of the mapping */
    /* pie_main: a word of a constant table, reached PC-relatively (TOC on
     * ppc64le, adrp on aarch64, a literal pool on arm, larl on s390x). */
    uint64_t table_index;
    uint64_t table_word;
    /* pie_thread_main (started by pie_clone3_thread). */
    int64_t tid;          /* gettid() as the new thread sees it */
    uint64_t magic;       /* set by the caller */
    uint64_t seen_magic;  /* copied by the thread: proves `arg` arrived */
    int32_t done;         /* 1 once pie_thread_main ran */
    int32_t pad;
};

#endif
