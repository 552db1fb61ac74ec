#define _GNU_SOURCE
#include "streams.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "live.h"

static int wait_for(int fd, short events, int ms) {
    struct pollfd p = {.fd = fd, .events = events};
    int r;
    do {
        r = poll(&p, 1, ms);
    } while (r < 0 && errno == EINTR);
    return r;
}

ssize_t live_stream_read(int fd, void *buf, size_t len) {
    size_t got = 0;
    while (got < len) {
        if (wait_for(fd, POLLIN, 10000) <= 0) break;
        ssize_t n = recv(fd, (char *)buf + got, len - got, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

ssize_t live_stream_read_to_eof(int fd, void *buf, size_t size) {
    size_t got = 0;
    for (;;) {
        if (wait_for(fd, POLLIN, 10000) <= 0) return -1;
        char extra;
        char *at = got < size ? (char *)buf + got : &extra;
        ssize_t n = recv(fd, at, got < size ? size - got : 1, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (n < 0) return -1;
        if (n == 0) return (ssize_t)got;
        if (got >= size) return -1;
        got += (size_t)n;
    }
}

int live_stream_write(int fd, const void *buf, size_t len) {
    size_t done = 0;
    while (done < len) {
        if (wait_for(fd, POLLOUT, 10000) <= 0) return errno = ETIMEDOUT, -1;
        ssize_t n = send(fd, (const char *)buf + done, len - done, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (n < 0) return -1;
        done += (size_t)n;
    }
    return 0;
}

size_t live_stream_fill(int fd, uint64_t seed, size_t already, size_t max, int settle_ms) {
    char *pattern = malloc(max);
    if (!pattern) live_fail("setup: malloc %zu", max);
    live_fill(pattern, max, seed);
    size_t done = already;
    for (;;) {
        ssize_t n = send(fd, pattern + done, max - done, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            done += (size_t)n;
            if (done == max) break;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != EAGAIN) live_fail("setup: fill fd %d: %s", fd, strerror(errno));
        /* Full: wait whether room comes back (the peer's kernel may still
         * take some), then stop. */
        if (wait_for(fd, POLLOUT, settle_ms) <= 0) break;
    }
    free(pattern);
    return done;
}
