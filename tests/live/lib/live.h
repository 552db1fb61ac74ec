/* Helpers shared by the live scenarios (tests/live/<scenario>.c).
 *
 * Protocol (see tests/live/README.md): the runner starts `prog WORKDIR`;
 * the program sets up its state, records what it expects, calls
 * live_ready(), waits in live_wait_for_check() while the runner dumps and
 * restores it, then verifies everything from inside and ends with a verdict
 * file: "PASS", "FAIL: reasons" or "SKIP: reason".
 *
 * Nothing here keeps a file descriptor open or allocates memory after
 * live_init(): every fd and every mapping is state the dump must handle, and
 * scenarios that compare /proc/self/maps must not see the helpers change it.
 */
#ifndef STASIS_LIVE_H
#define STASIS_LIVE_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#define LIVE_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Parses argv (argv[1] is the work directory), makes stdout unbuffered and
 * records the process identity. Exits with a usage message when argv is
 * wrong. */
void live_init(int argc, char **argv);

const char *live_workdir(void);
/* WORKDIR/name into buf; fails the test when it does not fit. */
char *live_path(char *buf, size_t size, const char *name);

/* Creates WORKDIR/ready atomically and records getpid()/gettid() of the
 * calling (main) thread. */
void live_ready(void);
/* For code that must signal readiness itself without calling into C (the
 * register-holding loops): writes WORKDIR/ready.tmp and returns both paths;
 * the caller renames tmp to ready when its state is complete. Records
 * getpid()/gettid() like live_ready(). */
void live_ready_prepare(const char **tmp_path, const char **ready_path);
const char *live_check_path(void);

/* Polls every 10 ms with nanosleep(2) until WORKDIR/check exists, then
 * verifies that getpid() and gettid() of the calling thread are the ones
 * recorded by live_ready(). */
void live_wait_for_check(void);
/* The identity part of live_wait_for_check(), for code that polls itself. */
void live_expect_same_identity(void);

/* Failures are collected (thread-safe) and reported together. C leaves the
 * order in which arguments are evaluated open: never let the condition fill
 * in something the message prints — call first, then LIVE_EXPECT. */
void live_expectf(bool ok, const char *file, int line, const char *fmt, ...) LIVE_PRINTF(4, 5);
#define LIVE_EXPECT(cond, ...) live_expectf(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
int live_failures(void);

/* Verdicts: write WORKDIR/verdict (tmp + rename) and exit the process. */
_Noreturn void live_pass(void);
_Noreturn void live_fail(const char *fmt, ...) LIVE_PRINTF(1, 2);
_Noreturn void live_skip(const char *fmt, ...) LIVE_PRINTF(1, 2);
/* PASS when no LIVE_EXPECT failed, else FAIL with the collected reasons. */
_Noreturn void live_finish(void);
/* Writes the verdict of the checks so far (PASS, or FAIL: what failed),
 * forgets them and returns: programs checked more than once (across
 * several checkpoints) keep running. */
void live_verdict_keep_running(void);

/* Logs one line to stdout (the runner sends it to WORKDIR/prog.log). */
void live_log(const char *fmt, ...) LIVE_PRINTF(1, 2);

/* Dies with FAIL when a setup step returns -1 / NULL. */
#define LIVE_SETUP(expr)                                                                              \
    ({                                                                                                \
        __typeof__(expr) live_r_ = (expr);                                                            \
        if (live_r_ == (__typeof__(expr))-1) live_fail("setup: %s: %s (%s:%d)", #expr, strerror(errno), \
                                                       __FILE__, __LINE__);                           \
        live_r_;                                                                                      \
    })

size_t live_page_size(void);
/* Touches `bytes` of stack below the caller, so that [stack] already covers
 * what later checks need and does not grow between two snapshots. */
void live_extend_stack(size_t bytes);
pid_t live_gettid(void);
/* The thread pointer (what glibc's __rseq_offset is relative to); per
 * architecture in arch/<arch>/thread_pointer.c or arch/generic/. */
void *live_thread_pointer(void);

/* Deterministic content: word i of a buffer filled with seed s is
 * live_pattern_word(s, offset_of_word). */
uint64_t live_pattern_word(uint64_t seed, uint64_t offset);
void live_fill(void *p, size_t len, uint64_t seed);
/* Offset of the first byte that differs from the pattern, or -1. */
ssize_t live_find_mismatch(const void *p, size_t len, uint64_t seed);
/* Same, for a buffer that must be all zero. */
ssize_t live_find_nonzero(const void *p, size_t len);

/* WORKDIR/name exists. */
bool live_file_exists(const char *name);
/* Waits up to 30 s for WORKDIR/name to exist; whether it does. */
bool live_wait_for_file(const char *name);
/* Creates WORKDIR/name (tmp + rename); fails the test when it cannot. */
void live_touch(const char *name);
/* Moves fd to descriptor number `at` (dup2 and close; nothing when they
 * are equal); fails the test when it cannot. */
void live_place_fd(int fd, int at);

/* Reads a whole (small) file with open/read into buf (NUL-terminated).
 * Returns the length, or -1 with errno set. */
ssize_t live_read_file(const char *path, char *buf, size_t size);
/* Writes data to path with tmp + rename. Returns 0 or -1. */
int live_write_file_atomic(const char *path, const void *data, size_t len);
/* The value of "Name:" in /proc/self/status (or any status file), trimmed;
 * returns false when missing. */
bool live_status_field(const char *status_path, const char *name, char *out, size_t size);

/* The open fds of the process, ascending, without the one used to list
 * them (getdents64 on /proc/self/fd: no opendir, so no malloc). Returns the
 * count, or -1. */
int live_list_fds(int *fds, int max);

/* Nanoseconds on clock c. */
int64_t live_now_ns(clockid_t c);
void live_sleep_ns(int64_t ns);

/* mmap() with a one-page PROT_NONE guard on each side, so that the kernel
 * cannot merge the mapping with a neighbour and its bounds stay exactly
 * [result, result + len). Fails the test on error. */
void *live_mmap_isolated(size_t len, int prot, int flags, int fd, off_t offset);

/* One line of /proc/self/maps, parsed. */
struct live_vma {
    unsigned long start, end;
    char perms[5];
    unsigned long long offset;
    unsigned dev_major, dev_minor;
    unsigned long inode;
    char path[256];
};
/* Finds the mapping that contains addr. */
bool live_find_vma(const void *addr, struct live_vma *out);
/* Parses up to max mappings of /proc/self/maps; returns the count or -1. */
int live_read_maps(struct live_vma *out, int max);
/* The VmFlags of the mapping starting at start, from /proc/self/smaps. */
bool live_vma_flags(unsigned long start, char *out, size_t size);

#endif
