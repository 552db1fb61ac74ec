/* Pre-dumps and an incremental dump on top of them restore the memory as
 * it was at the final dump, never a stale page of an earlier pre-dump.
 *
 * A writer thread keeps rewriting random pages of the first quarter of an
 * 8 MiB area (each page holds the pattern of its generation, the
 * generations live in memory too), while the runner takes pre-dumps (--pre-dumps N). Between them the
 * main thread changes memory in the ways dirty tracking must notice:
 *   after pre-dump 1: an area unmapped and mapped anew at the same address
 *     with other content; pages dropped with MADV_DONTNEED; pages written by
 *     the kernel (read(2) from a pipe); pages written and then made
 *     read-only (the mapping splits);
 *   after pre-dump 2: more pages written; an area moved with mremap(2).
 * After restore every page must hold its latest content. Without the
 * runner's pre-dumps the scenario is a plain memory test. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "live.h"

/* Sizes in bytes: pages are 4 KiB, 16 KiB or 64 KiB. */
#define HOT_BYTES (8u << 20)   /* the writer's area (it writes its first quarter) */
#define COLD_BYTES (4u << 20)  /* changed only in the phases, at pages 0..31 */
#define NEW_BYTES (1u << 20)   /* unmapped and mapped again */
#define MOVED_BYTES (1u << 20) /* moved with mremap */

static size_t page, HOT_PAGES, COLD_PAGES, NEW_PAGES, MOVED_PAGES;
static char *hot, *cold, *renewed, *moved, *moved_to;
static uint32_t *gen;
static atomic_int stop_writer;
static atomic_ulong writes;

static uint64_t hot_seed(size_t i, uint32_t g) { return 0x100000ull * (g + 1) + i; }

static void *writer(void *arg) {
    (void)arg;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    while (!atomic_load(&stop_writer)) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t i = (size_t)(x % (HOT_PAGES / 4));
        /* Generation first: a freeze between the two stores is finished by
         * the same thread after restore, before the check looks. */
        uint32_t g = gen[i] + 1;
        gen[i] = g;
        live_fill(hot + i * page, page, hot_seed(i, g));
        atomic_fetch_add(&writes, 1);
        usleep(1000);
    }
    return NULL;
}

static char *map_anon(size_t pages) {
    char *p = mmap(NULL, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) live_fail("mmap: %s", strerror(errno));
    return p;
}

/* Waits for the runner's pre-dump `n`; false once it asks for the check
 * instead (no more pre-dumps coming). */
static bool wait_pre_dump(int n) {
    char name[32];
    snprintf(name, sizeof name, "predumped.%d", n);
    for (;;) {
        if (live_file_exists(name)) return true;
        if (live_file_exists("check")) return false;
        usleep(10000);
    }
}

static void phase_done(int n) {
    char name[32];
    snprintf(name, sizeof name, "phase.%d", n);
    live_touch(name);
}

