/* Proves: inotify instances come back with every watch at its old wd
 * number, mask and target, and the watches work:
 *  - fdinfo's watch lines (wd, inode, device, mask, file handle) are
 *    identical, so no throwaway watch used to skip numbers is left over;
 *  - the instance flags: O_NONBLOCK and FD_CLOEXEC on one, neither on the
 *    other (whose only watch is at wd 3000: 2999 numbers skipped), and no
 *    IN_IGNORED of a skipped number is left in its queue;
 *  - events after the restore carry the stored wds and names: a file
 *    created and deleted in a watched directory, a modified file watched
 *    IN_ONESHOT (fires once, then IN_IGNORED), a directory whose mask was
 *    grown with IN_MASK_ADD (IN_CREATE and IN_ATTRIB both reported), a
 *    symlink watched with IN_DONT_FOLLOW (its own attributes);
 *  - an epoll instance watching the inotify fd reports it readable;
 *  - inotify_rm_watch by a stored wd works (IN_IGNORED follows), a wd that
 *    was removed before the dump stays unknown (EINVAL), and the next new
 *    watch gets the number after the highest one, as before;
 *  - an event queued and not read at dump time: still queued when the
 *    process was not restored (no checkpoint, --leave-running: the dump
 *    never reads it), gone after a restore (stasis cannot save it). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "live.h"

enum { IN = 10, IN_BLOCKING = 11, EP = 12 };
enum { FAR_WD = 3000 };

static char dir_a[512], dir_b[512], dir_far[512], file_c[512], link_d[512], file_gone[512], path_buf[600];
static int wd_a, wd_c, wd_b, wd_d, wd_gone, wd_far;

static int compare_lines(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The "inotify wd:..." lines of fd's fdinfo, sorted. */
static void watch_lines(int fd, char *out, size_t size) {
    char path[64];
    static char text[8192];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
    ssize_t n = live_read_file(path, text, sizeof text - 1);
    out[0] = '\0';
    if (n <= 0) return;
    text[n] = '\0';
    char *lines[32];
    int count = 0;
    for (char *line = strtok(text, "\n"); line && count < 32; line = strtok(NULL, "\n"))
        if (strncmp(line, "inotify ", 8) == 0) lines[count++] = line;
    qsort(lines, (size_t)count, sizeof lines[0], compare_lines);
    size_t used = 0;
    for (int i = 0; i < count && used < size; i++) used += (size_t)snprintf(out + used, size - used, "%s\n", lines[i]);
}

/* Field 22 of /proc/self/stat: a restored process is a new one. */
static unsigned long long start_time(void) {
    char text[1024];
    ssize_t n = live_read_file("/proc/self/stat", text, sizeof text);
    char *p = n > 0 ? strrchr(text, ')') : NULL;
    unsigned long long t = 0;
    if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &t) != 1)
        t = 0;
    return t;
}

struct event {
    int wd;
    uint32_t mask;
    char name[64];
};

/* Reads what is queued now (the instance is non-blocking or FIONREAD says
 * there is something), up to max events. */
static int read_events(int fd, struct event *out, int max) {
    _Alignas(struct inotify_event) char buf[4096];
    int queued = 0;
    if (ioctl(fd, FIONREAD, &queued) != 0 || queued == 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf);
    int count = 0;
    for (ssize_t off = 0; n > 0 && off < n && count < max;) {
        struct inotify_event *e = (struct inotify_event *)(buf + off);
        out[count].wd = e->wd;
        out[count].mask = e->mask;
        snprintf(out[count].name, sizeof out[count].name, "%s", e->len ? e->name : "");
        count++;
        off += (ssize_t)(sizeof *e + e->len);
    }
    return count;
}

static bool has_event(const struct event *ev, int n, int wd, uint32_t mask, const char *name) {
    for (int i = 0; i < n; i++)
        if (ev[i].wd == wd && (ev[i].mask & mask) == mask && strcmp(ev[i].name, name) == 0) return true;
    return false;
}

static char *in_dir(const char *dir, const char *name) {
    if ((size_t)snprintf(path_buf, sizeof path_buf, "%.400s/%.64s", dir, name) >= sizeof path_buf)
        live_fail("path %s/%s too long", dir, name);
    return path_buf;
}

static void setup_paths(void) {
    live_path(dir_a, sizeof dir_a, "watched_a");
    live_path(dir_b, sizeof dir_b, "watched_b");
    live_path(dir_far, sizeof dir_far, "watched_far");
    live_path(file_c, sizeof file_c, "watched_file");
    live_path(link_d, sizeof link_d, "watched_link");
    live_path(file_gone, sizeof file_gone, "unwatched_before_dump");
    LIVE_SETUP(mkdir(dir_a, 0755));
    LIVE_SETUP(mkdir(dir_b, 0755));
    LIVE_SETUP(mkdir(dir_far, 0755));
    LIVE_SETUP(close(LIVE_SETUP(open(file_c, O_CREAT | O_WRONLY | O_CLOEXEC, 0644))));
    LIVE_SETUP(close(LIVE_SETUP(open(file_gone, O_CREAT | O_WRONLY | O_CLOEXEC, 0644))));
    LIVE_SETUP(symlink(file_c, link_d));
}

