/* Proves: a TCP connection to a peer outside the dumped tree survives the
 * dump, the time the process is gone and the restore, unnoticed by the
 * peer, as long as the peer sends nothing meanwhile:
 *  - the peer (a helper process this program starts through a child that
 *    exits, so it is not part of the dumped tree) connects to this
 *    program's listener on 127.0.0.1, sends data this program leaves
 *    unread, and does not read what this program writes until told to
 *    (the rest stays in this program's send queue, the peer's window
 *    closed);
 *  - the dump makes the connection vanish without a FIN or an RST (repair
 *    mode), so the peer's end stays established and quiet;
 *  - after the restore this program reads exactly what the peer had sent,
 *    then tells the peer to go on: the peer receives exactly what this
 *    program wrote before the dump and after it, reports that it saw no
 *    end of file or reset, and answers on the same connection.
 * Under a failed or --leave-running dump the same checks prove the dump
 * left the connection working. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "live.h"
#include "streams.h"

enum { LISTENER = 10, CONN = 12, PEER_FD = 30 };
enum { H2P_BYTES = 20000, P2H_MAX = 4 << 20, H2P_SEED = 500, P2H_SEED = 600 };

static void write_text(const char *name, const char *text) {
    char path[512];
    live_write_file_atomic(live_path(path, sizeof path, name), text, strlen(text));
}

/* The peer: not in the dumped tree. It exits on its own: after answering,
 * when the connection ends, or after 120 s without being told to go on. */
_Noreturn static void peer_main(struct sockaddr_in to) {
    /* A session of its own: one that kept this program's PID as its
     * session and process group id would keep that PID taken. */
    setsid();
    for (int fd = 3; fd < 64; fd++) close(fd);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small) != 0 ||
        connect(fd, (struct sockaddr *)&to, sizeof to) != 0)
        write_text("peer.verdict", "connect failed"), _exit(1);
    static char buf[P2H_MAX + 8];
    live_fill(buf, H2P_BYTES, H2P_SEED);
    if (live_stream_write(fd, buf, H2P_BYTES) != 0) write_text("peer.verdict", "send failed"), _exit(1);
    live_touch("peer.ready");
    for (int waited = 0; !live_file_exists("go"); waited += 10) {
        struct pollfd p = {.fd = fd, .events = POLLRDHUP};
        if (poll(&p, 1, 10) > 0 && (p.revents & (POLLRDHUP | POLLERR | POLLHUP)))
            write_text("peer.verdict", "the connection ended or was reset before the go"), _exit(1);
        if (waited > 120000) _exit(1);
    }
    char path[512], count[64] = {0};
    live_read_file(live_path(path, sizeof path, "p2h_count"), count, sizeof count - 1);
    size_t want = strtoul(count, NULL, 10);
    ssize_t got = live_stream_read(fd, buf, want + 4);
    const char *verdict = "ok";
    if (got != (ssize_t)want + 4 || live_find_mismatch(buf, want, P2H_SEED) >= 0 || memcmp(buf + want, "more", 4) != 0)
        verdict = "what arrived is not what the program wrote before and after the dump";
    write_text("peer.verdict", verdict);
    live_stream_write(fd, strcmp(verdict, "ok") == 0 ? "ok" : "no", 2);
    live_stream_read_to_eof(fd, buf, sizeof buf);
    _exit(0);
}

int main(int argc, char **argv) {
    live_init(argc, argv);
    int l = LIVE_SETUP(socket(AF_INET, SOCK_STREAM, 0));
    struct sockaddr_in lo = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    LIVE_SETUP(bind(l, (struct sockaddr *)&lo, sizeof lo));
    LIVE_SETUP(listen(l, 4));
    live_place_fd(l, LISTENER);
    socklen_t len = sizeof lo;
    LIVE_SETUP(getsockname(LISTENER, (struct sockaddr *)&lo, &len));

    pid_t child = LIVE_SETUP(fork());
    if (child == 0) {
        pid_t peer = fork();
        if (peer == 0) peer_main(lo);
        _exit(peer > 0 ? 0 : 1);
    }
    int status = 0;
    LIVE_SETUP(waitpid(child, &status, 0));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) live_fail("setup: could not start the peer");
    live_place_fd(LIVE_SETUP(accept(LISTENER, NULL, NULL)), CONN);
    size_t p2h = live_stream_fill(CONN, P2H_SEED, 0, P2H_MAX, 200);
    char count[64], path[512];
    snprintf(count, sizeof count, "%zu\n", p2h);
    write_text("p2h_count", count);
    for (int waited = 0; !live_file_exists("peer.ready"); waited += 10) {
        if (waited > 10000) live_fail("setup: the peer never got ready");
        live_sleep_ns(10 * 1000 * 1000);
    }
    live_log("peer outside the tree; this program wrote %zu bytes it does not read yet, it sent %d unread", p2h,
             H2P_BYTES);
    live_ready();
    live_wait_for_check();

    static char buf[H2P_BYTES + 1];
    ssize_t got = live_stream_read(CONN, buf, H2P_BYTES);
    LIVE_EXPECT(got == H2P_BYTES && live_find_mismatch(buf, H2P_BYTES, H2P_SEED) < 0,
                "the peer's queued data: %zd of %d bytes, or they differ", got, H2P_BYTES);
    LIVE_EXPECT(recv(CONN, buf, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN, "more arrived than the peer sent");
    live_touch("go");
    LIVE_EXPECT(live_stream_write(CONN, "more", 4) == 0, "send after restore: %s", strerror(errno));
    char reply[2] = {0, 0};
    got = live_stream_read(CONN, reply, 2);
    char verdict[256] = {0};
    live_read_file(live_path(path, sizeof path, "peer.verdict"), verdict, sizeof verdict - 1);
    LIVE_EXPECT(got == 2 && memcmp(reply, "ok", 2) == 0, "the peer's answer: %zd bytes '%.2s'; it says: %s", got,
                reply, verdict);
    LIVE_EXPECT(strcmp(verdict, "ok") == 0, "the peer says: %s", verdict);
    close(CONN);
    live_finish();
}