static void phase1(void) {
    /* A new mapping where an old one was: nothing of it is tracked. */
    if (munmap(renewed, NEW_PAGES * page) != 0) live_fail("munmap: %s", strerror(errno));
    char *again = mmap(renewed, NEW_PAGES * page, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (again != renewed) live_fail("map again at %p: %s", (void *)renewed, strerror(errno));
    live_fill(renewed, NEW_PAGES * page, 0xB2);
    /* Pages dropped: they read as zero, not as the pre-dump's copy. */
    if (madvise(cold, 4 * page, MADV_DONTNEED) != 0) live_fail("madvise: %s", strerror(errno));
    /* Pages written by the kernel on our behalf. */
    int p[2];
    LIVE_SETUP(pipe(p));
    char *buf = cold + 10 * page;
    char src[4096];
    for (size_t off = 0; off < 2 * page; off += sizeof src) {
        live_fill(src, sizeof src, 0xCC00 + off);
        if (write(p[1], src, sizeof src) != (ssize_t)sizeof src) live_fail("pipe write: %s", strerror(errno));
        if (read(p[0], buf + off, sizeof src) != (ssize_t)sizeof src) live_fail("pipe read: %s", strerror(errno));
    }
    close(p[0]);
    close(p[1]);
    /* Written, then read-only: the mapping splits around them. */
    live_fill(cold + 20 * page, 2 * page, 0xD1);
    if (mprotect(cold + 20 * page, 2 * page, PROT_READ) != 0) live_fail("mprotect: %s", strerror(errno));
}

static void phase2(void) {
    live_fill(cold + 30 * page, 2 * page, 0xE1);
    /* Moved: the content stays, at another address. */
    char *to = mremap(moved, MOVED_PAGES * page, MOVED_PAGES * page, MREMAP_MAYMOVE | MREMAP_FIXED, moved_to);
    if (to != moved_to) live_fail("mremap: %s", strerror(errno));
    moved = NULL;
}

static void check_cold_page(size_t i, bool phase1_ran, bool phase2_ran) {
    char *p = cold + i * page;
    ssize_t bad;
    if (phase1_ran && i < 4) {
        bad = live_find_nonzero(p, page);
        LIVE_EXPECT(bad < 0, "cold page %zu was dropped but holds data at %zd", i, bad);
        return;
    }
    if (phase1_ran && (i == 10 || i == 11)) {
        bool same = true;
        for (size_t off = 0; off < page; off += 4096)
            same &= live_find_mismatch(p + off, 4096, 0xCC00 + (i - 10) * page + off) < 0;
        LIVE_EXPECT(same, "cold page %zu (written by read(2)) lost its content", i);
        return;
    }
    uint64_t seed = 0xC0000 + i;
    if (phase1_ran && (i == 20 || i == 21)) {
        bad = live_find_mismatch(p, page, 0xD1);
        if (bad >= 0) bad = live_find_mismatch(cold + 20 * page, 2 * page, 0xD1);
        LIVE_EXPECT(bad < 0, "cold page %zu (then read-only) differs at %zd", i, bad);
        return;
    }
    if (phase2_ran && (i == 30 || i == 31)) {
        bad = live_find_mismatch(cold + 30 * page, 2 * page, 0xE1);
        LIVE_EXPECT(bad < 0, "cold page %zu (written after pre-dump 2) differs at %zd", i, bad);
        return;
    }
    bad = live_find_mismatch(p, page, seed);
    LIVE_EXPECT(bad < 0, "cold page %zu differs at %zd", i, bad);
}

int main(int argc, char **argv) {
    live_init(argc, argv);
    page = live_page_size();
    HOT_PAGES = HOT_BYTES / page;
    COLD_PAGES = COLD_BYTES / page;
    NEW_PAGES = NEW_BYTES / page;
    MOVED_PAGES = MOVED_BYTES / page;
    hot = map_anon(HOT_PAGES);
    gen = (uint32_t *)map_anon((HOT_PAGES * sizeof *gen + page - 1) / page);
    cold = map_anon(COLD_PAGES);
    renewed = map_anon(NEW_PAGES);
    moved = map_anon(MOVED_PAGES);
    /* A place to move to, reserved now so that nothing else lands there. */
    moved_to = mmap(NULL, MOVED_PAGES * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (moved_to == MAP_FAILED) live_fail("reserve: %s", strerror(errno));
    for (size_t i = 0; i < HOT_PAGES; ++i) live_fill(hot + i * page, page, hot_seed(i, 0));
    for (size_t i = 0; i < COLD_PAGES; ++i) live_fill(cold + i * page, page, 0xC0000 + i);
    live_fill(renewed, NEW_PAGES * page, 0xB1);
    live_fill(moved, MOVED_PAGES * page, 0xF1);

    pthread_t th;
    if (pthread_create(&th, NULL, writer, NULL) != 0) live_fail("pthread_create");
    live_touch("phases");
    live_ready();

    bool ran1 = false, ran2 = false;
    if (wait_pre_dump(1)) {
        phase1();
        ran1 = true;
        phase_done(1);
        if (wait_pre_dump(2)) {
            phase2();
            ran2 = true;
            phase_done(2);
        }
    }
    live_wait_for_check();
    atomic_store(&stop_writer, 1);
    pthread_join(th, NULL);
    live_log("writer made %lu writes; phases: %d %d", (unsigned long)atomic_load(&writes), ran1, ran2);

    size_t bad_hot = 0, first_bad = 0;
    for (size_t i = 0; i < HOT_PAGES; ++i) {
        if (live_find_mismatch(hot + i * page, page, hot_seed(i, gen[i])) >= 0) {
            if (!bad_hot++) first_bad = i;
        }
    }
    LIVE_EXPECT(bad_hot == 0, "%zu hot pages do not hold their latest generation (first: page %zu, gen %u)", bad_hot,
                first_bad, gen[first_bad]);
    for (size_t i = 0; i < COLD_PAGES; ++i) check_cold_page(i, ran1, ran2);
    ssize_t bad = live_find_mismatch(renewed, NEW_PAGES * page, ran1 ? 0xB2 : 0xB1);
    LIVE_EXPECT(bad < 0, "the area mapped anew differs at %zd", bad);
    bad = live_find_mismatch(ran2 ? moved_to : moved, MOVED_PAGES * page, 0xF1);
    LIVE_EXPECT(bad < 0, "the moved area differs at %zd", bad);
    live_finish();
}
