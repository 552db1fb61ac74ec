/* Proves: an epoll instance comes back with its watch list: each watched fd
 * with its events and data (fdinfo's tfd/events/data lines identical), a
 * nested epoll watching the first, and the watches still work: data queued
 * in the watched pipe before the dump is reported with its data word, an
 * armed one-shot watch fires once and then no more, an
 * eventfd write after the restore wakes the edge-triggered watch, the
 * nested instance reports the first as readable, and EPOLL_CTL_DEL by the
 * original fd number finds the watch (the kernel keys watches by fd
 * number). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "live.h"

enum { PIPE_R = 10, PIPE_W = 11, EVENT = 12, EP = 13, EP_OUTER = 14 };
enum { DATA_PIPE = 0xAAAA, DATA_EVENT = 0xBBBB, DATA_OUT = 0xCCCC, DATA_NESTED = 0xDDDD };

static int compare_lines(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The "tfd: N events: E data: D" part of each watch line, sorted (the
 * kernel lists them in the order of its tree, which follows addresses). */
static void watch_lines(int fd, char *out, size_t size) {
    char path[64];
    static char text[4096];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
    ssize_t n = live_read_file(path, text, sizeof text - 1);
    out[0] = '\0';
    if (n <= 0) return;
    text[n] = '\0';
    char *lines[32];
    int count = 0;
    for (char *line = strtok(text, "\n"); line && count < 32; line = strtok(NULL, "\n")) {
        if (strncmp(line, "tfd:", 4) != 0) continue;
        char *pos = strstr(line, " pos:");
        if (pos) *pos = '\0';
        lines[count++] = line;
    }
    qsort(lines, (size_t)count, sizeof lines[0], compare_lines);
    size_t used = 0;
    for (int i = 0; i < count && used < size; i++) used += (size_t)snprintf(out + used, size - used, "%s\n", lines[i]);
}

static void add(int ep, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev = {.events = events, .data.u64 = data};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) live_fail("setup: watch fd %d: %s", fd, strerror(errno));
}

/* Waits up to 1 s; returns how many events, their data in out. */
static int wait_events(int ep, uint64_t *out, int max) {
    struct epoll_event ev[8];
    int n = epoll_wait(ep, ev, max < 8 ? max : 8, 1000);
    for (int i = 0; i < n; i++) out[i] = ev[i].data.u64;
    return n;
}

static bool has(const uint64_t *data, int n, uint64_t want) {
    for (int i = 0; i < n; i++)
        if (data[i] == want) return true;
    return false;
}

int main(int argc, char **argv) {
    live_init(argc, argv);
    int p[2];
    LIVE_SETUP(pipe(p));
    live_place_fd(p[0], PIPE_R);
    live_place_fd(p[1], PIPE_W);
    live_place_fd(LIVE_SETUP(eventfd(0, EFD_NONBLOCK)), EVENT);
    live_place_fd(LIVE_SETUP(epoll_create1(0)), EP);
    live_place_fd(LIVE_SETUP(epoll_create1(0)), EP_OUTER);
    LIVE_SETUP(fcntl(EP_OUTER, F_SETFD, FD_CLOEXEC));
    add(EP, PIPE_R, EPOLLIN | EPOLLRDHUP, DATA_PIPE);
    add(EP, EVENT, EPOLLIN | EPOLLET, DATA_EVENT);
    add(EP, PIPE_W, EPOLLOUT | EPOLLONESHOT, DATA_OUT);
    add(EP_OUTER, EP, EPOLLIN, DATA_NESTED);
    /* The one-shot EPOLLOUT watch is armed (the pipe is writable: it fires
     * once after the restore, then no more); the pipe has data queued. */
    uint64_t got[8];
    int n;
    LIVE_SETUP(write(PIPE_W, "queued", 6));
    char before[1024], outer_before[256];
    watch_lines(EP, before, sizeof before);
    watch_lines(EP_OUTER, outer_before, sizeof outer_before);
    live_log("watches:\n%s%s", before, outer_before);
    live_ready();
    live_wait_for_check();

    char after[1024], outer_after[256];
    watch_lines(EP, after, sizeof after);
    watch_lines(EP_OUTER, outer_after, sizeof outer_after);
    LIVE_EXPECT(before[0] && strcmp(before, after) == 0, "watch list is now:\n%s\nwas:\n%s", after, before);
    LIVE_EXPECT(outer_before[0] && strcmp(outer_before, outer_after) == 0, "nested watch list is now:\n%s\nwas:\n%s",
                outer_after, outer_before);
    int fdflags = fcntl(EP_OUTER, F_GETFD);
    LIVE_EXPECT(fdflags == FD_CLOEXEC, "nested epoll lost FD_CLOEXEC (%d)", fdflags);

    n = wait_events(EP_OUTER, got, 8);
    LIVE_EXPECT(n == 1 && got[0] == DATA_NESTED, "nested epoll: %d events, want the inner instance readable", n);
    n = wait_events(EP, got, 8);
    LIVE_EXPECT(n == 2 && has(got, n, DATA_PIPE) && has(got, n, DATA_OUT),
                "after restore: %d events, want the queued pipe and the one-shot writable end", n);
    uint64_t one = 1;
    LIVE_SETUP(write(EVENT, &one, sizeof one));
    n = wait_events(EP, got, 8);
    LIVE_EXPECT(n == 2 && has(got, n, DATA_PIPE) && has(got, n, DATA_EVENT),
                "after an eventfd write: %d events, want the pipe and the eventfd (the one-shot fired already)", n);
    n = epoll_ctl(EP, EPOLL_CTL_DEL, PIPE_R, NULL);
    int err = errno;
    LIVE_EXPECT(n == 0, "EPOLL_CTL_DEL of fd %d: %s", PIPE_R, strerror(err));
    char ch[6];
    LIVE_SETUP(read(PIPE_R, ch, sizeof ch));
    live_finish();
}
