/* Proves: a PROT_NONE reservation is still PROT_NONE and still reserved
 * (nothing can be mapped over it without MAP_FIXED); a guard page that
 * splits a written region keeps the split and the content around it; and a
 * MADV_DONTNEED hole in a written region stays a hole — not populated,
 * reading as zero — while the pages around it keep their pattern. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "live.h"

enum { RESERVE_PAGES = 64, GUARDED_PAGES = 9, GUARD_PAGE = 4, HOLE_REGION_PAGES = 32, HOLE_FIRST = 10,
       HOLE_PAGES = 3 };
enum { GUARDED_SEED = 40, HOLE_SEED = 41 };

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

    live_log("reservation %p, guarded %p (guard page %d), hole at %p", reserve, guarded, GUARD_PAGE, hole);
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

    /* The hole first (mincore before any read: a read would map the zero page). */
    unsigned char resident[HOLE_REGION_PAGES];
    LIVE_EXPECT(mincore(holed, HOLE_REGION_PAGES * page, resident) == 0, "mincore: %s", strerror(errno));
    for (int i = 0; i < HOLE_REGION_PAGES; i++) {
        bool in_hole = i >= HOLE_FIRST && i < HOLE_FIRST + HOLE_PAGES;
        LIVE_EXPECT((resident[i] & 1) == !in_hole, "page %d of the holed region is %sresident", i,
                    (resident[i] & 1) ? "" : "not ");
    }
    ssize_t nz = live_find_nonzero(hole, HOLE_PAGES * page);
    LIVE_EXPECT(nz < 0, "the MADV_DONTNEED hole reads non-zero at offset %zd", nz);
    bad = live_find_mismatch(holed, HOLE_FIRST * page, HOLE_SEED);
    LIVE_EXPECT(bad < 0, "below the hole: content differs at offset %zd", bad);
    size_t above = (HOLE_FIRST + HOLE_PAGES) * page;
    for (size_t off = above; off < HOLE_REGION_PAGES * page; off += 8) {
        uint64_t w = live_pattern_word(HOLE_SEED, off), got = 0;
        for (int k = 0; k < 8; k++) got |= (uint64_t)(uint8_t)holed[off + (size_t)k] << (k * 8);
        if (got != w) {
            LIVE_EXPECT(false, "above the hole: content differs at offset %zu", off);
            break;
        }
    }
    expect_vma("holed region", holed, HOLE_REGION_PAGES * page, "rw-p");
    live_finish();
}
