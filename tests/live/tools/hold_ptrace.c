/* hold_ptrace PID READY_FILE: attaches to PID with PTRACE_SEIZE (no stop),
 * creates READY_FILE, and holds the attachment until killed — the kernel
 * detaches when we exit. For the test that a dump of an already-traced
 * process fails cleanly. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s PID READY_FILE\n", argv[0]);
        return 2;
    }
    pid_t pid = (pid_t)atoi(argv[1]);
    if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) != 0) {
        fprintf(stderr, "hold_ptrace: PTRACE_SEIZE %d: %s\n", pid, strerror(errno));
        return 1;
    }
    int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        fprintf(stderr, "hold_ptrace: create %s: %s\n", argv[2], strerror(errno));
        return 1;
    }
    close(fd);
    for (;;) pause();
}
