/* Proves: a process tree running on a pty pair it holds itself comes back
 * on the same pair:
 *   root (holds the master of pty A at two fds, shared; and the master of
 *   │     pty B, never unlocked, exclusive)
 *   └── leader: session leader, pty A's slave its controlling terminal and
 *       │       fds 0-2, /dev/tty at fd 3, a second slave description
 *       │       (read-only, non-blocking) at fd 4
 *       └── fg: leader of its own group, the terminal's foreground group
 * After restore, every process checks: pts index, termios (flags, c_cc,
 * speeds), window size, packet/lock/exclusive modes, open flags, the
 * session the terminal controls and its foreground group; and bytes
 * written to the master reach the slave, and bytes written to /dev/tty
 * reach the master. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "live.h"

enum { MASTER = 10, MASTER_DUP = 11, LOCKED_MASTER = 12 };

static const struct winsize kSize = {.ws_row = 33, .ws_col = 101, .ws_xpixel = 7, .ws_ypixel = 9};

static void write_result(const char *name, const char *text) {
    char file[64], path[512];
    snprintf(file, sizeof file, "%s.result", name);
    live_write_file_atomic(live_path(path, sizeof path, file), text, strlen(text));
}

static int pty_index(int master) {
    unsigned n = 0;
    return ioctl(master, TIOCGPTN, &n) == 0 ? (int)n : -1;
}

static int int_ioctl(int fd, unsigned long req) {
    int v = -1;
    return ioctl(fd, req, &v) == 0 ? v : -1;
}

static bool same_termios(const struct termios *a, const struct termios *b) {
    return a->c_iflag == b->c_iflag && a->c_oflag == b->c_oflag && a->c_cflag == b->c_cflag &&
           a->c_lflag == b->c_lflag && a->c_line == b->c_line &&
           memcmp(a->c_cc, b->c_cc, sizeof a->c_cc) == 0 && cfgetispeed(a) == cfgetispeed(b) &&
           cfgetospeed(a) == cfgetospeed(b);
}

/* Appends one failed check to msg (processes other than the root report
 * through a file, not LIVE_EXPECT). */
static void note(char *msg, size_t size, bool ok, const char *what) {
    if (ok) return;
    size_t n = strlen(msg);
    snprintf(msg + n, size - n, "%s%s", n ? "; " : "", what);
}

static int expected_index;
static struct termios expected_termios;

/* What every process on the slave checks about it, through `fd`. */
static void check_slave(char *msg, size_t size, int fd, pid_t sid, pid_t fg) {
    char want[64], *name = ttyname(fd);
    snprintf(want, sizeof want, "/dev/pts/%d", expected_index);
    note(msg, size, name && strcmp(name, want) == 0, "ttyname is not the same /dev/pts/N");
    struct termios t;
    note(msg, size, tcgetattr(fd, &t) == 0 && same_termios(&t, &expected_termios), "termios differ");
    struct winsize ws;
    note(msg, size,
         ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row == kSize.ws_row && ws.ws_col == kSize.ws_col &&
             ws.ws_xpixel == kSize.ws_xpixel && ws.ws_ypixel == kSize.ws_ypixel,
         "window size differs");
    note(msg, size, int_ioctl(fd, TIOCGEXCL) == 1, "the slave is no longer exclusive (TIOCGEXCL)");
    pid_t s = -1;
    note(msg, size, ioctl(fd, TIOCGSID, &s) == 0 && s == sid,
         "TIOCGSID: not the controlling terminal of the session");
    note(msg, size, tcgetpgrp(fd) == fg, "tcgetpgrp: another foreground group");
    note(msg, size, getsid(0) == sid, "getsid differs");
}

static pid_t leader_pid;

_Noreturn static void fg_body(void) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    setpgid(0, 0);
    write_result("fg.ready", "");
    (void)live_wait_for_file("verify");
    char msg[1024] = "";
    check_slave(msg, sizeof msg, 0, leader_pid, getpid());
    note(msg, sizeof msg, getpgid(0) == getpid(), "not its own group's leader");
    /* The foreground group reads what the master wrote, and answers
     * through /dev/tty. */
    struct pollfd p = {.fd = 0, .events = POLLIN};
    char buf[16] = "";
    ssize_t n = poll(&p, 1, 5000) == 1 ? read(0, buf, sizeof buf - 1) : -1;
    note(msg, sizeof msg, n == 4 && memcmp(buf, "ping", 4) == 0,
         "the slave did not read 'ping' from the master");
    note(msg, sizeof msg, write(3, "pong", 4) == 4, "write to /dev/tty failed");
    write_result("fg", msg[0] ? msg : "ok");
    (void)live_wait_for_file("done");
    _exit(0);
}

