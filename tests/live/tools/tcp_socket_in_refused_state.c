/* For the test that refuses TCP sockets in states stasis cannot restore:
 *   tcp_socket_in_refused_state WORKDIR fin_wait2|close_wait|unaccepted
 * Speaks the live protocol (ready, check, verdict). Holds, over 127.0.0.1:
 *  - fd 5 and 6: both ends of an established connection, with "abc" queued
 *    from 5 to 6: described (in repair mode) before the dump reaches fd 7;
 *  - fd 7: the socket in the refused state: the client end after
 *    shutdown(SHUT_WR) (FIN_WAIT2), the server end that saw it (CLOSE_WAIT),
 *    or the listener with one connection not accepted yet;
 *  - fd 8: its counterpart, fd 9 the listener (when not at fd 7).
 * WORKDIR/expect gets what the dump's error must name: "fd 7", the
 * addresses of fd 7 as stasis prints them, and the state.
 * The check (after the failed dump): the connection at fds 5/6 still works
 * both ways, its queued "abc" intact: the dump left repair mode. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "live.h"
#include "streams.h"

static int connect_to(struct sockaddr_in *a) {
    int fd = LIVE_SETUP(socket(AF_INET, SOCK_STREAM, 0));
    LIVE_SETUP(connect(fd, (struct sockaddr *)a, sizeof *a));
    return fd;
}

/* Out of the way of the fd numbers placed below. */
static int high(int fd) {
    int h = LIVE_SETUP(fcntl(fd, F_DUPFD, 20));
    close(fd);
    return h;
}

static void endpoint(int fd, int peer, char *out, size_t size) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    if (peer)
        getpeername(fd, (struct sockaddr *)&a, &len);
    else
        getsockname(fd, (struct sockaddr *)&a, &len);
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
    snprintf(out, size, "%s:%d", ip, ntohs(a.sin_port));
}

int main(int argc, char **argv) {
    const char *mode = argc > 2 ? argv[2] : "";
    live_init(2, argv);
    int l = LIVE_SETUP(socket(AF_INET, SOCK_STREAM, 0));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    LIVE_SETUP(bind(l, (struct sockaddr *)&a, sizeof a));
    LIVE_SETUP(listen(l, 4));
    LIVE_SETUP(getsockname(l, (struct sockaddr *)&a, &len));
    live_place_fd(connect_to(&a), 5);
    live_place_fd(LIVE_SETUP(accept(l, NULL, NULL)), 6);
    LIVE_SETUP(live_stream_write(5, "abc", 3));

    l = high(l);
    int client = high(connect_to(&a));
    const char *state;
    if (strcmp(mode, "unaccepted") == 0) {
        live_place_fd(l, 7);
        live_place_fd(client, 8);
        state = "LISTEN";
    } else {
        int server = high(LIVE_SETUP(accept(l, NULL, NULL)));
        LIVE_SETUP(shutdown(client, SHUT_WR));
        live_sleep_ns(100 * 1000 * 1000); /* the FIN and its ACK cross */
        bool fin_wait2 = strcmp(mode, "fin_wait2") == 0;
        if (!fin_wait2 && strcmp(mode, "close_wait") != 0) live_fail("unknown mode '%s'", mode);
        live_place_fd(fin_wait2 ? client : server, 7);
        live_place_fd(fin_wait2 ? server : client, 8);
        live_place_fd(l, 9);
        state = fin_wait2 ? "FIN_WAIT2" : "CLOSE_WAIT";
    }
    char local[64], peer[64], expect[256], path[512];
    endpoint(7, 0, local, sizeof local);
    int n;
    if (strcmp(state, "LISTEN") == 0) {
        n = snprintf(expect, sizeof expect, "fd 7\n%s\nnot accepted\n", local);
    } else {
        endpoint(7, 1, peer, sizeof peer);
        n = snprintf(expect, sizeof expect, "fd 7\n%s -> %s\n%s\n", local, peer, state);
    }
    LIVE_SETUP(live_write_file_atomic(live_path(path, sizeof path, "expect"), expect, (size_t)n));
    live_ready();
    live_wait_for_check();

    char buf[4] = {0};
    LIVE_EXPECT(live_stream_read(6, buf, 3) == 3 && memcmp(buf, "abc", 3) == 0, "the queued 'abc' is gone: '%s'", buf);
    LIVE_EXPECT(live_stream_write(6, "xyz", 3) == 0, "send back: %s", strerror(errno));
    memset(buf, 0, sizeof buf);
    LIVE_EXPECT(live_stream_read(5, buf, 3) == 3 && memcmp(buf, "xyz", 3) == 0, "the answer did not arrive: '%s'", buf);
    live_finish();
}
