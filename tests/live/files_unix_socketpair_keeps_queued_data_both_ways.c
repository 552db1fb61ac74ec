/* Proves: unix socketpairs come back connected, with the data queued in
 * both directions byte for byte and, for dgram and seqpacket, message by
 * message:
 *  - parent <-> child: one socketpair of each type (stream, dgram,
 *    seqpacket), data queued in both directions; after the restore each
 *    side reads exactly what the other had sent, then the conversation goes
 *    on (the parent sends more, the child answers);
 *  - within the parent: a stream pair whose one end shut down writing after
 *    its data: the other end reads the data, then end of file;
 *  - options: O_NONBLOCK on the parent's dgram end, SO_PASSCRED on its
 *    seqpacket end, a smaller SO_RCVBUF on its stream end; SO_PEEK_OFF still
 *    disabled (the dump's peeking leaves no trace).
 * Under a failed or --leave-running dump the same checks prove the dump
 * read the queues without consuming them. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "live.h"

enum { P_STREAM = 10, P_DGRAM = 11, P_SEQ = 12, SELF_A = 13, SELF_B = 14 };
enum { C_STREAM = 20, C_DGRAM = 21, C_SEQ = 22 };
enum { P2C_STREAM = 50000, C2P_STREAM = 70000, SELF_BYTES = 3333, RCVBUF = 65536 };
static const int type_of[3] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};
static const char *name_of[3] = {"stream", "dgram", "seqpacket"};
static const size_t msg_sizes[] = {1, 100, 3000, 17, 1200};
enum { NMSG = sizeof msg_sizes / sizeof msg_sizes[0] };

/* Reads exactly len bytes of a stream, waiting at most 10 s for each part. */
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

/* One message (whole, as its size says), waiting at most 10 s. */
static ssize_t read_message(int fd, char *buf, size_t size) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 10000) <= 0) return -1;
    return recv(fd, buf, size, MSG_DONTWAIT | MSG_TRUNC);
}

static void send_all(int fd, const char *buf, size_t len) {
    for (size_t done = 0; done < len;) {
        ssize_t n = send(fd, buf + done, len - done, MSG_DONTWAIT);
        if (n <= 0) live_fail("setup: send %zu bytes on fd %d: %s", len, fd, strerror(errno));
        done += (size_t)n;
    }
}

/* What one side sends on the pair of type i: a stream of `stream_bytes`, or
 * NMSG messages; seed tells directions apart. */
static void send_side(int fd, int i, size_t stream_bytes, uint64_t seed) {
    static char buf[C2P_STREAM];
    if (type_of[i] == SOCK_STREAM) {
        live_fill(buf, stream_bytes, seed);
        send_all(fd, buf, stream_bytes);
        return;
    }
    for (int m = 0; m < NMSG; m++) {
        live_fill(buf, msg_sizes[m], seed + (uint64_t)m);
        if (send(fd, buf, msg_sizes[m], MSG_DONTWAIT) != (ssize_t)msg_sizes[m])
            live_fail("setup: %s message %d: %s", name_of[i], m, strerror(errno));
    }
}

/* Checks what arrives on the pair of type i; returns the number of faults,
 * logged with `who`. */
static int check_side(const char *who, int fd, int i, size_t stream_bytes, uint64_t seed) {
    static char buf[C2P_STREAM + 1];
    int bad = 0;
    if (type_of[i] == SOCK_STREAM) {
        ssize_t got = read_exactly(fd, buf, stream_bytes);
        if (got != (ssize_t)stream_bytes || live_find_mismatch(buf, stream_bytes, seed) >= 0)
            live_log("%s: stream gave %zd of %zu queued bytes, or they differ", who, got, stream_bytes), bad++;
        return bad;
    }
    for (int m = 0; m < NMSG; m++) {
        ssize_t n = read_message(fd, buf, sizeof buf);
        if (n != (ssize_t)msg_sizes[m] || live_find_mismatch(buf, msg_sizes[m], seed + (uint64_t)m) >= 0)
            live_log("%s: %s message %d is %zd bytes (want %zu) or differs", who, name_of[i], m, n, msg_sizes[m]),
                bad++;
    }
    return bad;
}

enum { P2C_SEED = 100, C2P_SEED = 200, SELF_SEED = 300 };

_Noreturn static void child_main(void) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  /* a failed run leaves no child waiting */
    for (int fd = P_STREAM; fd <= SELF_B; fd++) close(fd);
    for (int i = 0; i < 3; i++) send_side(C_STREAM + i, i, C2P_STREAM, C2P_SEED + (uint64_t)i * 10);
    live_touch("child.ready");
    while (!live_file_exists("verify")) live_sleep_ns(10 * 1000 * 1000);
    int bad = 0;
    for (int i = 0; i < 3; i++) bad += check_side("child", C_STREAM + i, i, P2C_STREAM, P2C_SEED + (uint64_t)i * 10);
    for (int i = 0; i < 3; i++) {
        char more[8] = {0};
        ssize_t n = type_of[i] == SOCK_STREAM ? read_exactly(C_STREAM + i, more, 4) : read_message(C_STREAM + i, more, 8);
        if (n != 4 || memcmp(more, "more", 4) != 0) live_log("child: no 'more' on the %s pair after restore", name_of[i]), bad++;
    }
    if (send(C_STREAM, bad ? "no" : "ok", 2, 0) != 2) live_log("child: reply: %s", strerror(errno)), bad++;
    _exit(bad ? 1 : 0);
}

