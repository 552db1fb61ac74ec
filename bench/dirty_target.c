/*
 * The process the pre-dump benchmark checkpoints: MIB MiB of touched
 * anonymous memory that it keeps writing, RATE percent of its pages per
 * second (spread over 100 steps a second, random pages). Each page holds
 * its own index in its first word and a write counter in its second, so
 * that after a restore a SIGUSR1 makes it check every page's index and
 * write "ok" or "bad" to its verify file.
 *
 *   dirty_target MIB RATE READY_FILE VERIFY_FILE
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t verify_requested;

static void on_usr1(int sig) {
    (void)sig;
    verify_requested = 1;
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

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s MIB RATE READY_FILE VERIFY_FILE\n", argv[0]);
        return 2;
    }
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t npages = ((size_t)atol(argv[1]) << 20) / page;
    double rate = atof(argv[2]) / 100.0;
    char *mem = mmap(NULL, npages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) return 1;
    for (size_t i = 0; i < npages; ++i) {
        memset(mem + i * page, (int)(i & 0xff), page);
        ((uint64_t *)(mem + i * page))[0] = i;
        ((uint64_t *)(mem + i * page))[1] = 0;
    }
    signal(SIGUSR1, on_usr1);
    write_file(argv[3], "ready");
    size_t per_step = (size_t)(npages * rate / 100.0);
    if (per_step == 0 && rate > 0) per_step = 1;
    uint64_t x = 0x2545f4914f6cdd1dull;
    for (;;) {
        if (verify_requested) {
            verify_requested = 0;
            int good = 1;
            for (size_t i = 0; i < npages && good; ++i) good = ((uint64_t *)(mem + i * page))[0] == i;
            write_file(argv[4], good ? "ok" : "bad");
        }
        for (size_t k = 0; k < per_step; ++k) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            size_t i = (size_t)(x % npages);
            ((uint64_t *)(mem + i * page))[1]++;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}
