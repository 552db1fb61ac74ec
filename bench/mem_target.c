/*
 * The process the benchmarks checkpoint: N MiB of touched anonymous memory
 * (a pattern on every page, so nothing is a zero page) spread over V VMAs
 * (alternating protections so the kernel cannot merge them), then it
 * reports ready and sleeps. After a restore it verifies the pattern when
 * asked (SIGUSR1) and writes "ok" or "bad" to its verify file; SIGUSR2
 * makes it answer at once, touching none of its areas: it writes "pong"
 * to VERIFY_FILE.pong (time to first response of a lazy restore).
 * With CHILDREN, it forks that many children after touching its memory;
 * they never write to it (it stays shared copy-on-write) and just sleep.
 * The ready file says how long mapping and first touching its memory took
 * ("ready touch_ns=N"): what a restore must at least spend making the same
 * pages present, the ceiling the benchmarks compare restores with.
 *
 *   mem_target MIB VMAS READY_FILE VERIFY_FILE [CHILDREN]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static char **areas;
static size_t *sizes;
static long nareas;
static const char *verify_path;
static volatile sig_atomic_t verify_requested;

static volatile sig_atomic_t ping_requested;

static void on_usr1(int sig) {
    (void)sig;
    verify_requested = 1;
}

static void on_usr2(int sig) {
    (void)sig;
    ping_requested = 1;
}

static void write_file(const char *path, const char *text) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return;
    if (write(fd, text, strlen(text)) < 0) {}
    close(fd);
    rename(tmp, path);
}

static int verify(void) {
    long page = sysconf(_SC_PAGESIZE);
    for (long i = 0; i < nareas; ++i)
        for (size_t off = 0; off < sizes[i]; off += (size_t)page)
            if (areas[i][off] != (char)(i + off / (size_t)page)) return 0;
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: %s MIB VMAS READY_FILE VERIFY_FILE [CHILDREN]\n", argv[0]);
        return 2;
    }
    size_t total = (size_t)atol(argv[1]) << 20;
    nareas = atol(argv[2]);
    verify_path = argv[4];
    long page = sysconf(_SC_PAGESIZE);
    if (nareas < 1) nareas = 1;
    size_t per = total / (size_t)nareas / (size_t)page * (size_t)page;
    if (per < (size_t)page) per = (size_t)page;
    areas = calloc((size_t)nareas, sizeof *areas);
    sizes = calloc((size_t)nareas, sizeof *sizes);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < nareas; ++i) {
        areas[i] = mmap(NULL, per, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (areas[i] == MAP_FAILED) return 1;
        sizes[i] = per;
        for (size_t off = 0; off < per; off += (size_t)page) memset(areas[i] + off, (char)(i + off / (size_t)page), 64);
        /* Alternate the protection of a guard page between neighbours so
         * the kernel keeps every area a VMA of its own. */
        if (nareas > 1 && (i & 1)) mprotect(areas[i], per, PROT_READ);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long long touch_ns = (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
    long children = argc == 6 ? atol(argv[5]) : 0;
    for (long i = 0; i < children; ++i) {
        pid_t c = fork();
        if (c < 0) return 1;
        if (c == 0)
            for (;;) pause();
    }
    signal(SIGUSR1, on_usr1);
    signal(SIGUSR2, on_usr2);
    char pong[4096];
    snprintf(pong, sizeof pong, "%s.pong", verify_path);
    char ready[64];
    snprintf(ready, sizeof ready, "ready touch_ns=%lld\n", touch_ns);
    write_file(argv[3], ready);
    for (;;) {
        pause();
        if (ping_requested) {
            ping_requested = 0;
            write_file(pong, "pong\n");
        }
        if (verify_requested) {
            verify_requested = 0;
            write_file(verify_path, verify() ? "ok\n" : "bad\n");
        }
    }
}
