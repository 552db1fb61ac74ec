/* Proves: the fd table comes back exactly — the same fd numbers (with the
 * holes between them), each with its open flags, FD_CLOEXEC flag, file and
 * offset: a read-write file at a non-zero offset, a dup of it that still
 * shares that offset, an O_APPEND file whose writes still land at the end
 * (after a write made by someone else meanwhile), a read-only file that
 * stays read-only, /dev/null, a directory fd that still resolves relative
 * paths, and stdout/stderr on the log file, sharing one offset that goes on
 * where it was. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "live.h"

enum { RW_FD = 100, RW_DUP_FD = 101, APPEND_FD = 102, RO_FD = 103, NULL_FD = 104, DIR_FD = 105 };
enum { RW_SEED = 70, RW_SIZE = 10000, RW_OFFSET = 1234, RO_OFFSET = 7 };
static const char ro_text[] = "read-only file: 0123456789abcdefghijklmnopqrstuvwxyz\n";

struct fd_state {
    int fd;
    int fl, fdflags;
    struct stat st;
    off_t offset;
};
static struct fd_state before[64], after[64];
static int nbefore, nafter;

static int list_fds(struct fd_state *out, int max) {
    int fds[64];
    int n = live_list_fds(fds, max < 64 ? max : 64);
    if (n < 0) live_fail("listing /proc/self/fd: %s", strerror(errno));
    for (int i = 0; i < n; i++) {
        int fd = fds[i];
        out[i].fd = fd;
        out[i].fl = fcntl(fd, F_GETFL);
        out[i].fdflags = fcntl(fd, F_GETFD);
        fstat(fd, &out[i].st);
        out[i].offset = lseek(fd, 0, SEEK_CUR);
    }
    return n;
}

static int place(int fd, int at, bool cloexec) {
    if (dup3(fd, at, cloexec ? O_CLOEXEC : 0) != at) live_fail("setup: dup3 to %d: %s", at, strerror(errno));
    close(fd);
    return at;
}

int main(int argc, char **argv) {
    live_init(argc, argv);
    char rw_path[600], append_path[600], ro_path[600];
    static char rw_content[RW_SIZE];
    live_fill(rw_content, sizeof(rw_content), RW_SEED);

    live_path(rw_path, sizeof(rw_path), "rw.txt");
    int fd = place(LIVE_SETUP(open(rw_path, O_RDWR | O_CREAT | O_TRUNC, 0644)), RW_FD, true);
    LIVE_SETUP(write(fd, rw_content, RW_SIZE) == RW_SIZE ? 0 : -1);
    LIVE_SETUP(lseek(fd, RW_OFFSET, SEEK_SET));
    LIVE_SETUP(fcntl(RW_FD, F_DUPFD, RW_DUP_FD)); /* no FD_CLOEXEC on the dup */

    live_path(append_path, sizeof(append_path), "append.txt");
    fd = place(LIVE_SETUP(open(append_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644)), APPEND_FD, false);
    LIVE_SETUP(write(fd, "one\n", 4));

    live_path(ro_path, sizeof(ro_path), "ro.txt");
    fd = LIVE_SETUP(open(ro_path, O_WRONLY | O_CREAT | O_TRUNC, 0644));
    LIVE_SETUP(write(fd, ro_text, sizeof(ro_text) - 1));
    close(fd);
    fd = place(LIVE_SETUP(open(ro_path, O_RDONLY | O_NOATIME)), RO_FD, true);
    LIVE_SETUP(lseek(fd, RO_OFFSET, SEEK_SET));

    place(LIVE_SETUP(open("/dev/null", O_RDWR)), NULL_FD, false);
    place(LIVE_SETUP(open(live_workdir(), O_RDONLY | O_DIRECTORY)), DIR_FD, true);

    live_log("fds %d..%d open; stdout is the log", RW_FD, DIR_FD);
    nbefore = list_fds(before, 64);
    off_t log_offset = lseek(STDOUT_FILENO, 0, SEEK_CUR);

    live_ready();
    live_wait_for_check();

    /* stdout first: nothing may be logged before this. */
    off_t out_now = lseek(STDOUT_FILENO, 0, SEEK_CUR), err_now = lseek(STDERR_FILENO, 0, SEEK_CUR);
    static const char marker[] = "after-restore marker\n";
    ssize_t w = write(STDOUT_FILENO, marker, sizeof(marker) - 1);
    off_t err_after = lseek(STDERR_FILENO, 0, SEEK_CUR);
    LIVE_EXPECT(out_now == log_offset, "stdout offset is %lld, was %lld", (long long)out_now, (long long)log_offset);
    LIVE_EXPECT(err_now == log_offset, "stderr offset is %lld, was %lld", (long long)err_now, (long long)log_offset);
    LIVE_EXPECT(w == sizeof(marker) - 1 && err_after == out_now + w,
                "stdout and stderr no longer share one offset (stderr at %lld after writing to stdout)",
                (long long)err_after);
    char log_path[600], got[sizeof(marker)] = "";
    int lfd = open(live_path(log_path, sizeof(log_path), "prog.log"), O_RDONLY);
    LIVE_EXPECT(lfd >= 0 && pread(lfd, got, sizeof(marker) - 1, log_offset) == sizeof(marker) - 1 &&
                    strcmp(got, marker) == 0,
                "a write to stdout did not land in prog.log at offset %lld", (long long)log_offset);
    if (lfd >= 0) close(lfd);

    /* The table as a whole. */
    nafter = list_fds(after, 64);
    LIVE_EXPECT(nafter == nbefore, "%d fds open, were %d", nafter, nbefore);
    for (int i = 0; i < nbefore; i++) {
        const struct fd_state *b = &before[i], *a = NULL;
        for (int j = 0; j < nafter; j++)
            if (after[j].fd == b->fd) a = &after[j];
        if (!a) {
            LIVE_EXPECT(false, "fd %d is not open any more", b->fd);
            continue;
        }
        LIVE_EXPECT(a->fl == b->fl, "fd %d: open flags %#o, were %#o", b->fd, a->fl, b->fl);
        LIVE_EXPECT(a->fdflags == b->fdflags, "fd %d: fd flags %d, were %d", b->fd, a->fdflags, b->fdflags);
        LIVE_EXPECT(a->st.st_dev == b->st.st_dev && a->st.st_ino == b->st.st_ino && a->st.st_rdev == b->st.st_rdev &&
                        a->st.st_mode == b->st.st_mode,
                    "fd %d: now a different file (ino %lu, was %lu)", b->fd, (unsigned long)a->st.st_ino,
                    (unsigned long)b->st.st_ino);
        if (b->fd > STDERR_FILENO)
            LIVE_EXPECT(a->offset == b->offset, "fd %d: offset %lld, was %lld", b->fd, (long long)a->offset,
                        (long long)b->offset);
    }

    /* Read-write file and its dup: one offset. */
    char buf[128];
    LIVE_EXPECT(read(RW_FD, buf, 100) == 100 && memcmp(buf, rw_content + RW_OFFSET, 100) == 0,
                "reading fd %d at its offset gives the wrong bytes", RW_FD);
    LIVE_EXPECT(lseek(RW_DUP_FD, 0, SEEK_CUR) == RW_OFFSET + 100,
                "the dup (fd %d) no longer shares the offset of fd %d (at %lld)", RW_DUP_FD, RW_FD,
                (long long)lseek(RW_DUP_FD, 0, SEEK_CUR));
    LIVE_EXPECT(write(RW_DUP_FD, "XYZ", 3) == 3 && pread(RW_FD, buf, 3, RW_OFFSET + 100) == 3 &&
                    memcmp(buf, "XYZ", 3) == 0,
                "a write through the dup did not land in the file at the shared offset");

    /* O_APPEND: lands at the end even after someone else appended. */
    int other = open(append_path, O_WRONLY | O_APPEND);
    LIVE_EXPECT(other >= 0 && write(other, "external\n", 9) == 9, "cannot append to %s", append_path);
    if (other >= 0) close(other);
    LIVE_EXPECT(write(APPEND_FD, "two\n", 4) == 4, "write to the O_APPEND fd: %s", strerror(errno));
    char all[64] = "";
    live_read_file(append_path, all, sizeof(all));
    LIVE_EXPECT(strcmp(all, "one\nexternal\ntwo\n") == 0, "append.txt holds \"%s\"", all);

    /* Read-only: reads from its offset, refuses writes. */
    memset(buf, 0, sizeof(buf));
    LIVE_EXPECT(read(RO_FD, buf, 10) == 10 && memcmp(buf, ro_text + RO_OFFSET, 10) == 0,
                "read-only fd reads \"%.10s\" at its offset", buf);
    LIVE_EXPECT(write(RO_FD, "x", 1) == -1 && errno == EBADF, "the read-only fd accepts writes");

    /* /dev/null and the directory. */
    LIVE_EXPECT(write(NULL_FD, "gone", 4) == 4 && read(NULL_FD, buf, 4) == 0, "fd %d does not behave like /dev/null",
                NULL_FD);
    struct stat st, via_dir;
    LIVE_EXPECT(fstat(NULL_FD, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3),
                "fd %d is not /dev/null", NULL_FD);
    int rel = openat(DIR_FD, "rw.txt", O_RDONLY);
    LIVE_EXPECT(rel >= 0 && fstat(rel, &via_dir) == 0 && fstat(RW_FD, &st) == 0 && via_dir.st_ino == st.st_ino,
                "the directory fd no longer resolves rw.txt");
    if (rel >= 0) close(rel);
    live_finish();
}
