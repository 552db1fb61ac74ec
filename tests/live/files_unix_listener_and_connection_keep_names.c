/* Proves: bound and listening unix sockets keep their names, and the
 * connections made through them come back with their queued data:
 *  - a stream listener bound to a path in the work directory (its socket
 *    file's mode 0640 kept) and a seqpacket listener bound to an abstract
 *    name: both still listening under the same names, and a new client can
 *    connect to each after the restore;
 *  - the child's connections to them, accepted by the parent: data queued
 *    both ways (stream bytes to the parent and to the child, seqpacket
 *    messages to the parent) arrives as sent;
 *  - a dgram socket bound to a path, with datagrams queued from the
 *    child's dgram socket connected to it: the messages arrive one by one,
 *    and the child's socket is still connected to it afterwards. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "live.h"

enum { L_PATH = 10, L_ABS = 11, A_STREAM = 12, A_SEQ = 13, D_SRV = 14 };
enum { C_STREAM = 20, C_SEQ = 21, C_DGRAM = 22 };
enum { TO_PARENT = 4000, TO_CHILD = 2000, BACKLOG = 7, MODE = 0640 };
enum { TO_PARENT_SEED = 1, TO_CHILD_SEED = 2, SEQ_SEED = 10, DGRAM_SEED = 20 };
static const size_t seq_sizes[] = {5, 700};
static const size_t dgram_sizes[] = {33, 1, 2048};

static struct sockaddr_un path_addr, dgram_addr, abs_addr;
static socklen_t abs_len;

static ssize_t read_exactly(int fd, char *buf, size_t len) {
    size_t got = 0;
    while (got < len) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 10000) <= 0) return (ssize_t)got;
        ssize_t n = recv(fd, buf + got, len - got, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (n <= 0) return (ssize_t)got;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

static ssize_t read_message(int fd, char *buf, size_t size) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 10000) <= 0) return -1;
    return recv(fd, buf, size, MSG_DONTWAIT | MSG_TRUNC);
}

static void send_message(int fd, size_t len, uint64_t seed) {
    char buf[4096];
    live_fill(buf, len, seed);
    if (send(fd, buf, len, 0) != (ssize_t)len) live_fail("setup: send %zu bytes on fd %d: %s", len, fd, strerror(errno));
}

static int connect_to(int type, const struct sockaddr_un *a, socklen_t len) {
    int fd = socket(AF_UNIX, type, 0);
    if (fd < 0 || connect(fd, (const struct sockaddr *)a, len) != 0) return -1;
    return fd;
}

_Noreturn static void child_main(void) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  /* a failed run leaves no child waiting */
    for (int fd = L_PATH; fd <= D_SRV; fd++) close(fd);
    live_place_fd(LIVE_SETUP(connect_to(SOCK_STREAM, &path_addr, sizeof path_addr)), C_STREAM);
    live_place_fd(LIVE_SETUP(connect_to(SOCK_SEQPACKET, &abs_addr, abs_len)), C_SEQ);
    live_place_fd(LIVE_SETUP(connect_to(SOCK_DGRAM, &dgram_addr, sizeof dgram_addr)), C_DGRAM);
    static char buf[TO_PARENT];
    live_fill(buf, TO_PARENT, TO_PARENT_SEED);
    if (send(C_STREAM, buf, TO_PARENT, 0) != TO_PARENT) _exit(3);
    for (size_t m = 0; m < 2; m++) send_message(C_SEQ, seq_sizes[m], SEQ_SEED + m);
    for (size_t m = 0; m < 3; m++) send_message(C_DGRAM, dgram_sizes[m], DGRAM_SEED + m);
    live_touch("child.ready");
    while (!live_file_exists("verify")) live_sleep_ns(10 * 1000 * 1000);
    int bad = 0;
    ssize_t got = read_exactly(C_STREAM, buf, TO_CHILD);
    if (got != TO_CHILD || live_find_mismatch(buf, TO_CHILD, TO_CHILD_SEED) >= 0)
        live_log("child: the accepted connection gave %zd of %d queued bytes, or they differ", got, TO_CHILD), bad++;
    if (send(C_DGRAM, "late", 4, 0) != 4) live_log("child: dgram send after restore: %s", strerror(errno)), bad++;
    if (send(C_STREAM, bad ? "no" : "ok", 2, 0) != 2) live_log("child: reply: %s", strerror(errno)), bad++;
    _exit(bad ? 1 : 0);
}

static void set_path(struct sockaddr_un *a, const char *name) {
    a->sun_family = AF_UNIX;
    live_path(a->sun_path, sizeof a->sun_path, name);
}

static int bound(int type, const struct sockaddr_un *a, socklen_t len) {
    int fd = LIVE_SETUP(socket(AF_UNIX, type, 0));
    LIVE_SETUP(bind(fd, (const struct sockaddr *)a, len));
    return fd;
}

static bool same_name(int fd, const struct sockaddr_un *want, socklen_t want_len) {
    struct sockaddr_un a;
    socklen_t len = sizeof a;
    memset(&a, 0, sizeof a);
    if (getsockname(fd, (struct sockaddr *)&a, &len) != 0) return false;
    if (want->sun_path[0] == '\0') return len == want_len && memcmp(&a, want, len) == 0;
    return strcmp(a.sun_path, want->sun_path) == 0;
}

static int int_opt(int fd, int opt) {
    int v = -2;
    socklen_t len = sizeof v;
    if (getsockopt(fd, SOL_SOCKET, opt, &v, &len) != 0) return -3;
    return v;
}

