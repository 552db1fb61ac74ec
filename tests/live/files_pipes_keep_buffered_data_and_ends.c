/* Proves: pipes and a named FIFO come back as the same pipes, with the data
 * that was queued in them, byte for byte, and still connected:
 *  - pipe A, parent -> child: 100000 bytes queued in a pipe grown to
 *    128 KiB (F_SETPIPE_SZ); the parent's write end at fd 10 and its dup at
 *    fd 11 share one description (O_NONBLOCK set through one shows on the
 *    other, before and after); the child reads exactly the queued bytes,
 *    then what the parent writes after the restore;
 *  - pipe B, child -> parent: filled to the last byte by the child (a full
 *    pipe), drained by the parent after the restore; the child's reply
 *    arrives on it afterwards;
 *  - pipe C: its write end closed before the dump: the read end gives the
 *    queued bytes, then end of file;
 *  - pipe D: one write-end description inherited by both processes (kcmp
 *    KCMP_FILE says same file), its read end in the parent;
 *  - a FIFO in the work directory, written by the child, read by the parent,
 *    reopened by its path (same inode).
 * Under a failed or --leave-running dump the same checks prove the dump
 * read the queued data without consuming it. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/kcmp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "live.h"

enum { A_W = 10, A_W_DUP = 11, B_R = 12, C_R = 13, FIFO_R = 14, D_W = 15, D_R = 16 };
enum { A_R = 20, B_W = 21, FIFO_W = 22 };
enum { A_BYTES = 100000, A_SIZE = 128 * 1024, C_BYTES = 3000, FIFO_BYTES = 1000, D_BYTES = 777 };
enum { A_SEED = 11, B_SEED = 12, C_SEED = 13, FIFO_SEED = 14, D_SEED = 15 };

static char fifo_path[600];

/* Reads exactly len bytes, waiting at most 10 s for each; -1 on timeout/EOF. */
static ssize_t read_exactly(int fd, char *buf, size_t len) {
    size_t got = 0;
    while (got < len) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 10000) <= 0) return (ssize_t)got;
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (n <= 0) return (ssize_t)got;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* Writes all of buf to a non-blocking fd, or fails the setup. */
static void write_all(int fd, const char *buf, size_t len) {
    for (size_t done = 0; done < len;) {
        ssize_t n = write(fd, buf + done, len - done);
        if (n <= 0) live_fail("setup: write %zu bytes to fd %d: %s", len, fd, strerror(errno));
        done += (size_t)n;
    }
}

static char a_data[A_BYTES];

_Noreturn static void child_main(void) {
    for (int fd = A_W; fd <= D_R; fd++)
        if (fd != D_W) close(fd);
    /* Fill pipe B to the last byte. */
    LIVE_SETUP(fcntl(B_W, F_SETFL, O_NONBLOCK));
    static char b[1 << 20];
    int size = LIVE_SETUP(fcntl(B_W, F_GETPIPE_SZ));
    live_fill(b, (size_t)size, B_SEED);
    ssize_t n = write(B_W, b, (size_t)size);
    if (n != size) _exit(3);
    if (write(B_W, "x", 1) != -1 || errno != EAGAIN) _exit(3);
    live_place_fd(LIVE_SETUP(open(fifo_path, O_WRONLY)), FIFO_W);
    char f[FIFO_BYTES];
    live_fill(f, sizeof f, FIFO_SEED);
    if (write(FIFO_W, f, sizeof f) != (ssize_t)sizeof f) _exit(3);
    live_touch("child.ready");
    while (!live_file_exists("verify")) live_sleep_ns(10 * 1000 * 1000);

    int bad = 0;
    if (fcntl(A_R, F_GETFL) & O_NONBLOCK) live_log("child: pipe A read end became O_NONBLOCK"), bad++;
    ssize_t got = read_exactly(A_R, a_data, A_BYTES);
    if (got != A_BYTES) live_log("child: pipe A gave %zd of the %d queued bytes", got, A_BYTES), bad++;
    else if (live_find_mismatch(a_data, A_BYTES, A_SEED) >= 0) live_log("child: pipe A data differs"), bad++;
    char more[4];
    got = read_exactly(A_R, more, 4);
    if (got != 4 || memcmp(more, "more", 4) != 0) live_log("child: no 'more' written after restore"), bad++;
    if (write(B_W, bad ? "no" : "ok", 2) != 2) live_log("child: reply: %s", strerror(errno)), bad++;
    _exit(bad ? 1 : 0);
}