static int int_opt(int fd, int opt) {
    int v = -2;
    socklen_t len = sizeof v;
    if (getsockopt(fd, SOL_SOCKET, opt, &v, &len) != 0) return -3;
    return v;
}

int main(int argc, char **argv) {
    live_init(argc, argv);
    for (int i = 0; i < 3; i++) {
        int sv[2];
        LIVE_SETUP(socketpair(AF_UNIX, type_of[i], 0, sv));
        live_place_fd(sv[0], P_STREAM + i);
        live_place_fd(sv[1], C_STREAM + i);
    }
    int sv[2];
    LIVE_SETUP(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    live_place_fd(sv[0], SELF_A);
    live_place_fd(sv[1], SELF_B);
    int rcvbuf = RCVBUF;
    LIVE_SETUP(setsockopt(P_STREAM, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf));
    int one = 1;
    LIVE_SETUP(setsockopt(P_SEQ, SOL_SOCKET, SO_PASSCRED, &one, sizeof one));
    int rcvbuf_set = int_opt(P_STREAM, SO_RCVBUF);

    pid_t child = LIVE_SETUP(fork());
    if (child == 0) child_main();
    for (int fd = C_STREAM; fd <= C_SEQ; fd++) close(fd);
    for (int i = 0; i < 3; i++) send_side(P_STREAM + i, i, P2C_STREAM, P2C_SEED + (uint64_t)i * 10);
    static char self[SELF_BYTES];
    live_fill(self, sizeof self, SELF_SEED);
    send_all(SELF_A, self, sizeof self);
    LIVE_SETUP(shutdown(SELF_A, SHUT_WR));
    LIVE_SETUP(fcntl(P_DGRAM, F_SETFL, O_NONBLOCK));
    while (!live_file_exists("child.ready")) live_sleep_ns(10 * 1000 * 1000);
    live_log("socketpairs with the child %d: data queued both ways; self pair %d bytes then shutdown", child, SELF_BYTES);
    live_ready();
    live_wait_for_check();

    for (int i = 0; i < 3; i++) {
        int fd = P_STREAM + i;
        LIVE_EXPECT(int_opt(fd, SO_TYPE) == type_of[i], "fd %d is of type %d, want %s", fd, int_opt(fd, SO_TYPE),
                    name_of[i]);
        LIVE_EXPECT(int_opt(fd, SO_PEEK_OFF) == -1, "fd %d has SO_PEEK_OFF %d: the dump's peeking left a trace", fd,
                    int_opt(fd, SO_PEEK_OFF));
    }
    int fl = fcntl(P_DGRAM, F_GETFL);
    LIVE_EXPECT(fl & O_NONBLOCK, "the dgram end lost O_NONBLOCK (flags %#x)", fl);
    fl = fcntl(P_STREAM, F_GETFL);
    LIVE_EXPECT(!(fl & O_NONBLOCK), "the stream end became O_NONBLOCK (flags %#x)", fl);
    LIVE_EXPECT(int_opt(P_SEQ, SO_PASSCRED) == 1, "the seqpacket end lost SO_PASSCRED");
    LIVE_EXPECT(int_opt(P_STREAM, SO_RCVBUF) == rcvbuf_set, "the stream end's SO_RCVBUF is %d, was %d",
                int_opt(P_STREAM, SO_RCVBUF), rcvbuf_set);

    for (int i = 0; i < 3; i++)
        LIVE_EXPECT(check_side("parent", P_STREAM + i, i, C2P_STREAM, C2P_SEED + (uint64_t)i * 10) == 0,
                    "the %s pair: the child's queued data did not arrive as sent (see prog.log)", name_of[i]);

    static char got_self[SELF_BYTES + 1];
    ssize_t got = read_exactly(SELF_B, got_self, sizeof got_self);
    LIVE_EXPECT(got == SELF_BYTES && live_find_mismatch(got_self, SELF_BYTES, SELF_SEED) < 0,
                "the self pair gave %zd bytes (want %d, as sent) before end of file", got, SELF_BYTES);
    ssize_t eof = recv(SELF_B, got_self, 1, MSG_DONTWAIT);
    LIVE_EXPECT(eof == 0, "the self pair after its data: recv gave %zd (%s), want end of file", eof, strerror(errno));
    ssize_t back = send(SELF_B, "x", 1, MSG_DONTWAIT);
    LIVE_EXPECT(back == 1, "the self pair's other direction: send gave %zd (%s)", back, strerror(errno));
    char x = 0;
    LIVE_EXPECT(read_exactly(SELF_A, &x, 1) == 1 && x == 'x', "the self pair's other direction lost a byte");

    live_touch("verify");
    for (int i = 0; i < 3; i++) LIVE_SETUP(send(P_STREAM + i, "more", 4, 0));
    char reply[2] = {0, 0};
    got = read_exactly(P_STREAM, reply, 2);
    LIVE_EXPECT(got == 2 && memcmp(reply, "ok", 2) == 0, "the child's reply: %zd bytes '%.2s'", got, reply);
    int status = 0;
    pid_t r = waitpid(child, &status, 0);
    LIVE_EXPECT(r == child && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                "child %d ended with status %#x (see prog.log)", child, status);
    live_finish();
}
