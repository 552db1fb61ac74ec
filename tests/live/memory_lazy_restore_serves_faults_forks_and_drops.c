/* A lazily restored process gets every page right however it first
 * touches it (run with run-scenario.sh --lazy, and the lazy-pages server
 * holding back its background fill, so that the pages below arrive on
 * faults while the kernel's events happen):
 *   - read by the kernel on its behalf (write(2) to a pipe from lazy memory);
 *   - in a child forked before the pages arrived (userfaultfd fork event);
 *   - dropped with MADV_DONTNEED before ever being touched: zero, never the
 *     saved content (remove event);
 *   - moved with mremap(2) before being touched (remap event);
 *   - plainly read and written.
 * Without --lazy it is a plain memory test. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "live.h"

#define MAIN_BYTES (16u << 20)
#define DROP_BYTES (2u << 20)
#define MOVE_BYTES (2u << 20)

static char *map_anon(size_t len) {
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) live_fail("mmap: %s", strerror(errno));
    return p;
}

int main(int argc, char **argv) {
    live_init(argc, argv);
    size_t page = live_page_size();
    char *area = map_anon(MAIN_BYTES), *drop = map_anon(DROP_BYTES), *move = map_anon(MOVE_BYTES);
    char *move_to = mmap(NULL, MOVE_BYTES, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (move_to == MAP_FAILED) live_fail("reserve: %s", strerror(errno));
    live_fill(area, MAIN_BYTES, 0xA0);
    live_fill(drop, DROP_BYTES, 0xD0);
    live_fill(move, MOVE_BYTES, 0xE0);
    int p[2];
    LIVE_SETUP(pipe(p));
    live_ready();
    live_wait_for_check();

    /* The kernel reads lazy memory: write(2) from it. */
    size_t off = 5 * page, len = 2 * page;
    ssize_t w = write(p[1], area + off, len);
    LIVE_EXPECT(w == (ssize_t)len, "write from lazy memory: %zd (%s)", w, strerror(errno));
    char *back = malloc(len);
    ssize_t r = read(p[0], back, len);
    LIVE_EXPECT(r == (ssize_t)len && memcmp(back, area + off, len) == 0, "pipe round trip of lazy pages differs");
    free(back);

    /* A child before the rest arrived: it checks the whole area itself. */
    pid_t child = fork();
    if (child == 0) _exit(live_find_mismatch(area, MAIN_BYTES, 0xA0) < 0 ? 0 : 1);
    LIVE_EXPECT(child > 0, "fork: %s", strerror(errno));

    /* Dropped before touched: zero. */
    if (madvise(drop, DROP_BYTES / 2, MADV_DONTNEED) != 0) live_fail("madvise: %s", strerror(errno));
    ssize_t bad = live_find_nonzero(drop, DROP_BYTES / 2);
    LIVE_EXPECT(bad < 0, "dropped lazy memory reads data at %zd, not zero", bad);
    bad = live_find_mismatch(drop + DROP_BYTES / 2, DROP_BYTES / 2, 0xD0 + 0);
    if (bad >= 0) {
        /* live_fill's pattern depends on the offset from the start: check
         * the second half against the whole pattern's second half. */
        char *ref = malloc(DROP_BYTES);
        live_fill(ref, DROP_BYTES, 0xD0);
        bad = memcmp(ref + DROP_BYTES / 2, drop + DROP_BYTES / 2, DROP_BYTES / 2) ? 1 : -1;
        free(ref);
    }
    LIVE_EXPECT(bad < 0, "the kept half of the dropped area differs");

    /* Moved before touched. */
    char *to = mremap(move, MOVE_BYTES, MOVE_BYTES, MREMAP_MAYMOVE | MREMAP_FIXED, move_to);
    LIVE_EXPECT(to == move_to, "mremap: %s", strerror(errno));
    if (to == move_to) {
        bad = live_find_mismatch(to, MOVE_BYTES, 0xE0);
        LIVE_EXPECT(bad < 0, "moved lazy memory differs at %zd", bad);
    }

    bad = live_find_mismatch(area, MAIN_BYTES, 0xA0);
    LIVE_EXPECT(bad < 0, "lazy memory differs at %zd", bad);
    int status = 0;
    if (child > 0) {
        waitpid(child, &status, 0);
        LIVE_EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the forked child saw other memory (status %#x)",
                    status);
    }
    /* Written after restore: ours, not the images'. */
    memset(area, 0x5a, page);
    LIVE_EXPECT(area[page - 1] == 0x5a, "a written lazy page does not keep the write");
    live_finish();
}
