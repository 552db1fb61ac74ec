/* Adds the read end of a pipe to an epoll instance, keeps the pipe open at
 * another fd and closes the watched one (the kernel keeps the watch while
 * the file lives), writes READY_FILE and sleeps until killed: an epoll
 * whose watch cannot be added again at restore, which stasis must refuse. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s READY_FILE\n", argv[0]);
        return 2;
    }
    int p[2];
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    if (ep < 0 || pipe(p) != 0 || epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) != 0 || dup2(p[0], 20) != 20 ||
        close(p[0]) != 0) {
        perror("setup");
        return 1;
    }
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        perror(argv[1]);
        return 1;
    }
    close(fd);
    for (;;) pause();
}
