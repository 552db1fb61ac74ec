/* Proves: a PROT_NONE reservation is still PROT_NONE and still reserved
 * (nothing can be mapped over it without MAP_FIXED); a guard page that
 * splits a written region keeps the split and the content around it; and a
 * MADV_DONTNEED hole in a written region stays a hole — not populated,
 * reading as zero — while the pages around it keep their pattern, also in a
 * region advised and aligned for transparent huge pages (filled on restore
 * with huge pages on, its hole would come back resident). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "live.h"

enum { RESERVE_PAGES = 64, GUARDED_PAGES = 9, GUARD_PAGE = 4, HOLE_REGION_PAGES = 32, HOLE_FIRST = 10,
       HOLE_PAGES = 3 };
enum { GUARDED_SEED = 40, HOLE_SEED = 41, HUGE_SEED = 42 };

/* The transparent huge page size, or 0 where there are none. */
static size_t thp_size(void) {
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "r");
    unsigned long v = 0;
    if (f) {
        if (fscanf(f, "%lu", &v) != 1) v = 0;
        fclose(f);
    }
    return v;
}

/* A hole of HOLE_PAGES at HOLE_FIRST in `len` bytes at `p`, written with
 * `seed` around it: not resident (mincore before any read: a read would
 * map the zero page), reading zero, the rest intact. */
static void expect_hole(const char *what, char *p, size_t len, uint64_t seed) {
    const size_t page = live_page_size();
    size_t pages = len / page;
    unsigned char *resident = malloc(pages);
    LIVE_EXPECT(resident && mincore(p, len, resident) == 0, "%s: mincore: %s", what, strerror(errno));
    for (size_t i = 0; resident && i < pages; i++) {
        bool in_hole = i >= HOLE_FIRST && i < HOLE_FIRST + HOLE_PAGES;
        if ((resident[i] & 1) != !in_hole)
            LIVE_EXPECT(false, "%s: page %zu is %sresident", what, i, (resident[i] & 1) ? "" : "not ");
    }
    free(resident);
    char *hole = p + HOLE_FIRST * page;
    ssize_t nz = live_find_nonzero(hole, HOLE_PAGES * page);
    LIVE_EXPECT(nz < 0, "%s: the MADV_DONTNEED hole reads non-zero at offset %zd", what, nz);
    ssize_t bad = live_find_mismatch(p, HOLE_FIRST * page, seed);
    LIVE_EXPECT(bad < 0, "%s: below the hole: content differs at offset %zd", what, bad);
    for (size_t off = (HOLE_FIRST + HOLE_PAGES) * page; off < len; off += 8) {
        uint64_t w = live_pattern_word(seed, off), got = 0;
        for (int k = 0; k < 8; k++) got |= (uint64_t)(uint8_t)p[off + (size_t)k] << (k * 8);
        if (got != w) {
            LIVE_EXPECT(false, "%s: above the hole: content differs at offset %zu", what, off);
            break;
        }
    }
}

static void expect_vma(const char *what, const char *start, size_t len, const char *perms) {
    struct live_vma v;
    bool found = live_find_vma(start, &v);
    LIVE_EXPECT(found && v.start == (unsigned long)start && v.end == (unsigned long)(start + len) &&
                    strcmp(v.perms, perms) == 0,
                "%s: expected %p-%p %s, found %lx-%lx %s", what, start, start + len, perms, found ? v.start : 0,
                found ? v.end : 0, found ? v.perms : "(none)");
}