/* A new client of listener `fd`: connect, accept, one byte across. */
static bool new_client_works(int type, int listener, const struct sockaddr_un *a, socklen_t len) {
    int c = connect_to(type, a, len);
    if (c < 0) return live_log("connect after restore: %s", strerror(errno)), false;
    int s = accept(listener, NULL, NULL);
    bool ok = s >= 0 && send(c, "z", 1, 0) == 1;
    char z = 0;
    ok = ok && read_message(s, &z, 1) == 1 && z == 'z';
    close(c);
    if (s >= 0) close(s);
    return ok;
}

int main(int argc, char **argv) {
    live_init(argc, argv);
    set_path(&path_addr, "listen.sock");
    set_path(&dgram_addr, "dgram.sock");
    abs_addr.sun_family = AF_UNIX;
    int n = snprintf(abs_addr.sun_path + 1, sizeof abs_addr.sun_path - 1, "stasis-live-%d", (int)getpid());
    abs_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);

    live_place_fd(bound(SOCK_STREAM, &path_addr, sizeof path_addr), L_PATH);
    LIVE_SETUP(chmod(path_addr.sun_path, MODE));
    LIVE_SETUP(listen(L_PATH, BACKLOG));
    live_place_fd(bound(SOCK_SEQPACKET, &abs_addr, abs_len), L_ABS);
    LIVE_SETUP(listen(L_ABS, BACKLOG));
    live_place_fd(bound(SOCK_DGRAM, &dgram_addr, sizeof dgram_addr), D_SRV);
    struct stat before;
    LIVE_SETUP(stat(path_addr.sun_path, &before));

    pid_t child = LIVE_SETUP(fork());
    if (child == 0) child_main();
    live_place_fd(LIVE_SETUP(accept(L_PATH, NULL, NULL)), A_STREAM);
    live_place_fd(LIVE_SETUP(accept(L_ABS, NULL, NULL)), A_SEQ);
    static char buf[TO_PARENT + 1];
    live_fill(buf, TO_CHILD, TO_CHILD_SEED);
    LIVE_SETUP(send(A_STREAM, buf, TO_CHILD, 0));
    while (!live_file_exists("child.ready")) live_sleep_ns(10 * 1000 * 1000);
    live_log("listeners at %s and @%s, connections from child %d with data queued", path_addr.sun_path,
             abs_addr.sun_path + 1, child);
    live_ready();
    live_wait_for_check();

    LIVE_EXPECT(same_name(L_PATH, &path_addr, sizeof path_addr), "the stream listener is no longer bound to %s",
                path_addr.sun_path);
    LIVE_EXPECT(same_name(L_ABS, &abs_addr, abs_len), "the seqpacket listener is no longer bound to @%s",
                abs_addr.sun_path + 1);
    LIVE_EXPECT(same_name(D_SRV, &dgram_addr, sizeof dgram_addr), "the dgram socket is no longer bound to %s",
                dgram_addr.sun_path);
    LIVE_EXPECT(int_opt(L_PATH, SO_ACCEPTCONN) == 1 && int_opt(L_ABS, SO_ACCEPTCONN) == 1,
                "the listeners no longer listen");
    LIVE_EXPECT(int_opt(L_ABS, SO_TYPE) == SOCK_SEQPACKET, "the abstract listener is of type %d",
                int_opt(L_ABS, SO_TYPE));
    struct stat now;
    LIVE_EXPECT(stat(path_addr.sun_path, &now) == 0 && S_ISSOCK(now.st_mode) && (now.st_mode & 07777) == MODE,
                "%s: mode %o, want a socket with mode %o", path_addr.sun_path, (unsigned)now.st_mode, MODE);

    ssize_t got = read_exactly(A_STREAM, buf, TO_PARENT);
    LIVE_EXPECT(got == TO_PARENT && live_find_mismatch(buf, TO_PARENT, TO_PARENT_SEED) < 0,
                "the accepted stream connection gave %zd of %d queued bytes, or they differ", got, TO_PARENT);
    for (size_t m = 0; m < 2; m++) {
        got = read_message(A_SEQ, buf, sizeof buf);
        LIVE_EXPECT(got == (ssize_t)seq_sizes[m] && live_find_mismatch(buf, seq_sizes[m], SEQ_SEED + m) < 0,
                    "seqpacket message %zu is %zd bytes (want %zu) or differs", m, got, seq_sizes[m]);
    }
    for (size_t m = 0; m < 3; m++) {
        got = read_message(D_SRV, buf, sizeof buf);
        LIVE_EXPECT(got == (ssize_t)dgram_sizes[m] && live_find_mismatch(buf, dgram_sizes[m], DGRAM_SEED + m) < 0,
                    "datagram %zu is %zd bytes (want %zu) or differs", m, got, dgram_sizes[m]);
    }
    LIVE_EXPECT(new_client_works(SOCK_STREAM, L_PATH, &path_addr, sizeof path_addr),
                "a new client could not connect to %s", path_addr.sun_path);
    LIVE_EXPECT(new_client_works(SOCK_SEQPACKET, L_ABS, &abs_addr, abs_len), "a new client could not connect to @%s",
                abs_addr.sun_path + 1);

    live_touch("verify");
    got = read_message(D_SRV, buf, sizeof buf);
    LIVE_EXPECT(got == 4 && memcmp(buf, "late", 4) == 0, "the child's datagram after restore: %zd bytes", got);
    char reply[2] = {0, 0};
    got = read_exactly(A_STREAM, reply, 2);
    LIVE_EXPECT(got == 2 && memcmp(reply, "ok", 2) == 0, "the child's reply: %zd bytes '%.2s'", got, reply);
    int status = 0;
    pid_t r = waitpid(child, &status, 0);
    LIVE_EXPECT(r == child && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                "child %d ended with status %#x (see prog.log)", child, status);
    live_finish();
}
