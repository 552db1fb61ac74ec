/* Helpers shared by the live scenarios; see live.h for the protocol. */
#define _GNU_SOURCE
#include "live.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lines.h"

static char workdir[512];
static char ready_tmp_path[600], ready_path[600], check_path[600];
static pid_t ready_pid, ready_tid;
static bool ready_recorded;

static pthread_mutex_t failures_lock = PTHREAD_MUTEX_INITIALIZER;
static int failure_count;
static char failure_text[3000];

void live_init(int argc, char **argv) {
    if (argc != 2 || argv[1][0] == '\0') {
        fprintf(stderr, "usage: %s WORKDIR\n(started by tests/live/run-scenario.sh)\n", argv[0]);
        exit(2);
    }
    /* Unbuffered: no stdio buffer is allocated later, and the log keeps the
     * order of events even when the process is killed. */
    setvbuf(stdout, NULL, _IONBF, 0);
    setvbuf(stderr, NULL, _IONBF, 0);
    if (snprintf(workdir, sizeof(workdir), "%s", argv[1]) >= (int)sizeof(workdir)) {
        fprintf(stderr, "work directory path too long\n");
        exit(2);
    }
    live_path(ready_tmp_path, sizeof(ready_tmp_path), "ready.tmp");
    live_path(ready_path, sizeof(ready_path), "ready");
    live_path(check_path, sizeof(check_path), "check");
}

const char *live_workdir(void) { return workdir; }
const char *live_check_path(void) { return check_path; }

char *live_path(char *buf, size_t size, const char *name) {
    if (snprintf(buf, size, "%s/%s", workdir, name) >= (int)size) live_fail("path too long: %s/%s", workdir, name);
    return buf;
}

__attribute__((noinline)) void live_extend_stack(size_t bytes) {
    volatile char *room = __builtin_alloca(bytes);
    for (size_t i = 0; i < bytes; i += 256) room[i] = 0; /* volatile: the stores stay */
}

pid_t live_gettid(void) { return (pid_t)syscall(SYS_gettid); }

size_t live_page_size(void) {
    static size_t page;
    if (!page) page = (size_t)sysconf(_SC_PAGESIZE);
    return page;
}

static void record_identity(void) {
    ready_pid = (pid_t)syscall(SYS_getpid);
    ready_tid = live_gettid();
    ready_recorded = true;
}

void live_ready_prepare(const char **tmp, const char **final) {
    int fd = open(ready_tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) live_fail("create %s: %s", ready_tmp_path, strerror(errno));
    char line[64];
    int n = snprintf(line, sizeof(line), "%d\n", (int)getpid());
    if (write(fd, line, (size_t)n) != n) live_fail("write %s: %s", ready_tmp_path, strerror(errno));
    close(fd);
    record_identity();
    *tmp = ready_tmp_path;
    *final = ready_path;
}

void live_ready(void) {
    const char *tmp, *final;
    live_ready_prepare(&tmp, &final);
    if (rename(tmp, final) != 0) live_fail("rename %s: %s", tmp, strerror(errno));
}

void live_wait_for_check(void) {
    const struct timespec tick = {0, 10 * 1000 * 1000};
    while (access(check_path, F_OK) != 0) {
        /* EINTR (a handler ran) just means: poll again. */
        nanosleep(&tick, NULL);
    }
    live_expect_same_identity();
}

void live_expect_same_identity(void) {
    if (ready_recorded) {
        pid_t pid = (pid_t)syscall(SYS_getpid), tid = live_gettid();
        LIVE_EXPECT(pid == ready_pid, "getpid() is %d, was %d before the checkpoint", pid, ready_pid);
        LIVE_EXPECT(tid == ready_tid, "gettid() of the main thread is %d, was %d", tid, ready_tid);
        LIVE_EXPECT(getpid() == ready_pid, "libc getpid() is %d, was %d", getpid(), ready_pid);
    }
}

void live_log(const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (n > (int)sizeof(line) - 2) n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    ssize_t w = write(STDOUT_FILENO, line, (size_t)n);
    (void)w;
}

void live_expectf(bool ok, const char *file, int line, const char *fmt, ...) {
    if (ok) return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    live_log("FAILED CHECK (%s:%d): %s", base, line, msg);
    pthread_mutex_lock(&failures_lock);
    size_t used = strlen(failure_text);
    if (failure_count < 8 && used < sizeof(failure_text) - 1)
        snprintf(failure_text + used, sizeof(failure_text) - used, "%s%s", failure_count ? "; " : "", msg);
    failure_count++;
    pthread_mutex_unlock(&failures_lock);
}

int live_failures(void) {
    pthread_mutex_lock(&failures_lock);
    int n = failure_count;
    pthread_mutex_unlock(&failures_lock);
    return n;
}

