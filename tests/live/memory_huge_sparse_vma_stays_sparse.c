/* Proves: a huge mostly-empty private mapping (4 GiB reserved with
 * MAP_NORESERVE, one page touched every 64 MiB) comes back with the touched
 * pages' content, the untouched pages still unpopulated and reading zero,
 * and the resident set not blown up — the dump and restore follow what
 * exists, not the size of the mapping. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "live.h"

enum { SPARSE_SEED = 50 };

static long rss_kib(void) {
    char v[64];
    if (!live_status_field("/proc/self/status", "VmRSS", v, sizeof(v))) return -1;
    return strtol(v, NULL, 10);
}

int main(int argc, char **argv) {
    live_init(argc, argv);
    const size_t page = live_page_size();
    /* 4 GiB where the address space allows it; 512 MiB on 32-bit targets. */
    const size_t len = sizeof(void *) == 8 ? (size_t)4 << 30 : (size_t)512 << 20;
    const size_t stride = (size_t)64 << 20;
    const size_t touched = len / stride;

    char *area = live_mmap_isolated(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    /* Base pages only: where transparent huge pages are "always" (Debian's
     * kernels), touching one page would populate its whole 2 MiB huge page
     * and the untouched neighbours would be resident before any checkpoint. */
    LIVE_EXPECT(madvise(area, len, MADV_NOHUGEPAGE) == 0 || errno == EINVAL, "madvise(MADV_NOHUGEPAGE): %s",
                strerror(errno));
    for (size_t i = 0; i < touched; i++) live_fill(area + i * stride, page, SPARSE_SEED + i);
    /* mincore's vector: one byte per page, allocated before the checkpoint. */
    unsigned char *vec = live_mmap_isolated(len / page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(vec, 0, len / page);
    long rss_before = rss_kib();

    live_log("%zu MiB at %p, %zu pages touched; VmRSS %ld KiB", len >> 20, area, touched, rss_before);
    live_ready();
    live_wait_for_check();

    long rss_after = rss_kib();
    /* Slack: restore may leave a few pages of its own bookkeeping resident
     * (page tables are not counted), but never the untouched gigabytes. */
    long slack_kib = 16 * 1024;
    LIVE_EXPECT(rss_after <= rss_before + slack_kib, "VmRSS grew from %ld KiB to %ld KiB", rss_before, rss_after);

    /* The touched pages first: read, they are resident even where a lazy
     * restore has not sent them yet (the read faults them in). */
    for (size_t i = 0; i < touched; i++) {
        ssize_t bad = live_find_mismatch(area + i * stride, page, SPARSE_SEED + i);
        LIVE_EXPECT(bad < 0, "touched page at offset %#zx differs at byte %zd", i * stride, bad);
    }
    LIVE_EXPECT(mincore(area, len, vec) == 0, "mincore: %s", strerror(errno));
    size_t resident = 0;
    for (size_t p = 0; p < len / page; p++) {
        bool want = (p * page) % stride == 0;
        if (vec[p] & 1) resident++;
        if ((vec[p] & 1) != want) {
            LIVE_EXPECT(false, "page %zu (offset %#zx) is %sresident", p, p * page, want ? "not " : "");
            break;
        }
    }
    LIVE_EXPECT(resident == touched, "%zu pages resident, %zu touched", resident, touched);

    /* Their neighbours were never touched (read after mincore: a read maps
     * the zero page). */
    for (size_t i = 0; i + 1 < touched; i++) {
        ssize_t nz = live_find_nonzero(area + i * stride + page, page);
        LIVE_EXPECT(nz < 0, "untouched page at offset %#zx reads non-zero", i * stride + page);
    }
    struct live_vma v;
    memset(&v, 0, sizeof(v));
    bool found = live_find_vma(area, &v); /* before LIVE_EXPECT prints v */
    LIVE_EXPECT(found && v.start == (unsigned long)area && v.end == (unsigned long)area + len &&
                    strcmp(v.perms, "rw-p") == 0,
                "the sparse mapping is %lx-%lx %s", v.start, v.end, v.perms);
    char flags[96];
    LIVE_EXPECT(live_vma_flags((unsigned long)area, flags, sizeof(flags)) && strstr(flags, " nr") != NULL,
                "the sparse mapping lost MAP_NORESERVE (VmFlags: %s)", flags);
    live_finish();
}