static void drain(int fd) {
    struct event ev[64];
    while (read_events(fd, ev, 64) > 0) {
    }
}

static void setup_watches(void) {
    live_place_fd(LIVE_SETUP(inotify_init1(IN_NONBLOCK | IN_CLOEXEC)), IN);
    LIVE_SETUP(fcntl(IN, F_SETFD, FD_CLOEXEC));  /* dup2 in live_place_fd dropped it */
    wd_a = LIVE_SETUP(inotify_add_watch(IN, dir_a, IN_CREATE | IN_DELETE | IN_ONLYDIR));
    /* Numbers 2..4 used and given back: the next watches are 5 and up. */
    for (int i = 0; i < 3; i++) LIVE_SETUP(inotify_rm_watch(IN, LIVE_SETUP(inotify_add_watch(IN, file_gone, IN_OPEN))));
    wd_c = LIVE_SETUP(inotify_add_watch(IN, file_c, IN_MODIFY | IN_ONESHOT));
    wd_b = LIVE_SETUP(inotify_add_watch(IN, dir_b, IN_CREATE | IN_EXCL_UNLINK));
    if (LIVE_SETUP(inotify_add_watch(IN, dir_b, IN_ATTRIB | IN_MASK_ADD)) != wd_b) live_fail("setup: IN_MASK_ADD moved wd");
    wd_gone = LIVE_SETUP(inotify_add_watch(IN, file_gone, IN_OPEN));
    wd_d = LIVE_SETUP(inotify_add_watch(IN, link_d, IN_ATTRIB | IN_DONT_FOLLOW));
    LIVE_SETUP(inotify_rm_watch(IN, wd_gone));

    /* Blocking, inherited across exec, one watch far up. */
    live_place_fd(LIVE_SETUP(inotify_init1(IN_NONBLOCK)), IN_BLOCKING);
    for (int i = 1; i < FAR_WD; i++)
        LIVE_SETUP(inotify_rm_watch(IN_BLOCKING, LIVE_SETUP(inotify_add_watch(IN_BLOCKING, file_gone, IN_OPEN))));
    drain(IN_BLOCKING);
    wd_far = LIVE_SETUP(inotify_add_watch(IN_BLOCKING, dir_far, IN_CREATE));
    if (wd_far != FAR_WD) live_fail("setup: far watch got wd %d, not %d", wd_far, FAR_WD);
    LIVE_SETUP(fcntl(IN_BLOCKING, F_SETFL, 0));

    live_place_fd(LIVE_SETUP(epoll_create1(EPOLL_CLOEXEC)), EP);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x1234};
    LIVE_SETUP(epoll_ctl(EP, EPOLL_CTL_ADD, IN, &ev));
    drain(IN);
}

static void check_flags(void) {
    int fl = fcntl(IN, F_GETFL), fd_fl = fcntl(IN, F_GETFD);
    LIVE_EXPECT(fl >= 0 && (fl & O_NONBLOCK), "inotify fd %d lost O_NONBLOCK (flags %#x)", IN, fl);
    LIVE_EXPECT(fd_fl == FD_CLOEXEC, "inotify fd %d lost FD_CLOEXEC (%d)", IN, fd_fl);
    fl = fcntl(IN_BLOCKING, F_GETFL);
    fd_fl = fcntl(IN_BLOCKING, F_GETFD);
    LIVE_EXPECT(fl >= 0 && !(fl & O_NONBLOCK), "inotify fd %d became non-blocking (flags %#x)", IN_BLOCKING, fl);
    LIVE_EXPECT(fd_fl == 0, "inotify fd %d got FD_CLOEXEC (%d)", IN_BLOCKING, fd_fl);
    int queued = -1;
    LIVE_EXPECT(ioctl(IN_BLOCKING, FIONREAD, &queued) == 0 && queued == 0,
                "inotify fd %d has %d bytes queued (IN_IGNORED of skipped numbers?)", IN_BLOCKING, queued);
}

/* The event queued before the dump: kept unless the process was restored. */
static void check_queued_before_dump(bool restored) {
    struct event ev[8];
    int n = read_events(IN, ev, 8);
    bool there = has_event(ev, n, wd_a, IN_CREATE, "before_dump");
    if (restored)
        LIVE_EXPECT(n == 0, "restored: %d events queued, want none (unread events are not saved)", n);
    else
        LIVE_EXPECT(n == 1 && there, "not restored: %d events queued, want the one queued before the dump", n);
}