_Noreturn static void verdict(const char *text, int code) {
    char path[600], line[3200];
    int n = snprintf(line, sizeof(line), "%s\n", text);
    if (n >= (int)sizeof(line)) n = (int)sizeof(line) - 1;
    live_log("verdict: %s", text);
    if (live_write_file_atomic(live_path(path, sizeof(path), "verdict"), line, (size_t)n) != 0)
        live_log("cannot write %s: %s", path, strerror(errno));
    _exit(code); /* every thread, no atexit handlers: the verdict is final */
}

_Noreturn void live_pass(void) { verdict("PASS", 0); }

void live_verdict_keep_running(void) {
    char path[600], line[3200];
    pthread_mutex_lock(&failures_lock);
    int n = failure_count == 0 ? snprintf(line, sizeof(line), "PASS\n")
                               : snprintf(line, sizeof(line), "FAIL: %s\n", failure_text);
    failure_count = 0;
    failure_text[0] = 0;
    pthread_mutex_unlock(&failures_lock);
    if (n >= (int)sizeof(line)) n = (int)sizeof(line) - 1;
    live_log("verdict (still running): %.*s", n - 1, line);
    if (live_write_file_atomic(live_path(path, sizeof(path), "verdict"), line, (size_t)n) != 0)
        live_log("cannot write %s: %s", path, strerror(errno));
}

_Noreturn static void verdict_fmt(const char *prefix, int code, const char *fmt, va_list ap) {
    char text[3000];
    int n = snprintf(text, sizeof(text), "%s: ", prefix);
    vsnprintf(text + n, sizeof(text) - (size_t)n, fmt, ap);
    verdict(text, code);
}

_Noreturn void live_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    verdict_fmt("FAIL", 1, fmt, ap);
}

_Noreturn void live_skip(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    verdict_fmt("SKIP", 0, fmt, ap);
}

_Noreturn void live_finish(void) {
    pthread_mutex_lock(&failures_lock);
    int n = failure_count;
    pthread_mutex_unlock(&failures_lock);
    if (n == 0) live_pass();
    if (n > 8) live_fail("%s; ... (%d failed checks in all)", failure_text, n);
    live_fail("%s", failure_text);
}

/* splitmix64 of (seed, offset): cheap, and every word of every page differs. */
uint64_t live_pattern_word(uint64_t seed, uint64_t offset) {
    uint64_t z = seed * 0x9e3779b97f4a7c15ull + offset + 0x632be59bd9b4e019ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint8_t pattern_byte(uint64_t seed, size_t off) {
    uint64_t w = live_pattern_word(seed, off & ~(size_t)7);
    return (uint8_t)(w >> ((off & 7) * 8));
}

/* Byte i is byte (i % 8) of word i / 8, least significant first: the same
 * bytes on little- and big-endian machines. */
void live_fill(void *p, size_t len, uint64_t seed) {
    uint8_t *b = p;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w = live_pattern_word(seed, i);
        for (int k = 0; k < 8; k++) b[i + (size_t)k] = (uint8_t)(w >> (k * 8));
    }
    for (; i < len; i++) b[i] = pattern_byte(seed, i);
}

ssize_t live_find_mismatch(const void *p, size_t len, uint64_t seed) {
    const uint8_t *b = p;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w = live_pattern_word(seed, i);
        for (int k = 0; k < 8; k++)
            if (b[i + (size_t)k] != (uint8_t)(w >> (k * 8))) return (ssize_t)(i + (size_t)k);
    }
    for (; i < len; i++)
        if (b[i] != pattern_byte(seed, i)) return (ssize_t)i;
    return -1;
}

ssize_t live_find_nonzero(const void *p, size_t len) {
    const uint8_t *b = p;
    for (size_t i = 0; i < len; i++)
        if (b[i]) return (ssize_t)i;
    return -1;
}

ssize_t live_read_file(const char *path, char *buf, size_t size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t used = 0;
    while (used + 1 < size) {
        ssize_t n = read(fd, buf + used, size - 1 - used);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        if (n == 0) break;
        used += (size_t)n;
    }
    close(fd);
    buf[used] = '\0';
    return (ssize_t)used;
}

int live_write_file_atomic(const char *path, const void *data, size_t len) {
    char tmp[700];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    ssize_t n = write(fd, data, len);
    int e = errno;
    close(fd);
    if (n != (ssize_t)len) {
        errno = n < 0 ? e : EIO;
        return -1;
    }
    return rename(tmp, path);
}

bool live_file_exists(const char *name) {
    char path[512];
    return access(live_path(path, sizeof path, name), F_OK) == 0;
}

