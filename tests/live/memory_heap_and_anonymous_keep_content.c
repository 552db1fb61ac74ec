/* Proves: the heap (grown with brk), private anonymous memory (written,
 * untouched, and read-only), and shared anonymous memory keep their exact
 * content and layout, and shared anonymous memory stays shared (two views
 * of the same pages still alias each other after restore). */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "live.h"

enum { HEAP_SEED = 1, PRIVATE_SEED = 2, READONLY_SEED = 3, SHARED_SEED = 4 };

static void expect_pattern(const char *what, const void *p, size_t len, uint64_t seed) {
    ssize_t bad = live_find_mismatch(p, len, seed);
    LIVE_EXPECT(bad < 0, "%s: content differs at offset %zd of %zu", what, bad, len);
}

static void expect_vma(const char *what, const void *start, size_t len, const char *perms) {
    struct live_vma v;
    if (!live_find_vma(start, &v)) {
        LIVE_EXPECT(false, "%s: no mapping at %p any more", what, start);
        return;
    }
    LIVE_EXPECT(v.start == (unsigned long)start && v.end == (unsigned long)start + len,
                "%s: mapping is %lx-%lx, expected %p-%p", what, v.start, v.end, start, (const char *)start + len);
    LIVE_EXPECT(strcmp(v.perms, perms) == 0, "%s: permissions are %s, expected %s", what, v.perms, perms);
}

int main(int argc, char **argv) {
    live_init(argc, argv);
    const size_t page = live_page_size();

    /* Heap: grow the break by an odd amount and fill everything we added. */
    char *heap = sbrk(0);
    const size_t heap_len = 37 * page + 123;
    LIVE_SETUP(sbrk((intptr_t)heap_len));
    live_fill(heap, heap_len, HEAP_SEED);
    void *brk_end = sbrk(0);

    /* Private anonymous: 16 written pages, then 4 never touched. */
    const size_t priv_len = 20 * page, priv_written = 16 * page;
    char *priv = live_mmap_isolated(priv_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    live_fill(priv, priv_written, PRIVATE_SEED);

    /* Private anonymous, written then made read-only. */
    const size_t ro_len = 3 * page;
    char *ro = live_mmap_isolated(ro_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    live_fill(ro, ro_len, READONLY_SEED);
    LIVE_SETUP(mprotect(ro, ro_len, PROT_READ));

    /* Shared anonymous, and a second view of the same pages (mremap with
     * old_size 0 duplicates a shared mapping). */
    const size_t shared_len = 8 * page;
    char *shared = live_mmap_isolated(shared_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    live_fill(shared, shared_len, SHARED_SEED);
    char *alias = LIVE_SETUP(mremap(shared, 0, shared_len, MREMAP_MAYMOVE));

    live_log("heap %p+%zu, private %p, read-only %p, shared %p (alias %p)", heap, heap_len, priv, ro, shared, alias);
    live_ready();
    live_wait_for_check();

    LIVE_EXPECT(sbrk(0) == brk_end, "program break is %p, was %p", sbrk(0), brk_end);
    expect_pattern("heap", heap, heap_len, HEAP_SEED);
    expect_pattern("private anonymous", priv, priv_written, PRIVATE_SEED);
    ssize_t nz = live_find_nonzero(priv + priv_written, priv_len - priv_written);
    LIVE_EXPECT(nz < 0, "untouched private pages are not zero at offset %zd", nz);
    expect_pattern("read-only anonymous", ro, ro_len, READONLY_SEED);
    expect_pattern("shared anonymous", shared, shared_len, SHARED_SEED);
    expect_pattern("second view of shared anonymous", alias, shared_len, SHARED_SEED);
    expect_vma("private anonymous", priv, priv_len, "rw-p");
    expect_vma("read-only anonymous", ro, ro_len, "r--p");
    expect_vma("shared anonymous", shared, shared_len, "rw-s");
    expect_vma("second view of shared anonymous", alias, shared_len, "rw-s");

    /* Still one set of pages: a write through one view shows in the other. */
    for (size_t off = 0; off < shared_len; off += page) {
        shared[off + 5] ^= 0x5a;
        LIVE_EXPECT(alias[off + 5] == shared[off + 5], "shared anonymous page %zu: views no longer alias",
                    off / page);
    }
    live_finish();
}
