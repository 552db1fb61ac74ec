/* Proves: the whole memory map comes back the same — every mapping's range,
 * protections, offset and backing path, device and inode where the object
 * keeps its identity, and its VmFlags (madvise and mlock state included;
 * only soft-dirty may differ) — for a map that holds every protection
 * combination, a split mapping, and the madvise flags a program can set.
 * The comparison rule is written down in lib/maps_snapshot.h. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "live.h"
#include "maps_snapshot.h"

static struct live_maps_snapshot before, after;

static char *anon(size_t pages, int prot) {
    char *p = live_mmap_isolated(pages * live_page_size(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(p, 0x5a, pages * live_page_size());
    LIVE_SETUP(mprotect(p, pages * live_page_size(), prot));
    return p;
}

static void advise(size_t pages, int advice, const char *name) {
    char *p = anon(pages, PROT_READ | PROT_WRITE);
    if (madvise(p, pages * live_page_size(), advice) != 0) live_log("madvise(%s) unsupported here: %s", name, strerror(errno));
}

int main(int argc, char **argv) {
    live_init(argc, argv);
    const size_t page = live_page_size();

    /* Every protection combination on private anonymous memory. */
    anon(1, PROT_NONE);
    anon(2, PROT_READ);
    anon(3, PROT_READ | PROT_WRITE);
    anon(1, PROT_EXEC);
    anon(2, PROT_READ | PROT_EXEC);
    anon(1, PROT_READ | PROT_WRITE | PROT_EXEC);
    /* One mapping split three ways by mprotect. */
    char *split = anon(6, PROT_READ | PROT_WRITE);
    LIVE_SETUP(mprotect(split + 2 * page, 2 * page, PROT_READ));
    /* madvise and mlock flags visible in VmFlags. */
    advise(2, MADV_DONTFORK, "DONTFORK");     /* dc */
    advise(2, MADV_DONTDUMP, "DONTDUMP");     /* dd */
    advise(2, MADV_RANDOM, "RANDOM");         /* rr */
    advise(2, MADV_SEQUENTIAL, "SEQUENTIAL"); /* sr */
    advise(2, MADV_WIPEONFORK, "WIPEONFORK"); /* wf */
    advise(2, MADV_HUGEPAGE, "HUGEPAGE");     /* hg */
    advise(2, MADV_NOHUGEPAGE, "NOHUGEPAGE"); /* nh */
    advise(2, MADV_MERGEABLE, "MERGEABLE");   /* mg */
    char *locked = anon(2, PROT_READ | PROT_WRITE);
    if (mlock(locked, 2 * page) != 0) live_log("mlock unsupported here: %s", strerror(errno)); /* lo */
    /* Files: a read-only shared mapping of a file opened read-only (no "mw"
     * in VmFlags), and a private writable one. */
    char path[600];
    live_path(path, sizeof(path), "maps.bin");
    int fd = LIVE_SETUP(open(path, O_RDWR | O_CREAT | O_TRUNC, 0644));
    LIVE_SETUP(ftruncate(fd, (off_t)(4 * page)));
    close(fd);
    fd = LIVE_SETUP(open(path, O_RDONLY));
    live_mmap_isolated(2 * page, PROT_READ, MAP_SHARED, fd, (off_t)page);
    live_mmap_isolated(2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, (off_t)(2 * page));
    close(fd);

    /* Grow the stack now so that the checks below cannot change [stack]. */
    live_extend_stack(256 * 1024);

    live_maps_take(&before);
    live_log("%d mappings recorded", before.count);
    live_ready();
    live_wait_for_check();
    live_maps_take(&after);
    live_maps_expect_same(&before, &after, LIVE_MAPS_SAME_AFTER_RESTORE);
    live_finish();
}
