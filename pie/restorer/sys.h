/* Raw syscalls and small helpers for the restorer (freestanding). */
#ifndef STASIS_PIE_RESTORER_SYS_H
#define STASIS_PIE_RESTORER_SYS_H

#include <stddef.h>
#include <stdint.h>

#include "arch_pie.h"
#include "stasis_syscalls.h"

#define SYS6(nr, a, b, c, d, e, f) \
    stasis_syscall6(STASIS_NR_##nr, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))
#define SYS0(nr) SYS6(nr, 0, 0, 0, 0, 0, 0)
#define SYS1(nr, a) SYS6(nr, a, 0, 0, 0, 0, 0)
#define SYS2(nr, a, b) SYS6(nr, a, b, 0, 0, 0, 0)
#define SYS3(nr, a, b, c) SYS6(nr, a, b, c, 0, 0, 0)
#define SYS4(nr, a, b, c, d) SYS6(nr, a, b, c, d, 0, 0)
#define SYS5(nr, a, b, c, d, e) SYS6(nr, a, b, c, d, e, 0)

/* Raw results in [-4095, -1] are -errno. */
static inline int is_err(long r) { return r < 0 && r >= -4095; }

/* Stable kernel ABI values the freestanding code needs (no libc headers). */
#define R_PROT_READ 0x1
#define R_PROT_WRITE 0x2
#define R_MAP_SHARED 0x01
#define R_MAP_PRIVATE 0x02
#define R_MAP_FIXED 0x10
#define R_MAP_ANONYMOUS 0x20 /* the same on every stasis architecture */
#define R_MAP_POPULATE 0x8000
#define R_MAP_FIXED_NOREPLACE 0x100000
#define R_MREMAP_MAYMOVE 1
#define R_MREMAP_FIXED 2
#define R_FUTEX_WAIT 0
#define R_FUTEX_WAKE 1
#define R_SIG_SETMASK 2
#define R_RSEQ_FLAG_UNREGISTER 1

static inline void futex_wait(volatile int32_t *addr, int32_t val) {
    SYS6(futex, addr, R_FUTEX_WAIT, val, 0, 0, 0);
}

static inline void futex_wake(volatile int32_t *addr) { SYS6(futex, addr, R_FUTEX_WAKE, 0x7fffffff, 0, 0, 0); }

static inline int32_t atomic_inc(volatile int32_t *p) { return __atomic_fetch_add(p, 1, __ATOMIC_SEQ_CST); }
static inline int32_t atomic_load(volatile int32_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static inline void atomic_store(volatile int32_t *p, int32_t v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);

#endif
