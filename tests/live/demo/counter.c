/*
 * The demo process of ci/demo.sh: counts, keeps 64 MiB of memory it checks
 * on every step, and appends one line per step to its log, so that a
 * checkpoint/restore in the middle shows as an uninterrupted count.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    size_t size = 64u << 20;
    unsigned char *mem = malloc(size);
    if (!mem) return 1;
    for (size_t i = 0; i < size; ++i) mem[i] = (unsigned char)(i * 7);
    for (unsigned long n = 1;; ++n) {
        size_t probe = (n * 2654435761u) % size;
        int ok = mem[probe] == (unsigned char)(probe * 7);
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        printf("pid %d step %lu memory %s at %ld.%03ld\n", getpid(), n, ok ? "intact" : "CORRUPT", (long)t.tv_sec,
               t.tv_nsec / 1000000);
        fflush(stdout);
        usleep(200000);
    }
}
