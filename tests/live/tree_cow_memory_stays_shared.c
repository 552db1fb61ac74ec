/* Proves: private anonymous memory that children still share copy-on-write
 * with their parent is shared again after restore, not duplicated (seed
 * 002): the summed PSS of the tree stays within 10 % of what it was. And
 * every copy keeps its own content: a page a child rewrote, a range a child
 * dropped with MADV_DONTNEED, a page the parent rewrote after the fork (the
 * children keep the old one). The children are still this process's
 * children (waitpid reaps their verdicts) and keep their PR_SET_PDEATHSIG.
 *
 * Size: STASIS_COW_MIB (default 512) MiB in the parent, 8 children. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "live.h"

enum { CHILDREN = 8, SEED = 42, CHILD_SEED_BASE = 100, PARENT_LATE_SEED = 7 };
enum { PARENT_PAGE = 3, DROP_CHILD = 1, DROP_FIRST = 16, DROP_PAGES = 64 };

static size_t page, len;
static char *mem;

/* Sum of Pss (kB) over the tree. */
static long tree_pss_kb(const pid_t *pids, int n) {
    long total = 0;
    for (int i = 0; i < n; ++i) {
        char path[64], value[64];
        snprintf(path, sizeof path, "/proc/%d/smaps_rollup", pids[i]);
        if (!live_status_field(path, "Pss", value, sizeof value)) return -1;
        total += atol(value);
    }
    return total;
}

/* Which page of the shared area child i owns (rewrote). */
static size_t own_page(int i) { return 100 + (size_t)i * 7; }

/* Checks the child's view; exits 0 when everything is as it left it. */
static int child_verify(int i, pid_t parent) {
    int bad = 0;
    if (getppid() != parent) {
        live_log("child %d: parent is %d, expected %d", i, getppid(), parent);
        ++bad;
    }
    int sig = 0;
    if (prctl(PR_GET_PDEATHSIG, &sig) != 0 || sig != SIGKILL) {
        live_log("child %d: pdeath signal is %d, expected SIGKILL", i, sig);
        ++bad;
    }
    for (size_t p = 0; p < len / page; ++p) {
        const char *at = mem + p * page;
        ssize_t off;
        if (p == own_page(i))
            off = live_find_mismatch(at, page, CHILD_SEED_BASE + (uint64_t)i);
        else if (i == DROP_CHILD && p >= DROP_FIRST && p < DROP_FIRST + DROP_PAGES)
            off = live_find_nonzero(at, page);
        else
            off = live_find_mismatch(at, page, SEED + p);
        if (off >= 0) {
            live_log("child %d: page %zu differs at offset %zd", i, p, off);
            if (++bad > 10) break;
        }
    }
    return bad ? 1 : 0;
}

_Noreturn static void child_main(int i, pid_t parent) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) _exit(2);
    if (getppid() != parent) _exit(2);
    live_fill(mem + own_page(i) * page, page, CHILD_SEED_BASE + (uint64_t)i);
    if (i == DROP_CHILD && madvise(mem + DROP_FIRST * page, DROP_PAGES * page, MADV_DONTNEED) != 0) _exit(2);
    char name[32];
    snprintf(name, sizeof name, "child-%d.ready", i);
    live_touch(name);
    while (!live_file_exists("verify")) live_sleep_ns(10 * 1000 * 1000);
    _exit(child_verify(i, parent));
}

int main(int argc, char **argv) {
    live_init(argc, argv);
    page = live_page_size();
    const char *mib = getenv("STASIS_COW_MIB");
    len = (size_t)(mib ? atol(mib) : 512) << 20;
    if (len < 1024 * page) len = 1024 * page;
    mem = live_mmap_isolated(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (size_t p = 0; p < len / page; ++p) live_fill(mem + p * page, page, SEED + p);

    pid_t self = getpid();
    pid_t pids[CHILDREN + 1] = {self};
    for (int i = 0; i < CHILDREN; ++i) {
        pid_t c = LIVE_SETUP(fork());
        if (c == 0) child_main(i, self);
        pids[i + 1] = c;
    }
    /* The parent's own copy of one page diverges after the fork. */
    live_fill(mem + PARENT_PAGE * page, page, PARENT_LATE_SEED);
    for (int i = 0; i < CHILDREN; ++i) {
        char name[32];
        snprintf(name, sizeof name, "child-%d.ready", i);
        while (!live_file_exists(name)) live_sleep_ns(10 * 1000 * 1000);
    }
    long before = tree_pss_kb(pids, CHILDREN + 1);
    if (before <= 0) live_fail("setup: cannot read the tree's PSS");
    live_log("%zu MiB shared copy-on-write by %d children; tree PSS %ld kB", len >> 20, CHILDREN, before);
    live_ready();
    live_wait_for_check();

    long after = tree_pss_kb(pids, CHILDREN + 1);
    live_log("tree PSS after restore %ld kB (before %ld kB)", after, before);
    LIVE_EXPECT(after > 0 && after <= before + before / 10,
                "tree PSS is %ld kB after restore, %ld kB before: copy-on-write sharing was lost", after, before);
    live_touch("verify");

    for (size_t p = 0; p < len / page; ++p) {
        ssize_t off = live_find_mismatch(mem + p * page, page, p == PARENT_PAGE ? PARENT_LATE_SEED : SEED + p);
        if (off >= 0) {
            LIVE_EXPECT(false, "parent: page %zu differs at offset %zd", p, off);
            break;
        }
    }
    for (int i = 0; i < CHILDREN; ++i) {
        int status = 0;
        pid_t r = waitpid(pids[i + 1], &status, 0);
        LIVE_EXPECT(r == pids[i + 1], "waitpid(%d): %s (no longer our child?)", pids[i + 1], strerror(errno));
        if (r == pids[i + 1])
            LIVE_EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                        "child %d (pid %d) found its memory or identity changed (status 0x%x, see prog.log)", i,
                        pids[i + 1], status);
    }
    live_finish();
}
