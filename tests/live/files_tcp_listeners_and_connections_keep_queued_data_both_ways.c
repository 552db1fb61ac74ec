/* Proves: TCP sockets come back as they were, IPv4 and IPv6, and a
 * connection between two processes of the tree goes on as if nothing had
 * happened:
 *  - listeners (127.0.0.1 and [::1], ports chosen by the kernel) listen
 *    again on the same address and port with SO_REUSEADDR / IPV6_V6ONLY as
 *    set, and accept new connections;
 *  - parent <-> child: one connection over each listener, with data queued
 *    in both directions: the child's data sits unread in the parent's
 *    receive queue; the parent has written more than the child's small
 *    receive buffer takes, so the rest waits in the parent's send queue
 *    (unsent, the child's window closed). After the restore the parent
 *    reads exactly what the child sent, the child reads exactly what the
 *    parent wrote (then "more" and end of file), and answers;
 *  - each end keeps its addresses (getsockname/getpeername), and the
 *    options set: TCP_NODELAY and O_NONBLOCK on one, SO_KEEPALIVE with
 *    TCP_KEEPIDLE/INTVL/CNT and TCP_USER_TIMEOUT on the other, SO_SNDBUF;
 *  - an unconnected socket bound to 127.0.0.1 keeps its port, an unbound
 *    IPv6 socket stays unbound.
 * Under a failed or --leave-running dump the same checks prove the dump
 * left the connections working (repair mode switched off again, queues
 * read without consuming them). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "live.h"
#include "streams.h"

enum { L4 = 10, L6 = 11, A4 = 12, A6 = 13, BOUND = 14, UNBOUND = 15 };  /* the parent's */
enum { C4 = 20, C6 = 21 };                                                 /* the child's */
enum { NCONN = 2 };
static const int parent_end[NCONN] = {A4, A6}, child_end[NCONN] = {C4, C6};
static const char *name_of[NCONN] = {"IPv4", "IPv6"};
static const size_t c2p_bytes[NCONN] = {40000, 30001};
enum { P2C_MAX = 4 << 20, C2P_SEED = 100, P2C_SEED = 200 };

static size_t p2c_bytes[NCONN];  /* what the parent managed to write */

struct addr {
    struct sockaddr_storage ss;
    socklen_t len;
};

static struct addr name_of_sock(int fd, int peer) {
    struct addr a = {.len = sizeof a.ss};
    int r = peer ? getpeername(fd, (struct sockaddr *)&a.ss, &a.len) : getsockname(fd, (struct sockaddr *)&a.ss, &a.len);
    if (r != 0) a.len = 0;
    return a;
}

static bool same_addr(struct addr a, struct addr b) { return a.len == b.len && memcmp(&a.ss, &b.ss, a.len) == 0; }

static int int_opt(int fd, int level, int opt) {
    int v = -2;
    socklen_t len = sizeof v;
    if (getsockopt(fd, level, opt, &v, &len) != 0) return -3;
    return v;
}

static void set_int(int fd, int level, int opt, int v) { LIVE_SETUP(setsockopt(fd, level, opt, &v, sizeof v)); }

static int listener(int family, int at) {
    int fd = LIVE_SETUP(socket(family, SOCK_STREAM, 0));
    struct sockaddr_storage ss = {0};
    socklen_t len;
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *a;
        set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        len = sizeof *a;
        set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
    }
    if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
        if (family == AF_INET6 && (errno == EADDRNOTAVAIL || errno == EAFNOSUPPORT))
            live_skip("no IPv6 loopback here: %s", strerror(errno));
        live_fail("setup: bind: %s", strerror(errno));
    }
    LIVE_SETUP(listen(fd, 7));
    live_place_fd(fd, at);
    return at;
}

