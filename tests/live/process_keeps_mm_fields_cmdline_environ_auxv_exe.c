/* Proves: the mm fields the kernel reports (code, data, brk, stack, argument
 * and environment bounds in /proc/self/stat) come back exactly, and with
 * them /proc/self/cmdline, /proc/self/environ, /proc/self/auxv and
 * /proc/self/exe — including arguments moved to a new buffer with
 * PR_SET_MM_MAP, the way setproctitle-style programs rename themselves. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "live.h"

/* /proc/self/stat fields (1-based, see proc(5)) that hold mm addresses. */
static const int stat_fields[] = {26, 27, 28, 45, 46, 47, 48, 49, 50, 51};
static const char *stat_names[] = {"start_code", "end_code", "start_stack", "start_data", "end_data",
                                   "start_brk",  "arg_start", "arg_end",    "env_start",  "env_end"};
enum { NFIELDS = sizeof(stat_fields) / sizeof(stat_fields[0]) };

static void read_stat(unsigned long long out[NFIELDS]) {
    static char buf[4096];
    if (live_read_file("/proc/self/stat", buf, sizeof(buf)) < 0) live_fail("read /proc/self/stat: %s", strerror(errno));
    char *p = strrchr(buf, ')');
    if (!p) live_fail("unexpected /proc/self/stat: %s", buf);
    p += 2; /* field 3 starts here */
    int field = 3, k = 0;
    while (*p && k < NFIELDS) {
        if (field == stat_fields[k]) out[k++] = strtoull(p, NULL, 10);
        p = strchr(p, ' ');
        if (!p) break;
        p++;
        field++;
    }
    if (k != NFIELDS) live_fail("/proc/self/stat has only %d fields", field);
}

static char cmdline_before[4096], environ_before[65536], auxv_before[4096];
static char cmdline_now[4096], environ_now[65536], auxv_now[4096];
static ssize_t cmdline_len, environ_len, auxv_len;

static ssize_t read_or_fail(const char *path, char *buf, size_t size) {
    ssize_t n = live_read_file(path, buf, size);
    if (n < 0) live_fail("read %s: %s", path, strerror(errno));
    return n;
}

/* Moves the argument area into a fresh buffer with PR_SET_MM_MAP (needs no
 * capability as long as the exe link stays). Returns false when the kernel
 * refuses (then the arguments are renamed in place instead). */
static bool move_arguments(const unsigned long long f[NFIELDS], char *buf, size_t len) {
    struct prctl_mm_map map = {
        .start_code = f[0], .end_code = f[1], .start_stack = f[2], .start_data = f[3], .end_data = f[4],
        .start_brk = f[5], .brk = (uintptr_t)sbrk(0), .arg_start = (uintptr_t)buf, .arg_end = (uintptr_t)buf + len,
        .env_start = f[8], .env_end = f[9], .auxv = NULL, .auxv_size = 0, .exe_fd = (uint32_t)-1,
    };
    if (prctl(PR_SET_MM, PR_SET_MM_MAP, (unsigned long)&map, sizeof(map), 0) == 0) return true;
    live_log("PR_SET_MM_MAP refused (%s): renaming the arguments in place instead", strerror(errno));
    return false;
}

int main(int argc, char **argv) {
    live_init(argc, argv);
    unsigned long long before[NFIELDS], now[NFIELDS];
    read_stat(before);

    /* New argument area: its own page, like a program that rewrites its title. */
    static const char title[] = "live-mm\0moved-arguments\0";
    char *args = live_mmap_isolated(live_page_size(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memcpy(args, title, sizeof(title) - 1);
    if (!move_arguments(before, args, sizeof(title) - 1)) argv[0][0] = 'X';

    read_stat(before);
    cmdline_len = read_or_fail("/proc/self/cmdline", cmdline_before, sizeof(cmdline_before));
    environ_len = read_or_fail("/proc/self/environ", environ_before, sizeof(environ_before));
    auxv_len = read_or_fail("/proc/self/auxv", auxv_before, sizeof(auxv_before));
    char exe_before[600] = "", exe_now[600] = "";
    ssize_t n = readlink("/proc/self/exe", exe_before, sizeof(exe_before) - 1);
    exe_before[n < 0 ? 0 : n] = '\0';
    struct stat exe_st, exe_st_now;
    LIVE_SETUP(stat("/proc/self/exe", &exe_st));
    live_log("arg_start %#llx arg_end %#llx; cmdline %zd bytes; exe %s", before[6], before[7], cmdline_len, exe_before);

    live_ready();
    live_wait_for_check();

    read_stat(now);
    for (int k = 0; k < NFIELDS; k++)
        LIVE_EXPECT(now[k] == before[k], "%s (stat field %d) is %#llx, was %#llx", stat_names[k], stat_fields[k],
                    now[k], before[k]);
    ssize_t c = read_or_fail("/proc/self/cmdline", cmdline_now, sizeof(cmdline_now));
    LIVE_EXPECT(c == cmdline_len && memcmp(cmdline_now, cmdline_before, (size_t)c) == 0,
                "/proc/self/cmdline changed (%zd bytes, was %zd): \"%s\"", c, cmdline_len, cmdline_now);
    ssize_t e = read_or_fail("/proc/self/environ", environ_now, sizeof(environ_now));
    LIVE_EXPECT(e == environ_len && memcmp(environ_now, environ_before, (size_t)e) == 0,
                "/proc/self/environ changed (%zd bytes, was %zd)", e, environ_len);
    ssize_t a = read_or_fail("/proc/self/auxv", auxv_now, sizeof(auxv_now));
    LIVE_EXPECT(a == auxv_len && memcmp(auxv_now, auxv_before, (size_t)a) == 0,
                "/proc/self/auxv changed (%zd bytes, was %zd)", a, auxv_len);
    n = readlink("/proc/self/exe", exe_now, sizeof(exe_now) - 1);
    exe_now[n < 0 ? 0 : n] = '\0';
    LIVE_EXPECT(strcmp(exe_now, exe_before) == 0, "/proc/self/exe is \"%s\", was \"%s\"", exe_now, exe_before);
    LIVE_EXPECT(stat("/proc/self/exe", &exe_st_now) == 0 && exe_st_now.st_dev == exe_st.st_dev &&
                    exe_st_now.st_ino == exe_st.st_ino,
                "/proc/self/exe is another file than before");
    live_finish();
}
