/* Proves: descriptors in flight (SCM_RIGHTS messages queued on a unix
 * socket, not received yet) arrive after restore, on the same message, as
 * the same open descriptions:
 *  - stream pair: a part carrying three descriptors (the read end of a
 *    pipe with data in it that the sender closed, so it only exists in
 *    flight; a file whose description the process also holds, so the offset
 *    is shared; one end of another socketpair), a part carrying one (the
 *    file again), then plain bytes: each read gets one part and its
 *    descriptors, as the kernel stops a read after a part that carries
 *    some;
 *  - dgram pair: a message without descriptors, then one carrying an
 *    eventfd (counter 42) and the file again.
 * Under --leave-running the same checks prove that the dump's peek left the
 * queues (and the descriptors in them) as they were. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "live.h"

enum { STREAM_RX = 10, STREAM_TX = 11, DGRAM_RX = 12, DGRAM_TX = 13, FILE_FD = 14, KEPT_PEER = 15 };
static const char carrying[] = "part with fds";
static const char carrying_one[] = "part with one fd";
static const char plain_after[] = "and plain bytes after";
static const char pipe_data[] = "data in a pipe that only exists in flight";
static const char file_text[] = "0123456789abcdefghijklmnopqrstuvwxyz";

static void place(int fd, int at) {
    if (fd == at) return;
    LIVE_SETUP(dup2(fd, at));
    close(fd);
}

static void send_fds(int sock, const char *data, size_t len, const int *fds, int n) {
    char control[CMSG_SPACE(8 * sizeof(int))];
    memset(control, 0, sizeof control);
    struct iovec iov = {(void *)data, len};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (n) {
        msg.msg_control = control;
        msg.msg_controllen = CMSG_SPACE((size_t)n * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN((size_t)n * sizeof(int));
        memcpy(CMSG_DATA(c), fds, (size_t)n * sizeof(int));
    }
    if (sendmsg(sock, &msg, 0) != (ssize_t)len) live_fail("setup: sendmsg: %s", strerror(errno));
}

/* One recvmsg of up to len bytes; the descriptors it carried in fds. */
static ssize_t recv_fds(int sock, char *buf, size_t len, int *fds, int *n) {
    char control[CMSG_SPACE(8 * sizeof(int))];
    struct iovec iov = {buf, len};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    struct pollfd p = {.fd = sock, .events = POLLIN};
    *n = 0;
    if (poll(&p, 1, 10000) <= 0) return -1;
    ssize_t got = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); got >= 0 && c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        memcpy(fds + *n, CMSG_DATA(c), (size_t)k * sizeof(int));
        *n += k;
    }
    return got;
}

