/* Helpers shared by the VM tier's static /init programs (init/vm_init.c,
 * xkernel/xkernel_init.c, tests/data/vdso/record_init.c): console lines,
 * power-off, clocks, small files, and children. Each /init is one C file
 * that includes this once. */
#ifndef STASIS_QEMU_GUEST_H
#define STASIS_QEMU_GUEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline void write_all(int fd, const char *buf, size_t len) {
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, buf + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        off += (size_t)w;
    }
}

/* One line on the console (format without the newline). */
static inline void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void say(const char *fmt, ...) {
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n > sizeof(buf) - 2) n = (int)sizeof(buf) - 2;
    buf[n++] = '\n';
    write_all(STDOUT_FILENO, buf, (size_t)n);
}

static inline _Noreturn void power_off(void) {
    sync();
    reboot(RB_POWER_OFF);
    for (;;) pause(); /* PID 1 must never exit: the kernel would panic */
}

static inline double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

static inline bool exists(const char *path) { return access(path, F_OK) == 0; }

static inline ssize_t read_file(const char *path, char *buf, size_t size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t len = 0;
    while (len + 1 < size) {
        ssize_t r = read(fd, buf + len, size - 1 - len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    return (ssize_t)len;
}

static inline void child_fds(const char *log) {
    int in = open("/dev/null", O_RDONLY);
    int out = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    if (in < 0 || out < 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(out, 2);
    if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
        for (int fd = 3; fd < 1024; fd++) close(fd);
}

static inline bool wait_child(pid_t pid, double secs, int *status) {
    double deadline = now_s() + secs;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG | __WALL);
        if (r == pid) return true;
        if (r < 0 && errno != EINTR) {
            *status = 0;
            return true;
        }
        if (now_s() >= deadline) return false;
        sleep_ms(10);
    }
}

static inline char task_state(pid_t pid) {
    char path[64], buf[4096];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if (read_file(path, buf, sizeof(buf)) <= 0) return '\0';
    const char *s = strstr(buf, "\nState:");
    if (!s) return '\0';
    s += strlen("\nState:");
    while (*s == ' ' || *s == '\t') s++;
    return *s;
}

/* devtmpfs on /dev, and /dev/console as fds 0-2 (no console: power off). */
static inline void setup_console(void) {
    mkdir("/dev", 0755);
    if (mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755") != 0 && errno != EBUSY) power_off();
    int fd = open("/dev/console", O_RDWR | O_NOCTTY);
    if (fd < 0) power_off();
    for (int i = 0; i < 3; i++)
        if (fd != i) dup2(fd, i);
    if (fd > 2) close(fd);
}

#endif