int main(int argc, char **argv) {
    live_init(argc, argv);
    const size_t page = live_page_size();

    /* A reservation: address space only. */
    char *reserve = live_mmap_isolated(RESERVE_PAGES * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                                       -1, 0);

    /* A written region split by a PROT_NONE guard page in its middle. */
    char *guarded = live_mmap_isolated(GUARDED_PAGES * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    live_fill(guarded, GUARDED_PAGES * page, GUARDED_SEED);
    LIVE_SETUP(mprotect(guarded + GUARD_PAGE * page, page, PROT_NONE));

    /* A written region with a hole punched by MADV_DONTNEED. */
    char *holed = live_mmap_isolated(HOLE_REGION_PAGES * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                                     -1, 0);
    live_fill(holed, HOLE_REGION_PAGES * page, HOLE_SEED);
    char *hole = holed + HOLE_FIRST * page;
    LIVE_SETUP(madvise(hole, HOLE_PAGES * page, MADV_DONTNEED));

    /* The same in one huge page's worth, aligned and advised for huge pages. */
    const size_t huge = thp_size();
    char *huge_region = NULL;
    if (huge >= HOLE_REGION_PAGES * page) {
        char *area = live_mmap_isolated(2 * huge, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        huge_region = (char *)(((uintptr_t)area + huge - 1) & ~(uintptr_t)(huge - 1));
        LIVE_SETUP(mprotect(huge_region, huge, PROT_READ | PROT_WRITE));
        if (madvise(huge_region, huge, MADV_HUGEPAGE) != 0) huge_region = NULL;  // no THP here
    }
    if (huge_region) {
        live_fill(huge_region, huge, HUGE_SEED);
        LIVE_SETUP(madvise(huge_region + HOLE_FIRST * page, HOLE_PAGES * page, MADV_DONTNEED));
    }
    /* From here no huge pages: khugepaged would otherwise be free to
     * collapse a holed region into one, filling its hole, before or after
     * the checkpoint. (The restore fills memory before it sets this.) */
    LIVE_SETUP(prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0));

    live_log("reservation %p, guarded %p (guard page %d), hole at %p, huge-page region %p", reserve, guarded,
             GUARD_PAGE, hole, huge_region);
    live_ready();
    live_wait_for_check();

    /* Its bounds may merge with neighbouring PROT_NONE areas: what matters
     * is that the whole range is still one inaccessible mapping. */
    struct live_vma r;
    bool found = live_find_vma(reserve, &r);
    LIVE_EXPECT(found && r.start <= (unsigned long)reserve && r.end >= (unsigned long)(reserve + RESERVE_PAGES * page) &&
                    strcmp(r.perms, "---p") == 0,
                "reservation %p+%zu: found %lx-%lx %s", reserve, RESERVE_PAGES * page, found ? r.start : 0,
                found ? r.end : 0, found ? r.perms : "(none)");
    void *over = mmap(reserve + 8 * page, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    LIVE_EXPECT(over == MAP_FAILED && errno == EEXIST,
                "the reservation is no longer reserved: MAP_FIXED_NOREPLACE inside it gave %p", over);
    if (over != MAP_FAILED) munmap(over, page);

    expect_vma("guarded region below the guard", guarded, GUARD_PAGE * page, "rw-p");
    expect_vma("guard page", guarded + GUARD_PAGE * page, page, "---p");
    expect_vma("guarded region above the guard", guarded + (GUARD_PAGE + 1) * page,
               (GUARDED_PAGES - GUARD_PAGE - 1) * page, "rw-p");
    ssize_t bad = live_find_mismatch(guarded, GUARD_PAGE * page, GUARDED_SEED);
    LIVE_EXPECT(bad < 0, "below the guard page: content differs at offset %zd", bad);
    for (size_t off = (GUARD_PAGE + 1) * page; off < GUARDED_PAGES * page; off++) {
        if ((uint8_t)guarded[off] != (uint8_t)(live_pattern_word(GUARDED_SEED, off & ~(size_t)7) >> ((off & 7) * 8))) {
            LIVE_EXPECT(false, "above the guard page: content differs at offset %zu", off);
            break;
        }
    }

    expect_hole("holed region", holed, HOLE_REGION_PAGES * page, HOLE_SEED);
    if (huge_region) expect_hole("huge-page region", huge_region, huge, HUGE_SEED);
    expect_vma("holed region", holed, HOLE_REGION_PAGES * page, "rw-p");
    live_finish();
}
