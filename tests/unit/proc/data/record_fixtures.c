/* Records the /proc fixtures of this directory from a live process that
 * holds every kind of mapping and descriptor the parsers must understand.
 * Not built by CMake; run by hand as root when the fixtures need refreshing:
 *   cc -O2 -o /tmp/record_fixtures record_fixtures.c && /tmp/record_fixtures .
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

static void die(const char *what) {
    perror(what);
    exit(1);
}

static void copy(const char *from, const char *dir, const char *name) {
    char to[4096];
    snprintf(to, sizeof(to), "%s/%s", dir, name);
    int in = open(from, O_RDONLY);
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0) die(from);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof(buf))) > 0)
        if (write(out, buf, (size_t)n) != n) die("write");
    close(in);
    close(out);
}

static void copy_fdinfo(int fd, const char *dir, const char *name) {
    char from[64];
    snprintf(from, sizeof(from), "/proc/self/fdinfo/%d", fd);
    copy(from, dir, name);
}

static void map_interesting_memory(void) {
    /* A deleted file whose name has spaces. */
    const char *path = "/tmp/stasis fixture (file).bin";
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, 8192)) die("file");
    if (mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED) die("mmap file");
    unlink(path);
    close(fd);
    /* A file that stays, mapped private at an offset. */
    fd = open("/tmp/stasis-fixture-kept", O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, 16384)) die("kept");
    if (mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 8192) == MAP_FAILED) die("mmap kept");
    close(fd);
    /* memfd, shared anonymous (/dev/zero (deleted)), SysV shm. */
    int mfd = memfd_create("stasis-fixture", 0);
    if (mfd < 0 || ftruncate(mfd, 4096)) die("memfd");
    if (mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0) == MAP_FAILED) die("mmap memfd");
    char *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) die("mmap shared");
    shared[0] = 1;
    int shmid = shmget(42, 4096, IPC_CREAT | 0600);
    if (shmid < 0 || shmat(shmid, NULL, 0) == (void *)-1) die("shm");
    shmctl(shmid, IPC_RMID, NULL);
    /* Named anonymous memory, private and shared (needs CONFIG_ANON_VMA_NAME;
     * without it the names are missing and smaps_anon_names.txt, edited
     * from a recording, stands in). */
    char *named = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (named == MAP_FAILED) die("mmap named");
    named[0] = 1;
    prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, named, 3 * 4096, "fixture arena");
    prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, shared, 4096, "fixture-shared");
    /* An inaccessible guard and an executable anonymous page. */
    if (mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED) die("none");
    if (mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED) die("x");
}

static void open_interesting_fds(const char *dir) {
    int efd = eventfd(90, EFD_NONBLOCK);
    copy_fdinfo(efd, dir, "fdinfo_eventfd.txt");
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = 0x1122334455667788ULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
    int pipe_fds[2];
    if (pipe(pipe_fds)) die("pipe");
    ev.events = EPOLLOUT;
    ev.data.fd = pipe_fds[1];
    epoll_ctl(ep, EPOLL_CTL_ADD, pipe_fds[1], &ev);
    copy_fdinfo(ep, dir, "fdinfo_epoll.txt");
    int in = inotify_init1(IN_NONBLOCK);
    inotify_add_watch(in, "/tmp", IN_CREATE | IN_DELETE);
    inotify_add_watch(in, "/", IN_MODIFY);
    copy_fdinfo(in, dir, "fdinfo_inotify.txt");
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGTERM);
    copy_fdinfo(signalfd(-1, &mask, 0), dir, "fdinfo_signalfd.txt");
    int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
    struct itimerspec its = {.it_interval = {1, 0}, .it_value = {100, 0}};
    timerfd_settime(tfd, 0, &its, NULL);
    copy_fdinfo(tfd, dir, "fdinfo_timerfd.txt");
    int pfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    copy_fdinfo(pfd, dir, "fdinfo_pidfd.txt");
    int lfd = open("/tmp/stasis-fixture-kept", O_RDWR | O_APPEND);
    lseek(lfd, 100, SEEK_SET);
    flock(lfd, LOCK_EX);
    copy_fdinfo(lfd, dir, "fdinfo_regular_locked.txt");
}

static void create_posix_timers(void) {
    struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGALRM};
    sev.sigev_value.sival_ptr = (void *)0x7ffd2a1c3e40;
    timer_t t;
    timer_create(CLOCK_MONOTONIC, &sev, &t);
    struct sigevent none = {.sigev_notify = SIGEV_NONE};
    timer_create(CLOCK_REALTIME, &none, &t);
    struct sigevent tid = {.sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGUSR2};
    tid._sigev_un._tid = (pid_t)syscall(SYS_gettid);
    timer_create(CLOCK_BOOTTIME, &tid, &t);
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : ".";
    char *heap = malloc(1000); /* a [heap] mapping */
    if (!heap) die("malloc");
    heap[0] = 1;
    map_interesting_memory();
    open_interesting_fds(dir);
    create_posix_timers();
    /* A comm with blanks and parentheses, as stat must cope with. */
    prctl(PR_SET_NAME, "a) b (c)", 0, 0, 0);
    copy("/proc/self/smaps", dir, "smaps_x86_64_6.18.txt");
    copy("/proc/self/maps", dir, "maps_x86_64_6.18.txt");
    copy("/proc/self/stat", dir, "stat_comm_with_parens.txt");
    copy("/proc/self/status", dir, "status_x86_64_6.18.txt");
    copy("/proc/self/timers", dir, "timers.txt");
    copy("/proc/self/auxv", dir, "auxv_x86_64.bin");
    unlink("/tmp/stasis-fixture-kept");
    return 0;
}
