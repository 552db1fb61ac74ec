/* Proves: a MAP_GROWSDOWN region that has already grown keeps its range,
 * content and VM_GROWSDOWN flag and can still grow after restore; and the
 * main stack, grown about 2 MiB deep by recursion with a pattern in every
 * frame, comes back with every frame intact while the program waits at the
 * bottom of the recursion. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "live.h"

enum { GROWSDOWN_SEED = 60, FRAME_SEED = 61, DEPTH = 512, FRAME_BYTES = 4096 };

static size_t page;
static char *grow_start, *grow_end; /* after the pre-checkpoint growth */
static struct live_vma stack_at_bottom;
static int frames_bad;

/* Touching below a growsdown region that cannot grow is a SIGSEGV: turn
 * it into a failed check instead of a dead program. */
static sigjmp_buf touch_failed;
static void on_segv(int sig) {
    (void)sig;
    siglongjmp(touch_failed, 1);
}

/* Not inlined: the sigsetjmp stays out of the recursion's frames. */
static __attribute__((noinline)) bool touch_grows(volatile char *p) {
    struct sigaction sa, old;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_segv;
    sa.sa_flags = SA_NODEFER;
    sigaction(SIGSEGV, &sa, &old);
    bool ok = false;
    if (sigsetjmp(touch_failed, 1) == 0) {
        *p = 1;
        ok = true;
    }
    sigaction(SIGSEGV, &old, NULL);
    return ok;
}

static bool has_growsdown_flag(unsigned long start) {
    char flags[96] = "";
    return live_vma_flags(start, flags, sizeof(flags)) && strstr(flags, "gd") != NULL;
}

static void check_growsdown(void) {
    struct live_vma v;
    if (!live_find_vma(grow_start, &v)) {
        LIVE_EXPECT(false, "the growsdown region at %p is gone", grow_start);
        return;
    }
    LIVE_EXPECT(v.start == (unsigned long)grow_start && v.end == (unsigned long)grow_end && strcmp(v.perms, "rw-p") == 0,
                "growsdown region is %lx-%lx %s, expected %p-%p rw-p", v.start, v.end, v.perms, grow_start, grow_end);
    LIVE_EXPECT(has_growsdown_flag(v.start), "the region lost VM_GROWSDOWN (no \"gd\" in VmFlags)");
    ssize_t bad = live_find_mismatch(grow_start, (size_t)(grow_end - grow_start), GROWSDOWN_SEED);
    LIVE_EXPECT(bad < 0, "growsdown region content differs at offset %zd", bad);
    /* Still grows: touch the page below it. */
    volatile char *below = (volatile char *)grow_start - page;
    if (!touch_grows(below)) {
        LIVE_EXPECT(false, "the growsdown region no longer grows: SIGSEGV touching the page below it");
        return;
    }
    memset(&v, 0, sizeof(v));
    bool found = live_find_vma((const void *)below, &v); /* before LIVE_EXPECT prints v */
    LIVE_EXPECT(found && v.start == (unsigned long)below &&
                    v.end == (unsigned long)grow_end,
                "the growsdown region did not grow down after restore (now %lx-%lx)", v.start, v.end);
}

/* Each frame holds a page-sized pattern of its own; the deepest frame waits
 * for the check, then every frame verifies itself on the way back up. */
static __attribute__((noinline)) void recurse(int depth) {
    volatile char frame[FRAME_BYTES];
    live_fill((char *)frame, sizeof(frame), FRAME_SEED + (uint64_t)depth);
    if (depth + 1 < DEPTH) {
        recurse(depth + 1);
    } else {
        /* The checks at the bottom (maps parsing, formatting) need stack
         * too: extend [stack] for them before it is recorded. */
        live_extend_stack(64 * 1024);
        LIVE_SETUP(live_find_vma((const void *)frame, &stack_at_bottom) ? 0 : -1);
        live_log("stack grown to %lx-%lx (%lu KiB)", stack_at_bottom.start, stack_at_bottom.end,
                 (stack_at_bottom.end - stack_at_bottom.start) >> 10);
        live_ready();
        live_wait_for_check();
        struct live_vma v;
        memset(&v, 0, sizeof(v));
        bool found = live_find_vma((const void *)frame, &v); /* before LIVE_EXPECT prints v */
        LIVE_EXPECT(found && v.start == stack_at_bottom.start &&
                        v.end == stack_at_bottom.end && strcmp(v.path, "[stack]") == 0,
                    "the stack is %lx-%lx %s, was %lx-%lx [stack]", v.start, v.end, v.path, stack_at_bottom.start,
                    stack_at_bottom.end);
        check_growsdown();
    }
    if (live_find_mismatch((const char *)frame, sizeof(frame), FRAME_SEED + (uint64_t)depth) >= 0) frames_bad++;
}

int main(int argc, char **argv) {
    live_init(argc, argv);
    page = live_page_size();

    /* Room to grow: a PROT_NONE reservation whose upper half is unmapped
     * again; an inaccessible neighbour does not count against the stack
     * guard gap, a free 8 MiB does not either. */
    const size_t room = (size_t)16 << 20;
    char *base = LIVE_SETUP(mmap(NULL, room + 4 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
    LIVE_SETUP(munmap(base + room / 2, room / 2 + 4 * page));
    grow_end = base + room + 4 * page;
    char *initial = LIVE_SETUP(mmap(grow_end - 4 * page, 4 * page, PROT_READ | PROT_WRITE,
                                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_FIXED_NOREPLACE, -1, 0));
    /* Grow it by three pages before the checkpoint, then fill all of it. */
    for (int i = 1; i <= 3; i++)
        if (!touch_grows((volatile char *)initial - (size_t)i * page))
            live_fail("setup: SIGSEGV growing the MAP_GROWSDOWN region (kernel or emulator refuses)");
    grow_start = initial - 3 * page;
    struct live_vma v;
    if (!live_find_vma(grow_start, &v) || v.start != (unsigned long)grow_start)
        live_fail("setup: the MAP_GROWSDOWN region did not grow (kernel refuses?)");
    live_fill(grow_start, (size_t)(grow_end - grow_start), GROWSDOWN_SEED);

    recurse(0);
    LIVE_EXPECT(frames_bad == 0, "%d of %d stack frames lost their content", frames_bad, DEPTH);
    live_finish();
}