static void setup(void) {
    int sv[2];
    LIVE_SETUP(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    place(sv[0], STREAM_RX);
    place(sv[1], STREAM_TX);
    LIVE_SETUP(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    place(sv[0], DGRAM_RX);
    place(sv[1], DGRAM_TX);
    char path[512];
    int f = LIVE_SETUP(open(live_path(path, sizeof path, "in_flight_file"), O_RDWR | O_CREAT | O_TRUNC, 0600));
    if (write(f, file_text, strlen(file_text)) != (ssize_t)strlen(file_text)) live_fail("setup: write file");
    LIVE_SETUP(lseek(f, 5, SEEK_SET));
    place(f, FILE_FD);
    int pipefd[2];
    LIVE_SETUP(pipe(pipefd));
    if (write(pipefd[1], pipe_data, strlen(pipe_data)) != (ssize_t)strlen(pipe_data)) live_fail("setup: write pipe");
    close(pipefd[1]);
    int other[2];
    LIVE_SETUP(socketpair(AF_UNIX, SOCK_STREAM, 0, other));
    place(other[1], KEPT_PEER);

    int three[3] = {pipefd[0], FILE_FD, other[0]};
    send_fds(STREAM_TX, carrying, strlen(carrying), three, 3);
    int one = FILE_FD;
    send_fds(STREAM_TX, carrying_one, strlen(carrying_one), &one, 1);
    send_fds(STREAM_TX, plain_after, strlen(plain_after), NULL, 0);
    /* Only in flight from now on: the pipe's read end and the socket end. */
    close(pipefd[0]);
    close(other[0]);

    int efd = LIVE_SETUP(eventfd(42, 0));
    send_fds(DGRAM_TX, "first", 5, NULL, 0);
    int two[2] = {efd, FILE_FD};
    send_fds(DGRAM_TX, "second", 6, two, 2);
    close(efd);
}

static void check_stream(void) {
    char buf[256];
    int fds[8], n;
    ssize_t got = recv_fds(STREAM_RX, buf, sizeof buf, fds, &n);
    LIVE_EXPECT(got == (ssize_t)strlen(carrying) && memcmp(buf, carrying, (size_t)got) == 0 && n == 3,
                "stream: the carrying part came as %zd bytes (%.*s) with %d descriptors", got, (int)(got > 0 ? got : 0),
                buf, n);
    if (n == 3) {
        char data[128] = "";
        ssize_t r = read(fds[0], data, sizeof data);
        LIVE_EXPECT(r == (ssize_t)strlen(pipe_data) && memcmp(data, pipe_data, (size_t)r) == 0,
                    "the pipe in flight held %zd bytes: %.*s", r, (int)(r > 0 ? r : 0), data);
        LIVE_EXPECT(read(fds[0], data, sizeof data) == 0, "the pipe in flight has a writer (none was left)");
        /* One description with FILE_FD: reading through it moves both. */
        off_t at = lseek(fds[1], 0, SEEK_CUR);
        char c = 0;
        LIVE_EXPECT(at == 5 && read(fds[1], &c, 1) == 1 && c == file_text[5] && lseek(FILE_FD, 0, SEEK_CUR) == 6,
                    "the file in flight is at %lld, its byte '%c', the process's own fd now at %lld", (long long)at, c,
                    (long long)lseek(FILE_FD, 0, SEEK_CUR));
        LIVE_EXPECT(send(KEPT_PEER, "ping", 4, 0) == 4, "send on the kept peer: %s", strerror(errno));
        char ping[8] = "";
        struct pollfd p = {.fd = fds[2], .events = POLLIN};
        LIVE_EXPECT(poll(&p, 1, 10000) == 1 && recv(fds[2], ping, sizeof ping, MSG_DONTWAIT) == 4 &&
                        memcmp(ping, "ping", 4) == 0,
                    "the socket in flight did not get what its peer sent");
        for (int i = 0; i < n; ++i) close(fds[i]);
    }
    got = recv_fds(STREAM_RX, buf, sizeof buf, fds, &n);
    LIVE_EXPECT(got == (ssize_t)strlen(carrying_one) && memcmp(buf, carrying_one, (size_t)got) == 0 && n == 1,
                "stream: the second carrying part came as %zd bytes with %d descriptors", got, n);
    if (n == 1) {
        LIVE_EXPECT(lseek(fds[0], 0, SEEK_CUR) == lseek(FILE_FD, 0, SEEK_CUR), "the second file in flight is not shared");
        close(fds[0]);
    }
    got = recv_fds(STREAM_RX, buf, sizeof buf, fds, &n);
    LIVE_EXPECT(got == (ssize_t)strlen(plain_after) && memcmp(buf, plain_after, (size_t)got) == 0 && n == 0,
                "stream: the plain bytes after came as %zd bytes with %d descriptors", got, n);
}

static void check_dgram(void) {
    char buf[64] = "";
    int fds[8], n;
    ssize_t got = recv_fds(DGRAM_RX, buf, sizeof buf, fds, &n);
    LIVE_EXPECT(got == 5 && memcmp(buf, "first", 5) == 0 && n == 0, "dgram: first message %zd bytes, %d fds", got, n);
    got = recv_fds(DGRAM_RX, buf, sizeof buf, fds, &n);
    LIVE_EXPECT(got == 6 && memcmp(buf, "second", 6) == 0 && n == 2, "dgram: second message %zd bytes, %d fds", got, n);
    if (n == 2) {
        uint64_t v = 0;
        LIVE_EXPECT(read(fds[0], &v, sizeof v) == sizeof v && v == 42, "the eventfd in flight counted %llu",
                    (unsigned long long)v);
        struct stat a, b;
        LIVE_EXPECT(fstat(fds[1], &a) == 0 && fstat(FILE_FD, &b) == 0 && a.st_ino == b.st_ino &&
                        lseek(fds[1], 0, SEEK_CUR) == lseek(FILE_FD, 0, SEEK_CUR),
                    "the file in flight on the dgram socket is not the process's file description");
        for (int i = 0; i < n; ++i) close(fds[i]);
    }
}

int main(int argc, char **argv) {
    live_init(argc, argv);
    setup();
    live_ready();
    live_wait_for_check();
    check_stream();
    check_dgram();
    live_finish();
}
