#define _GNU_SOURCE
#include "lines.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int live_lines_open(struct live_lines *l, const char *path) {
    l->fd = open(path, O_RDONLY | O_CLOEXEC);
    l->start = l->len = 0;
    return l->fd < 0 ? -1 : 0;
}

const char *live_lines_next(struct live_lines *l) {
    for (;;) {
        char *nl = memchr(l->buf + l->start, '\n', l->len - l->start);
        if (nl) {
            *nl = '\0';
            const char *line = l->buf + l->start;
            l->start = (size_t)(nl - l->buf) + 1;
            return line;
        }
        /* Move the partial line to the front and read more. */
        size_t rest = l->len - l->start;
        memmove(l->buf, l->buf + l->start, rest);
        l->start = 0;
        l->len = rest;
        if (l->len == sizeof(l->buf) - 1) { /* overlong line: cut it */
            l->buf[l->len] = '\0';
            l->start = l->len = 0;
            return l->buf;
        }
        ssize_t n;
        do n = read(l->fd, l->buf + l->len, sizeof(l->buf) - 1 - l->len);
        while (n < 0 && errno == EINTR);
        if (n <= 0) {
            if (l->len == 0) return NULL;
            l->buf[l->len] = '\0'; /* last line without newline */
            l->start = l->len = 0;
            return l->buf;
        }
        l->len += (size_t)n;
    }
}

void live_lines_close(struct live_lines *l) {
    if (l->fd >= 0) close(l->fd);
    l->fd = -1;
}