_Noreturn static void leader_body(int slave) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) != 0) _exit(3);
    for (int fd = 0; fd < 3; ++fd) dup2(slave, fd);
    close(slave);
    int tty = open("/dev/tty", O_RDWR | O_NOCTTY);
    char path[64];
    snprintf(path, sizeof path, "/dev/pts/%d", expected_index);
    int second = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
    if (tty < 0 || second < 0 || tty == 4 || dup2(tty, 3) != 3 || dup2(second, 4) != 4) _exit(4);
    if (tty != 3) close(tty);
    if (second != 4) close(second);
    if (ioctl(0, TIOCEXCL) != 0) _exit(4);
    leader_pid = getpid();
    pid_t fg = fork();
    if (fg < 0) _exit(5);
    if (fg == 0) fg_body();
    setpgid(fg, fg);
    if (tcsetpgrp(0, fg) != 0) _exit(6);
    write_result("leader.ready", "");
    (void)live_wait_for_file("verify");
    char msg[1024] = "";
    check_slave(msg, sizeof msg, 0, getpid(), fg);
    struct stat st;
    note(msg, sizeof msg, fstat(3, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(5, 0),
         "fd 3 is no longer /dev/tty");
    note(msg, sizeof msg, tcgetpgrp(3) == fg, "tcgetpgrp through /dev/tty: another foreground group");
    int fl = fcntl(4, F_GETFL), fl0 = fcntl(0, F_GETFL);
    note(msg, sizeof msg, (fl & O_ACCMODE) == O_RDONLY && (fl & O_NONBLOCK), "fd 4 lost O_RDONLY|O_NONBLOCK");
    note(msg, sizeof msg, (fl0 & O_ACCMODE) == O_RDWR && !(fl0 & O_NONBLOCK),
         "fd 0 lost O_RDWR or became non-blocking");
    write_result("leader", msg[0] ? msg : "ok");
    int status;
    waitpid(fg, &status, 0);
    _exit(0);
}

