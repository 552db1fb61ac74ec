/* A line reader over open/read with a fixed buffer: no stdio, no malloc, so
 * reading /proc/self/maps does not itself change the memory map. */
#ifndef STASIS_LIVE_LINES_H
#define STASIS_LIVE_LINES_H

#include <stddef.h>

struct live_lines {
    int fd;
    size_t start, len;
    char buf[8192];
};

/* 0, or -1 with errno set. */
int live_lines_open(struct live_lines *l, const char *path);
/* The next line without its newline (valid until the next call), or NULL at
 * the end. A line longer than the buffer is cut. */
const char *live_lines_next(struct live_lines *l);
void live_lines_close(struct live_lines *l);

#endif
