/* For the failure test of ptys with one end outside the dumped tree:
 *   pty_end_outside slave-inside READY   the child (to be dumped) is a session
 *       leader on the slave (its controlling terminal, fds 0-2); the master
 *       stays in this parent, outside the dump, as in a terminal emulator.
 *   pty_end_outside master-inside READY  the child holds the master; this
 *       parent holds the slave.
 *   pty_end_outside queued READY         holds both ends itself (no child), with
 *       "ping" written to the master (fd 10) and not read from the slave (fd 11).
 *   pty_end_outside hold-index N READY   holds /dev/pts/N (opens /dev/ptmx until
 *       the kernel hands out N); exits 77 when N is taken already.
 * Writes the child's PID (hold-index: its own) to READY, then sleeps until
 * killed; the child dies with this parent. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <unistd.h>

static void write_ready(const char *path, pid_t pid) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%d\n", pid) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) exit(1);
}

static int hold_index(unsigned want, const char *ready) {
    for (;;) {
        int m = posix_openpt(O_RDWR | O_NOCTTY);
        unsigned n = 0;
        if (m < 0 || ioctl(m, TIOCGPTN, &n) != 0) return 1;
        if (n == want) break;
        if (n > want) return 77;
        /* kept open: the next open gets the next free index */
    }
    write_ready(ready, getpid());
    for (;;) pause();
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "hold-index") == 0) return hold_index((unsigned)atoi(argv[2]), argv[3]);
    if (argc != 3) {
        fprintf(stderr, "usage: %s slave-inside|master-inside|queued READY | hold-index N READY\n", argv[0]);
        return 2;
    }
    int master_inside = strcmp(argv[1], "master-inside") == 0;
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0) return 1;
    int s = open(ptsname(m), O_RDWR | O_NOCTTY);
    if (s < 0) return 1;
    if (strcmp(argv[1], "queued") == 0) {
        /* At known numbers: master 10, slave 11. */
        if (dup2(m, 10) != 10 || dup2(s, 11) != 11) return 1;
        close(m);
        close(s);
        if (write(10, "ping\n", 5) != 5) return 1;
        write_ready(argv[2], getpid());
        for (;;) pause();
    }
    pid_t child = fork();
    if (child < 0) return 1;
    if (child == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        setsid();
        if (master_inside) {
            close(s);
        } else {
            close(m);
            if (ioctl(s, TIOCSCTTY, 0) != 0) _exit(3);
            for (int fd = 0; fd < 3; ++fd) dup2(s, fd);
            if (s > 2) close(s);
        }
        for (;;) pause();
    }
    if (master_inside)
        close(m);
    else
        close(s);
    write_ready(argv[2], child);
    for (;;) pause();
}