int main(int argc, char **argv) {
    live_init(argc, argv);
    int m = LIVE_SETUP(posix_openpt(O_RDWR | O_NOCTTY));
    live_place_fd(m, MASTER);
    LIVE_SETUP(unlockpt(MASTER));
    expected_index = pty_index(MASTER);
    int slave = LIVE_SETUP(open(ptsname(MASTER), O_RDWR | O_NOCTTY));

    /* Termios nothing sets by default: raw-ish input, no echo, own c_cc,
     * 9600 baud. */
    struct termios t;
    LIVE_SETUP(tcgetattr(slave, &t));
    t.c_iflag = (t.c_iflag & ~(ICRNL | IXON)) | IXANY | IUTF8;
    t.c_oflag &= ~ONLCR;
    t.c_lflag &= ~(ECHO | ICANON);
    t.c_cc[VINTR] = 0x07;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    cfsetispeed(&t, B9600);
    cfsetospeed(&t, B9600);
    LIVE_SETUP(tcsetattr(slave, TCSANOW, &t));
    LIVE_SETUP(tcgetattr(slave, &expected_termios));
    LIVE_SETUP(ioctl(MASTER, TIOCSWINSZ, &kSize));
    int one = 1;
    LIVE_SETUP(ioctl(MASTER, TIOCPKT, &one));
    LIVE_SETUP(fcntl(MASTER, F_SETFL, O_NONBLOCK));
    LIVE_SETUP(dup2(MASTER, MASTER_DUP));

    /* Pty B: only its master, still locked, exclusive. */
    int b = LIVE_SETUP(posix_openpt(O_RDWR | O_NOCTTY));
    live_place_fd(b, LOCKED_MASTER);
    LIVE_SETUP(ioctl(LOCKED_MASTER, TIOCEXCL));
    int index_b = pty_index(LOCKED_MASTER);

    pid_t leader = LIVE_SETUP(fork());
    if (leader == 0) leader_body(slave);
    close(slave);
    (void)live_wait_for_file("leader.ready.result");
    (void)live_wait_for_file("fg.ready.result");
    if (!live_file_exists("leader.ready.result") || !live_file_exists("fg.ready.result"))
        live_fail("setup: the session never got ready");
    char path[512], text[32];
    snprintf(text, sizeof text, "%d", expected_index);
    live_write_file_atomic(live_path(path, sizeof path, "pty.index"), text, strlen(text));
    live_log("root %d: pty %d (leader %d), locked pty %d", getpid(), expected_index, leader, index_b);
    live_ready();
    live_wait_for_check();

    /* The root's own view of its masters. */
    LIVE_EXPECT(pty_index(MASTER) == expected_index, "master: pty index %d, was %d", pty_index(MASTER),
                expected_index);
    LIVE_EXPECT(pty_index(LOCKED_MASTER) == index_b, "locked master: pty index %d, was %d",
                pty_index(LOCKED_MASTER), index_b);
    struct termios now;
    LIVE_EXPECT(tcgetattr(MASTER, &now) == 0 && same_termios(&now, &expected_termios),
                "termios through the master differ");
    LIVE_EXPECT(int_ioctl(MASTER, TIOCGPKT) == 1, "the master left packet mode");
    LIVE_EXPECT(int_ioctl(MASTER, TIOCGPTLCK) == 0, "the master's pty is locked again");
    LIVE_EXPECT(int_ioctl(LOCKED_MASTER, TIOCGPTLCK) == 1, "pty B is no longer locked");
    LIVE_EXPECT(int_ioctl(LOCKED_MASTER, TIOCGEXCL) == 1, "pty B's master is no longer exclusive");
    LIVE_EXPECT(int_ioctl(MASTER, TIOCGEXCL) == 0, "pty A's master became exclusive");
    pid_t sid = -1;
    LIVE_EXPECT(ioctl(MASTER, TIOCGSID, &sid) == 0 && sid == leader, "TIOCGSID on the master: %d, want %d",
                sid, leader);
    int fl = fcntl(MASTER, F_GETFL);
    LIVE_EXPECT((fl & O_NONBLOCK) && (fl & O_ACCMODE) == O_RDWR, "master flags 0x%x", fl);
    /* One description at two fds: a change through one shows at the other. */
    fcntl(MASTER_DUP, F_SETFL, 0);
    LIVE_EXPECT(!(fcntl(MASTER, F_GETFL) & O_NONBLOCK), "fds %d and %d no longer share a description", MASTER,
                MASTER_DUP);
    fcntl(MASTER, F_SETFL, O_NONBLOCK);

    live_write_file_atomic(live_path(path, sizeof path, "verify"), "1", 1);
    LIVE_EXPECT(write(MASTER, "ping", 4) == 4, "write to the master: %s", strerror(errno));
    /* Packet mode: data arrives after a TIOCPKT_DATA (0) byte. */
    char got[16] = "";
    size_t have = 0;
    for (int i = 0; i < 500 && have < 5; ++i) {
        struct pollfd p = {.fd = MASTER, .events = POLLIN};
        if (poll(&p, 1, 10) != 1) continue;
        ssize_t n = read(MASTER, got + have, sizeof got - 1 - have);
        if (n > 0) have += (size_t)n;
    }
    LIVE_EXPECT(have == 5 && got[0] == TIOCPKT_DATA && memcmp(got + 1, "pong", 4) == 0,
                "the master read %zu bytes, not a data packet 'pong' from /dev/tty", have);
    static const char *names[] = {"leader", "fg"};
    for (size_t i = 0; i < 2; ++i) {
        char file[64], result[1024] = "";
        snprintf(file, sizeof file, "%s.result", names[i]);
        (void)live_wait_for_file(file);
        ssize_t n = live_read_file(live_path(path, sizeof path, file), result, sizeof result);
        LIVE_EXPECT(n > 0 && strcmp(result, "ok") == 0, "%s: %s", names[i],
                    n > 0 ? result : "no report after restore");
    }
    live_write_file_atomic(live_path(path, sizeof path, "done"), "1", 1);
    int status = 0;
    pid_t r = waitpid(leader, &status, 0);
    LIVE_EXPECT(r == leader && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                "the leader ended with status 0x%x", status);
    live_finish();
}