static void check_events(void) {
    struct event ev[16];
    int n;
    LIVE_SETUP(close(LIVE_SETUP(open(in_dir(dir_far, "far"), O_CREAT | O_WRONLY | O_CLOEXEC, 0644))));
    n = read_events(IN_BLOCKING, ev, 16);
    LIVE_EXPECT(n == 1 && has_event(ev, n, FAR_WD, IN_CREATE, "far"), "far watch: %d events, want IN_CREATE 'far' on wd %d",
                n, FAR_WD);

    LIVE_SETUP(close(LIVE_SETUP(open(in_dir(dir_a, "new"), O_CREAT | O_WRONLY | O_CLOEXEC, 0644))));
    LIVE_SETUP(unlink(in_dir(dir_a, "new")));
    struct epoll_event eev;
    int ready = epoll_wait(EP, &eev, 1, 1000);
    LIVE_EXPECT(ready == 1 && eev.data.u64 == 0x1234, "epoll on the inotify fd: %d ready, want it readable", ready);
    int fd = LIVE_SETUP(open(file_c, O_WRONLY | O_CLOEXEC));
    LIVE_SETUP(write(fd, "x", 1));
    LIVE_SETUP(write(fd, "y", 1));
    LIVE_SETUP(close(fd));
    LIVE_SETUP(close(LIVE_SETUP(open(in_dir(dir_b, "b_new"), O_CREAT | O_WRONLY | O_CLOEXEC, 0644))));
    LIVE_SETUP(chmod(dir_b, 0700));
    struct timespec times[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
    LIVE_SETUP(utimensat(AT_FDCWD, link_d, times, AT_SYMLINK_NOFOLLOW));

    n = read_events(IN, ev, 16);
    LIVE_EXPECT(has_event(ev, n, wd_a, IN_CREATE, "new") && has_event(ev, n, wd_a, IN_DELETE, "new"),
                "no IN_CREATE/IN_DELETE 'new' on wd %d (%d events)", wd_a, n);
    int modifies = 0;
    for (int i = 0; i < n; i++) modifies += ev[i].wd == wd_c && (ev[i].mask & IN_MODIFY);
    LIVE_EXPECT(modifies == 1, "one-shot wd %d reported %d IN_MODIFY, want exactly 1", wd_c, modifies);
    LIVE_EXPECT(has_event(ev, n, wd_c, IN_IGNORED, ""), "one-shot wd %d: no IN_IGNORED after it fired", wd_c);
    LIVE_EXPECT(has_event(ev, n, wd_b, IN_CREATE, "b_new"), "no IN_CREATE 'b_new' on wd %d", wd_b);
    LIVE_EXPECT(has_event(ev, n, wd_b, IN_ATTRIB | IN_ISDIR, ""), "no IN_ATTRIB (added with IN_MASK_ADD) on wd %d", wd_b);
    LIVE_EXPECT(has_event(ev, n, wd_d, IN_ATTRIB, ""), "no IN_ATTRIB of the symlink itself on wd %d", wd_d);
    for (int i = 0; i < n; i++)
        LIVE_EXPECT(ev[i].wd == wd_a || ev[i].wd == wd_b || ev[i].wd == wd_c || ev[i].wd == wd_d,
                    "event %#x '%s' on unknown wd %d", ev[i].mask, ev[i].name, ev[i].wd);
}

static void check_rm_and_next(void) {
    struct event ev[8];
    int r = inotify_rm_watch(IN, wd_b);
    int err = errno;
    LIVE_EXPECT(r == 0, "inotify_rm_watch(wd %d): %s", wd_b, strerror(err));
    int n = read_events(IN, ev, 8);
    LIVE_EXPECT(n == 1 && has_event(ev, n, wd_b, IN_IGNORED, ""), "rm_watch wd %d: %d events, want IN_IGNORED", wd_b, n);
    r = inotify_rm_watch(IN, wd_gone);
    err = errno;
    LIVE_EXPECT(r == -1 && err == EINVAL, "wd %d removed before the dump: rm_watch gave %d (%s), want EINVAL", wd_gone, r,
                strerror(err));
    int next = inotify_add_watch(IN, file_gone, IN_OPEN);
    LIVE_EXPECT(next == wd_d + 1, "a new watch got wd %d, want %d (after the highest)", next, wd_d + 1);
}

int main(int argc, char **argv) {
    live_init(argc, argv);
    setup_paths();
    setup_watches();
    char before[4096], far_before[512];
    watch_lines(IN, before, sizeof before);
    watch_lines(IN_BLOCKING, far_before, sizeof far_before);
    live_log("watches:\n%s%s", before, far_before);
    /* Queued and never read before the check. */
    LIVE_SETUP(close(LIVE_SETUP(open(in_dir(dir_a, "before_dump"), O_CREAT | O_WRONLY | O_CLOEXEC, 0644))));
    unsigned long long started = start_time();
    live_ready();
    live_wait_for_check();

    char after[4096], far_after[512];
    watch_lines(IN, after, sizeof after);
    watch_lines(IN_BLOCKING, far_after, sizeof far_after);
    LIVE_EXPECT(before[0] && strcmp(before, after) == 0, "watches now:\n%s\nwere:\n%s", after, before);
    LIVE_EXPECT(far_before[0] && strcmp(far_before, far_after) == 0, "far watch now:\n%s\nwas:\n%s", far_after,
                far_before);
    check_flags();
    check_queued_before_dump(start_time() != started);
    check_events();
    check_rm_and_next();
    live_finish();
}