static int connect_to(int listen_fd) {
    struct addr a = name_of_sock(listen_fd, 0);
    int fd = socket(a.ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    /* Small: the parent's data backs up into its own send queue. */
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    if (connect(fd, (struct sockaddr *)&a.ss, a.len) != 0) return -1;
    return fd;
}

/* A new connection to a listener: connect, accept, one byte across. */
static bool listener_accepts(int listen_fd) {
    int c = connect_to(listen_fd);
    if (c < 0) return live_log("connect to listener fd %d: %s", listen_fd, strerror(errno)), false;
    int s = accept(listen_fd, NULL, NULL);
    bool ok = s >= 0 && send(c, "x", 1, 0) == 1;
    char x = 0;
    ok = ok && live_stream_read(s, &x, 1) == 1 && x == 'x';
    if (!ok) live_log("listener fd %d: accept or exchange failed: %s", listen_fd, strerror(errno));
    close(c);
    if (s >= 0) close(s);
    return ok;
}

_Noreturn static void child_main(void) {
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed run leaves no child waiting */
    for (int fd = L4; fd <= UNBOUND; fd++) close(fd);
    for (int i = 0; i < NCONN; i++) {
        static char buf[40000];
        live_fill(buf, c2p_bytes[i], C2P_SEED + (uint64_t)i);
        if (live_stream_write(child_end[i], buf, c2p_bytes[i]) != 0) live_fail("child: send: %s", strerror(errno));
    }
    live_touch("child.ready");
    while (!live_file_exists("verify")) live_sleep_ns(10 * 1000 * 1000);
    char path[512], counts[128] = {0};
    live_read_file(live_path(path, sizeof path, "p2c_counts"), counts, sizeof counts - 1);
    size_t want[NCONN] = {0, 0};
    sscanf(counts, "%zu %zu", &want[0], &want[1]);
    int bad = 0;
    static char got[P2C_MAX + 8];
    for (int i = 0; i < NCONN; i++) {
        ssize_t n = live_stream_read_to_eof(child_end[i], got, sizeof got);
        if (n != (ssize_t)want[i] + 4 || live_find_mismatch(got, want[i], P2C_SEED + (uint64_t)i) >= 0 ||
            memcmp(got + want[i], "more", 4) != 0)
            live_log("child: %s: %zd bytes arrived (want %zu + 4, as written, then end of file), or they differ",
                     name_of[i], n, want[i]),
                bad++;
    }
    if (live_stream_write(C4, bad ? "no" : "ok", 2) != 0) live_log("child: reply: %s", strerror(errno)), bad++;
    _exit(bad ? 1 : 0);
}

int main(int argc, char **argv) {
    live_init(argc, argv);
    listener(AF_INET, L4);
    listener(AF_INET6, L6);
    int sk = LIVE_SETUP(socket(AF_INET, SOCK_STREAM, 0));
    struct sockaddr_in lo = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    LIVE_SETUP(bind(sk, (struct sockaddr *)&lo, sizeof lo));
    live_place_fd(sk, BOUND);
    live_place_fd(LIVE_SETUP(socket(AF_INET6, SOCK_STREAM, 0)), UNBOUND);

    pid_t child = LIVE_SETUP(fork());
    if (child == 0) {
        int c4 = connect_to(L4), c6 = connect_to(L6);
        if (c4 < 0 || c6 < 0) live_fail("child: connect: %s", strerror(errno));
        live_place_fd(c4, C4);
        live_place_fd(c6, C6);
        child_main();
    }
    live_place_fd(LIVE_SETUP(accept(L4, NULL, NULL)), A4);
    live_place_fd(LIVE_SETUP(accept(L6, NULL, NULL)), A6);
    set_int(A4, IPPROTO_TCP, TCP_NODELAY, 1);
    LIVE_SETUP(fcntl(A4, F_SETFL, O_NONBLOCK));
    set_int(A6, SOL_SOCKET, SO_KEEPALIVE, 1);
    set_int(A6, IPPROTO_TCP, TCP_KEEPIDLE, 77);
    set_int(A6, IPPROTO_TCP, TCP_KEEPINTVL, 11);
    set_int(A6, IPPROTO_TCP, TCP_KEEPCNT, 5);
    set_int(A6, IPPROTO_TCP, TCP_USER_TIMEOUT, 30000);
    for (int i = 0; i < NCONN; i++) set_int(parent_end[i], SOL_SOCKET, SO_SNDBUF, 16384);

    for (int i = 0; i < NCONN; i++) p2c_bytes[i] = live_stream_fill(parent_end[i], P2C_SEED + (uint64_t)i, 0, P2C_MAX, 200);
    while (!live_file_exists("child.ready")) live_sleep_ns(10 * 1000 * 1000);
    char counts[128], path[512];
    int n = snprintf(counts, sizeof counts, "%zu %zu\n", p2c_bytes[0], p2c_bytes[1]);
    LIVE_SETUP(live_write_file_atomic(live_path(path, sizeof path, "p2c_counts"), counts, (size_t)n));

    struct addr local[NCONN], peer[NCONN], listen_addr[2], bound = name_of_sock(BOUND, 0);
    for (int i = 0; i < NCONN; i++) {
        local[i] = name_of_sock(parent_end[i], 0);
        peer[i] = name_of_sock(parent_end[i], 1);
    }
    listen_addr[0] = name_of_sock(L4, 0);
    listen_addr[1] = name_of_sock(L6, 0);
    int sndbuf[NCONN] = {int_opt(A4, SOL_SOCKET, SO_SNDBUF), int_opt(A6, SOL_SOCKET, SO_SNDBUF)};
    live_log("child %d; parent wrote %zu and %zu bytes it cannot take; it sent %zu and %zu unread", child, p2c_bytes[0],
             p2c_bytes[1], c2p_bytes[0], c2p_bytes[1]);
    live_ready();
    live_wait_for_check();

    LIVE_EXPECT(same_addr(name_of_sock(L4, 0), listen_addr[0]) && same_addr(name_of_sock(L6, 0), listen_addr[1]),
                "a listener's address or port changed");
    LIVE_EXPECT(int_opt(L4, SOL_SOCKET, SO_ACCEPTCONN) == 1 && int_opt(L6, SOL_SOCKET, SO_ACCEPTCONN) == 1,
                "a listener no longer listens");
    LIVE_EXPECT(int_opt(L4, SOL_SOCKET, SO_REUSEADDR) == 1, "the IPv4 listener lost SO_REUSEADDR");
    LIVE_EXPECT(int_opt(L6, IPPROTO_IPV6, IPV6_V6ONLY) == 1, "the IPv6 listener lost IPV6_V6ONLY");
    LIVE_EXPECT(same_addr(name_of_sock(BOUND, 0), bound), "the bound socket's address changed");
    LIVE_EXPECT(int_opt(BOUND, SOL_SOCKET, SO_DOMAIN) == AF_INET && int_opt(UNBOUND, SOL_SOCKET, SO_DOMAIN) == AF_INET6,
                "the unconnected sockets changed family");
    struct addr unbound = name_of_sock(UNBOUND, 0);
    LIVE_EXPECT(unbound.len && ((struct sockaddr_in6 *)&unbound.ss)->sin6_port == 0, "the unbound socket got a port");
    for (int i = 0; i < NCONN; i++) {
        int fd = parent_end[i];
        LIVE_EXPECT(same_addr(name_of_sock(fd, 0), local[i]) && same_addr(name_of_sock(fd, 1), peer[i]),
                    "the %s connection's addresses changed", name_of[i]);
        LIVE_EXPECT(int_opt(fd, SOL_SOCKET, SO_SNDBUF) == sndbuf[i], "the %s connection's SO_SNDBUF is %d, was %d",
                    name_of[i], int_opt(fd, SOL_SOCKET, SO_SNDBUF), sndbuf[i]);
    }
    LIVE_EXPECT(int_opt(A4, IPPROTO_TCP, TCP_NODELAY) == 1, "the IPv4 connection lost TCP_NODELAY");
    LIVE_EXPECT(fcntl(A4, F_GETFL) & O_NONBLOCK, "the IPv4 connection lost O_NONBLOCK");
    LIVE_EXPECT(!(fcntl(A6, F_GETFL) & O_NONBLOCK), "the IPv6 connection became O_NONBLOCK");
    LIVE_EXPECT(int_opt(A6, SOL_SOCKET, SO_KEEPALIVE) == 1 && int_opt(A6, IPPROTO_TCP, TCP_KEEPIDLE) == 77 &&
                    int_opt(A6, IPPROTO_TCP, TCP_KEEPINTVL) == 11 && int_opt(A6, IPPROTO_TCP, TCP_KEEPCNT) == 5,
                "the IPv6 connection's keepalive settings changed (%d %d %d %d)", int_opt(A6, SOL_SOCKET, SO_KEEPALIVE),
                int_opt(A6, IPPROTO_TCP, TCP_KEEPIDLE), int_opt(A6, IPPROTO_TCP, TCP_KEEPINTVL),
                int_opt(A6, IPPROTO_TCP, TCP_KEEPCNT));
    LIVE_EXPECT(int_opt(A6, IPPROTO_TCP, TCP_USER_TIMEOUT) == 30000, "TCP_USER_TIMEOUT is %d",
                int_opt(A6, IPPROTO_TCP, TCP_USER_TIMEOUT));
    LIVE_EXPECT(int_opt(A4, SOL_SOCKET, SO_KEEPALIVE) == 0, "the IPv4 connection got SO_KEEPALIVE");

    for (int i = 0; i < NCONN; i++) {
        static char buf[40000];
        ssize_t got = live_stream_read(parent_end[i], buf, c2p_bytes[i]);
        LIVE_EXPECT(got == (ssize_t)c2p_bytes[i] && live_find_mismatch(buf, c2p_bytes[i], C2P_SEED + (uint64_t)i) < 0,
                    "the %s connection gave %zd of the child's %zu queued bytes, or they differ", name_of[i], got,
                    c2p_bytes[i]);
        LIVE_EXPECT(recv(parent_end[i], buf, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN,
                    "the %s connection has more than the child sent", name_of[i]);
    }
    LIVE_EXPECT(listener_accepts(L4), "the IPv4 listener does not accept");
    LIVE_EXPECT(listener_accepts(L6), "the IPv6 listener does not accept");

    live_touch("verify");
    for (int i = 0; i < NCONN; i++) {
        LIVE_EXPECT(live_stream_write(parent_end[i], "more", 4) == 0, "the %s connection: send after restore: %s",
                    name_of[i], strerror(errno));
        LIVE_EXPECT(shutdown(parent_end[i], SHUT_WR) == 0, "shutdown: %s", strerror(errno));
    }
    char reply[2] = {0, 0};
    ssize_t got = live_stream_read(A4, reply, 2);
    LIVE_EXPECT(got == 2 && memcmp(reply, "ok", 2) == 0, "the child's reply: %zd bytes '%.2s'", got, reply);
    int status = 0;
    pid_t r = waitpid(child, &status, 0);
    LIVE_EXPECT(r == child && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                "child %d ended with status %#x (see prog.log)", child, status);
    live_finish();
}
