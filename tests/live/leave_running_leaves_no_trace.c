/* Proves: `stasis dump --leave-running` leaves the process exactly as it
 * was — run with the runner's --leave-running. After the dump the process
 * is not traced and not stopped; its /proc/self/maps is byte-identical and
 * every VmFlags too (the parasite's memory is gone without a split or
 * merge left behind); its registers held in a raw-syscall loop are
 * unchanged; its sigactions, blocked mask, alternate stack and pending
 * signals — with their siginfo — are unchanged; its fd table is unchanged
 * (no fd of the parasite left open); and its thread count is unchanged. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "live.h"
#include "maps_snapshot.h"
#include "registers.h"
#include "signals.h"

static struct live_maps_snapshot maps_before, maps_after;
static char maps_text_before[256 * 1024], maps_text_after[256 * 1024];
static struct live_signal_state signals_before, signals_after;
static char fds_before[4096], fds_after[4096];
/* Not SigQ: it counts the signals queued for the whole user, other processes too. */
static const char *status_fields[] = {"TracerPid", "State", "Threads", "SigPnd", "ShdPnd", "SigBlk",
                                      "SigIgn", "SigCgt", "NoNewPrivs", "Seccomp", "CapEff"};
enum { NSTATUS = sizeof(status_fields) / sizeof(status_fields[0]) };
static char status_before[NSTATUS][128], status_after[NSTATUS][128];

static void on_usr1(int sig) { (void)sig; }

/* "fd -> target" for every open fd. */
static void list_fds(char *out, size_t size) {
    int fds[256];
    int n = live_list_fds(fds, 256);
    if (n < 0) live_fail("listing /proc/self/fd: %s", strerror(errno));
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        char path[64], target[256] = "";
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[i]);
        ssize_t len = readlink(path, target, sizeof(target) - 1);
        target[len < 0 ? 0 : len] = '\0';
        int w = snprintf(out + used, size - used, "%d->%s ", fds[i], target);
        if (w < 0 || (size_t)w >= size - used) break;
        used += (size_t)w;
    }
}

static void take_status(char out[NSTATUS][128]) {
    for (int i = 0; i < NSTATUS; i++)
        if (!live_status_field("/proc/self/status", status_fields[i], out[i], 128)) out[i][0] = '\0';
}

static void expect_pending(int sig, int value) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    siginfo_t si;
    struct timespec no_wait = {0, 0};
    int got = (int)syscall(SYS_rt_sigtimedwait, &set, &si, &no_wait, LIVE_NSIG / 8);
    if (got != sig) {
        LIVE_EXPECT(false, "signal %d is no longer pending after the dump", sig);
        return;
    }
    LIVE_EXPECT(si.si_code == SI_QUEUE && si.si_pid == getpid() && si.si_value.sival_int == value,
                "signal %d: siginfo changed by the dump (code %d pid %d value %d)", sig, si.si_code, si.si_pid,
                si.si_value.sival_int);
}

int main(int argc, char **argv) {
    live_init(argc, argv);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART | SA_ONSTACK;
    sigaddset(&sa.sa_mask, SIGTERM);
    LIVE_SETUP(sigaction(SIGUSR1, &sa, NULL));
    signal(SIGPIPE, SIG_IGN);
    size_t alt_len = 4 * live_page_size() > (size_t)SIGSTKSZ ? 4 * live_page_size() : (size_t)SIGSTKSZ;
    stack_t ss = {.ss_sp = live_mmap_isolated(alt_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                  .ss_size = alt_len};
    LIVE_SETUP(sigaltstack(&ss, NULL));
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGRTMIN + 6);
    LIVE_SETUP(sigprocmask(SIG_BLOCK, &block, NULL));
    LIVE_SETUP(sigqueue(getpid(), SIGRTMIN + 6, (union sigval){.sival_int = 601}));
    LIVE_SETUP(sigqueue(getpid(), SIGRTMIN + 6, (union sigval){.sival_int = 602}));
    LIVE_SETUP(sigqueue(getpid(), SIGUSR1, (union sigval){.sival_int = 10}));

    /* Deep enough a stack now that the checks below cannot grow [stack]. */
    live_extend_stack(128 * 1024);

    live_signal_state_take(&signals_before);
    list_fds(fds_before, sizeof(fds_before));
    take_status(status_before);
    live_maps_take(&maps_before);
    LIVE_SETUP(live_read_file("/proc/self/maps", maps_text_before, sizeof(maps_text_before)));

    char why[256];
    bool held = live_hold_registers_until_check(why, sizeof(why)); /* compares the registers itself */

    LIVE_SETUP(live_read_file("/proc/self/maps", maps_text_after, sizeof(maps_text_after)));
    live_maps_take(&maps_after);
    take_status(status_after);
    list_fds(fds_after, sizeof(fds_after));
    live_signal_state_take(&signals_after);

    LIVE_EXPECT(strcmp(status_after[0], "0") == 0, "the process is still traced: TracerPid %s", status_after[0]);
    for (int i = 1; i < NSTATUS; i++)
        LIVE_EXPECT(strcmp(status_before[i], status_after[i]) == 0, "status %s is \"%s\", was \"%s\"",
                    status_fields[i], status_after[i], status_before[i]);
    LIVE_EXPECT(strcmp(maps_text_before, maps_text_after) == 0, "/proc/self/maps is not byte-identical after the dump");
    live_maps_expect_same(&maps_before, &maps_after, LIVE_MAPS_IDENTICAL);
    LIVE_EXPECT(strcmp(fds_before, fds_after) == 0, "fd table was \"%s\", is \"%s\"", fds_before, fds_after);
    live_signal_state_expect_same("after the dump", &signals_before, &signals_after);
    expect_pending(SIGRTMIN + 6, 601);
    expect_pending(SIGRTMIN + 6, 602);
    expect_pending(SIGUSR1, 10);
    if (!held) live_log("registers were not compared: %s", why);
    live_finish();
}
