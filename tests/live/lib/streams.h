/* Byte streams (TCP, unix stream sockets) for the socket scenarios: reads
 * and writes that wait with poll (10 s at most per step) and never block
 * forever, and filling a connection until the kernel takes no more. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reads exactly len bytes (fewer at end of file or after 10 s without
 * data); returns how many arrived. */
ssize_t live_stream_read(int fd, void *buf, size_t len);
/* Reads until end of file, at most size bytes; -1 if no end of file came
 * within 10 s of the last data or more than size bytes arrived. */
ssize_t live_stream_read_to_eof(int fd, void *buf, size_t size);
/* Writes all of buf (waiting for room); 0, or -1 with errno. */
int live_stream_write(int fd, const void *buf, size_t len);
/* Writes the pattern live_fill(seed) gives, from offset `already`, without
 * blocking, until the kernel takes no more for `settle_ms` (the peer does
 * not read). Returns the new total. */
size_t live_stream_fill(int fd, uint64_t seed, size_t already, size_t max, int settle_ms);