static void link_of(pid_t pid, int fd, char *out, size_t size) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd/%d", pid, fd);
    ssize_t n = readlink(path, out, size - 1);
    out[n > 0 ? n : 0] = '\0';
}

static int same_file(pid_t a, int fa, pid_t b, int fb) {
    return (int)syscall(SYS_kcmp, a, b, KCMP_FILE, fa, fb);
}

int main(int argc, char **argv) {
    live_init(argc, argv);
    int p[2];
    LIVE_SETUP(pipe(p));
    live_place_fd(p[1], A_W);
    live_place_fd(p[0], A_R);
    LIVE_SETUP(fcntl(A_W, F_DUPFD, A_W_DUP));
    LIVE_SETUP(fcntl(A_W, F_SETPIPE_SZ, A_SIZE));
    LIVE_SETUP(fcntl(A_W, F_SETFL, O_NONBLOCK));
    LIVE_SETUP(pipe(p));
    live_place_fd(p[0], B_R);
    live_place_fd(p[1], B_W);
    LIVE_SETUP(fcntl(B_R, F_SETFL, O_NONBLOCK));
    LIVE_SETUP(pipe(p));
    live_place_fd(p[0], C_R);
    char c[C_BYTES];
    live_fill(c, sizeof c, C_SEED);
    write_all(p[1], c, sizeof c);
    close(p[1]);
    LIVE_SETUP(pipe(p));
    live_place_fd(p[0], D_R);
    live_place_fd(p[1], D_W);
    LIVE_SETUP(fcntl(D_R, F_SETFL, O_NONBLOCK));
    live_path(fifo_path, sizeof fifo_path, "fifo");
    LIVE_SETUP(mkfifo(fifo_path, 0600));
    live_place_fd(LIVE_SETUP(open(fifo_path, O_RDONLY | O_NONBLOCK)), FIFO_R);

    pid_t child = LIVE_SETUP(fork());
    if (child == 0) child_main();
    close(A_R);
    close(B_W);
    live_fill(a_data, A_BYTES, A_SEED);
    write_all(A_W, a_data, A_BYTES);
    char d[D_BYTES];
    live_fill(d, sizeof d, D_SEED);
    write_all(D_W, d, sizeof d);
    while (!live_file_exists("child.ready")) live_sleep_ns(10 * 1000 * 1000);
    struct stat fifo_before;
    LIVE_SETUP(fstat(FIFO_R, &fifo_before));
    char a_link_before[64];
    link_of(getpid(), A_W, a_link_before, sizeof a_link_before);
    live_log("pipe A %s: %d bytes queued; pipe B full; pipe C %d bytes then EOF; FIFO %d bytes; child %d", a_link_before,
             A_BYTES, C_BYTES, FIFO_BYTES, child);
    live_ready();
    live_wait_for_check();

    /* One pipe A, its two parent fds one description, the child's end on it. */
    char a_w[64], a_dup[64], a_r[64], d_parent[64], d_child[64];
    link_of(getpid(), A_W, a_w, sizeof a_w);
    link_of(getpid(), A_W_DUP, a_dup, sizeof a_dup);
    link_of(child, A_R, a_r, sizeof a_r);
    LIVE_EXPECT(strncmp(a_w, "pipe:[", 6) == 0 && strcmp(a_w, a_dup) == 0 && strcmp(a_w, a_r) == 0,
                "pipe A ends: fd %d is %s, fd %d is %s, the child's fd %d is %s", A_W, a_w, A_W_DUP, a_dup, A_R, a_r);
    int fl = fcntl(A_W_DUP, F_GETFL);
    LIVE_EXPECT((fl & O_NONBLOCK) && (fl & O_ACCMODE) == O_WRONLY, "fd %d flags %#x, want O_WRONLY|O_NONBLOCK",
                A_W_DUP, fl);
    int kc = same_file(getpid(), A_W, getpid(), A_W_DUP);
    if (kc < 0 && errno == ENOSYS) {
        live_log("no kcmp: description sharing checked through F_SETFL only");
    } else {
        LIVE_EXPECT(kc == 0, "fds %d and %d are no longer one description", A_W, A_W_DUP);
        kc = same_file(getpid(), D_W, child, D_W);
        LIVE_EXPECT(kc == 0, "pipe D's write end is no longer one description in parent and child (kcmp %d)", kc);
    }
    link_of(getpid(), D_W, d_parent, sizeof d_parent);
    link_of(child, D_W, d_child, sizeof d_child);
    LIVE_EXPECT(strcmp(d_parent, d_child) == 0, "pipe D: parent's fd is %s, child's %s", d_parent, d_child);
    int sz = fcntl(A_W, F_GETPIPE_SZ);
    LIVE_EXPECT(sz == A_SIZE, "pipe A is %d bytes, was %d", sz, A_SIZE);

    /* Pipe B: full, every byte as written; then nothing (the writer lives). */
    static char b[1 << 20];
    int b_size = fcntl(B_R, F_GETPIPE_SZ);
    ssize_t got = read_exactly(B_R, b, (size_t)b_size);
    LIVE_EXPECT(got == b_size, "pipe B gave %zd of the %d queued bytes", got, b_size);
    LIVE_EXPECT(got <= 0 || live_find_mismatch(b, (size_t)got, B_SEED) < 0, "pipe B data differs");
    fl = fcntl(B_R, F_GETFL);
    LIVE_EXPECT(fl & O_NONBLOCK, "pipe B's read end lost O_NONBLOCK (flags %#x)", fl);
    ssize_t n = read(B_R, b, 1);
    int err = errno;
    LIVE_EXPECT(n == -1 && err == EAGAIN, "pipe B after its data: read gave %zd (%s), want EAGAIN", n, strerror(err));

    /* Pipe C: the data, then end of file. */
    char c_got[C_BYTES + 1];
    got = read_exactly(C_R, c_got, sizeof c_got);
    LIVE_EXPECT(got == C_BYTES && live_find_mismatch(c_got, C_BYTES, C_SEED) < 0,
                "pipe C gave %zd bytes (want %d, as written) before end of file", got, C_BYTES);

    /* Pipe D. */
    char d_got[D_BYTES];
    got = read_exactly(D_R, d_got, sizeof d_got);
    LIVE_EXPECT(got == D_BYTES && live_find_mismatch(d_got, D_BYTES, D_SEED) < 0, "pipe D gave %zd of %d bytes",
                got, D_BYTES);

    /* The FIFO, by its path. */
    struct stat fifo_now, path_now;
    LIVE_SETUP(fstat(FIFO_R, &fifo_now));
    LIVE_SETUP(stat(fifo_path, &path_now));
    LIVE_EXPECT(S_ISFIFO(fifo_now.st_mode) && fifo_now.st_ino == path_now.st_ino && fifo_now.st_ino == fifo_before.st_ino,
                "fd %d is inode %lu, the FIFO %s is %lu (was %lu)", FIFO_R, (unsigned long)fifo_now.st_ino, fifo_path,
                (unsigned long)path_now.st_ino, (unsigned long)fifo_before.st_ino);
    char f[FIFO_BYTES];
    got = read_exactly(FIFO_R, f, sizeof f);
    LIVE_EXPECT(got == FIFO_BYTES && live_find_mismatch(f, FIFO_BYTES, FIFO_SEED) < 0, "FIFO gave %zd of %d bytes",
                got, FIFO_BYTES);

    /* Clearing O_NONBLOCK through the dup shows on the original. */
    LIVE_SETUP(fcntl(A_W_DUP, F_SETFL, 0));
    fl = fcntl(A_W, F_GETFL);
    LIVE_EXPECT(!(fl & O_NONBLOCK), "fd %d kept O_NONBLOCK after it was cleared through its dup %d", A_W, A_W_DUP);

    /* Still connected both ways. */
    live_touch("verify");
    LIVE_SETUP(write(A_W, "more", 4));
    char reply[2] = {0, 0};
    got = read_exactly(B_R, reply, 2);
    LIVE_EXPECT(got == 2 && memcmp(reply, "ok", 2) == 0, "the child's reply on pipe B: %zd bytes '%.2s'", got, reply);
    int status = 0;
    pid_t r = waitpid(child, &status, 0);
    LIVE_EXPECT(r == child && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                "child %d ended with status %#x (see prog.log)", child, status);
    live_finish();
}