bool live_wait_for_file(const char *name) {
    for (int i = 0; i < 3000; ++i) {
        if (live_file_exists(name)) return true;
        live_sleep_ns(10 * 1000 * 1000);
    }
    return live_file_exists(name);
}

void live_touch(const char *name) {
    char path[512];
    if (live_write_file_atomic(live_path(path, sizeof path, name), "1", 1) != 0)
        live_fail("setup: write %s: %s", name, strerror(errno));
}

void live_place_fd(int fd, int at) {
    if (fd == at) return;
    if (dup2(fd, at) != at) live_fail("setup: dup2 to %d: %s", at, strerror(errno));
    close(fd);
}

bool live_status_field(const char *status_path, const char *name, char *out, size_t size) {
    struct live_lines l;
    if (live_lines_open(&l, status_path) != 0) return false;
    size_t nlen = strlen(name);
    const char *line;
    bool found = false;
    while ((line = live_lines_next(&l))) {
        if (strncmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1;
            while (*v == ' ' || *v == '\t') v++;
            snprintf(out, size, "%s", v);
            found = true;
            break;
        }
    }
    live_lines_close(&l);
    return found;
}

int live_list_fds(int *fds, int max) {
    int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return -1;
    static char buf[8192];
    int n = 0;
    for (;;) {
        long got = syscall(SYS_getdents64, dir, buf, sizeof(buf));
        if (got <= 0) break;
        for (long off = 0; off < got;) {
            /* struct linux_dirent64: ino (8), off (8), reclen (2), type (1), name */
            unsigned short reclen;
            memcpy(&reclen, buf + off + 16, sizeof(reclen));
            const char *name = buf + off + 19;
            if (name[0] >= '0' && name[0] <= '9') {
                int fd = atoi(name);
                if (fd != dir && n < max) fds[n++] = fd;
            }
            off += reclen;
        }
    }
    close(dir);
    /* ascending: /proc lists them so, but do not rely on it */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && fds[j - 1] > fds[j]; j--) {
            int t = fds[j];
            fds[j] = fds[j - 1];
            fds[j - 1] = t;
        }
    return n;
}

int64_t live_now_ns(clockid_t c) {
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void live_sleep_ns(int64_t ns) {
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

void *live_mmap_isolated(size_t len, int prot, int flags, int fd, off_t offset) {
    const size_t page = live_page_size();
    char *area = mmap(NULL, len + 2 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (area == MAP_FAILED) live_fail("setup: reserving %zu bytes: %s", len + 2 * page, strerror(errno));
    void *p = mmap(area + page, len, prot, flags | MAP_FIXED, fd, offset);
    if (p == MAP_FAILED) live_fail("setup: mmap of %zu bytes: %s", len, strerror(errno));
    return p;
}

static bool parse_maps_line(const char *line, struct live_vma *v) {
    int path_at = 0;
    memset(v, 0, sizeof(*v));
    if (sscanf(line, "%lx-%lx %4s %llx %x:%x %lu %n", &v->start, &v->end, v->perms, &v->offset, &v->dev_major,
               &v->dev_minor, &v->inode, &path_at) < 7)
        return false;
    if (path_at > 0) snprintf(v->path, sizeof(v->path), "%s", line + path_at);
    return true;
}

bool live_find_vma(const void *addr, struct live_vma *out) {
    struct live_lines l;
    if (live_lines_open(&l, "/proc/self/maps") != 0) return false;
    const char *line;
    bool found = false;
    while ((line = live_lines_next(&l))) {
        struct live_vma v;
        if (parse_maps_line(line, &v) && v.start <= (unsigned long)addr && (unsigned long)addr < v.end) {
            *out = v;
            found = true;
            break;
        }
    }
    live_lines_close(&l);
    return found;
}

int live_read_maps(struct live_vma *out, int max) {
    struct live_lines l;
    if (live_lines_open(&l, "/proc/self/maps") != 0) return -1;
    const char *line;
    int n = 0;
    while ((line = live_lines_next(&l)) && n < max)
        if (parse_maps_line(line, &out[n])) n++;
    live_lines_close(&l);
    return n;
}

bool live_vma_flags(unsigned long start, char *out, size_t size) {
    struct live_lines l;
    if (live_lines_open(&l, "/proc/self/smaps") != 0) return false;
    const char *line;
    bool in_vma = false, found = false;
    while ((line = live_lines_next(&l))) {
        struct live_vma v;
        if (strncmp(line, "VmFlags:", 8) == 0) {
            if (in_vma) {
                snprintf(out, size, "%s", line + 8 + strspn(line + 8, " "));
                found = true;
                break;
            }
        } else if (strchr(line, '-') && parse_maps_line(line, &v)) {
            in_vma = v.start == start;
        }
    }
    live_lines_close(&l);
    return found;
}
