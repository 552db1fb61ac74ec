/* Argument block of the probe blob: plain data shared by C and C++. */
#ifndef STASIS_PIE_PROBE_H
#define STASIS_PIE_PROBE_H

#include <stdint.h>

#define PROBE_MAGIC_XOR 0x5354415349535321ull

struct probe_args {
    uint64_t magic_in;
    uint64_t magic_out;
    int64_t pid;
    int64_t tid;
    uint64_t done;
};

#endif
