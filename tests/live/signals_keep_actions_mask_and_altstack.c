/* Proves: every sigaction comes back — handlers, flags (SA_RESTART,
 * SA_SIGINFO, SA_ONSTACK, SA_NODEFER, SA_RESETHAND, SA_NOCLDSTOP), masks,
 * ignored signals — with the blocked mask and the alternate signal stack;
 * and they still behave so: a handler runs with its sa_mask added, on the
 * alternate stack when SA_ONSTACK, re-entrantly with SA_NODEFER, and a
 * SA_RESETHAND action resets itself after one delivery. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "live.h"
#include "signals.h"

static struct live_signal_state before, after;
static char *altstack;
static size_t altstack_size;

static volatile sig_atomic_t usr1_runs, usr2_runs, usr2_on_altstack, usr2_self_unblocked, hup_runs;
static volatile sig_atomic_t usr1_mask_ok, usr1_code_ok;

static void on_usr1(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    sigset_t now;
    pthread_sigmask(SIG_BLOCK, NULL, &now);
    /* sa_mask {USR2, RTMIN+3} plus the signal itself (no SA_NODEFER). */
    usr1_mask_ok = sigismember(&now, SIGUSR2) && sigismember(&now, SIGRTMIN + 3) && sigismember(&now, sig);
    usr1_code_ok = si->si_code == SI_TKILL && si->si_pid == getpid();
    usr1_runs++;
}

static void on_usr2(int sig) {
    char here;
    usr2_on_altstack = &here >= altstack && &here < altstack + altstack_size;
    sigset_t now;
    pthread_sigmask(SIG_BLOCK, NULL, &now);
    usr2_self_unblocked = !sigismember(&now, sig); /* SA_NODEFER */
    usr2_runs++;
}

static void on_hup(int sig, siginfo_t *si, void *uc) {
    (void)sig, (void)si, (void)uc;
    hup_runs++;
}

static void on_other(int sig) { (void)sig; }

static void set(int sig, void *handler, int flags, int mask1, int mask2) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    if (flags & SA_SIGINFO)
        sa.sa_sigaction = handler;
    else
        sa.sa_handler = handler;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    if (mask1) sigaddset(&sa.sa_mask, mask1);
    if (mask2) sigaddset(&sa.sa_mask, mask2);
    LIVE_SETUP(sigaction(sig, &sa, NULL));
}

int main(int argc, char **argv) {
    live_init(argc, argv);

    altstack_size = 4 * live_page_size() > (size_t)SIGSTKSZ ? 4 * live_page_size() : (size_t)SIGSTKSZ;
    altstack = live_mmap_isolated(altstack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    stack_t ss = {.ss_sp = altstack, .ss_size = altstack_size, .ss_flags = 0};
    LIVE_SETUP(sigaltstack(&ss, NULL));

    set(SIGUSR1, (void *)on_usr1, SA_SIGINFO | SA_RESTART, SIGUSR2, SIGRTMIN + 3);
    set(SIGUSR2, (void *)on_usr2, SA_ONSTACK | SA_NODEFER, 0, 0);
    set(SIGHUP, (void *)on_hup, SA_SIGINFO | SA_RESETHAND, SIGTERM, 0);
    set(SIGCHLD, (void *)on_other, SA_NOCLDSTOP | SA_RESTART, 0, 0);
    set(SIGRTMIN + 1, (void *)on_other, SA_RESTART, SIGTERM, SIGRTMAX);
    set(SIGRTMAX - 1, (void *)on_other, SA_ONSTACK | SA_SIGINFO, SIGINT, 0);
    set(SIGPIPE, (void *)SIG_IGN, 0, 0, 0);
    set(SIGURG, (void *)SIG_IGN, SA_RESTART, 0, 0);
    set(SIGXFSZ, (void *)SIG_IGN, 0, 0, 0);

    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGQUIT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGRTMIN + 5);
    sigaddset(&block, SIGRTMAX);
    LIVE_SETUP(sigprocmask(SIG_SETMASK, &block, NULL));

    live_signal_state_take(&before);
    live_ready();
    live_wait_for_check();
    live_signal_state_take(&after);
    live_signal_state_expect_same("after restore", &before, &after);

    /* Behaviour. */
    raise(SIGUSR1);
    LIVE_EXPECT(usr1_runs == 1, "SIGUSR1 handler ran %d times", usr1_runs);
    LIVE_EXPECT(usr1_mask_ok, "SIGUSR1 handler did not run with its sa_mask (USR2, RTMIN+3) and itself blocked");
    LIVE_EXPECT(usr1_code_ok, "SIGUSR1 handler got a wrong siginfo (si_code or si_pid)");
    raise(SIGUSR2);
    LIVE_EXPECT(usr2_runs == 1, "SIGUSR2 handler ran %d times", usr2_runs);
    LIVE_EXPECT(usr2_on_altstack, "SIGUSR2 (SA_ONSTACK) handler did not run on the alternate stack");
    LIVE_EXPECT(usr2_self_unblocked, "SIGUSR2 (SA_NODEFER) was blocked inside its own handler");
    raise(SIGPIPE); /* ignored: must not kill us */
    raise(SIGHUP);
    LIVE_EXPECT(hup_runs == 1, "SIGHUP handler ran %d times", hup_runs);
    struct sigaction hup;
    sigaction(SIGHUP, NULL, &hup);
    LIVE_EXPECT(hup.sa_handler == SIG_DFL, "SIGHUP (SA_RESETHAND) did not reset to SIG_DFL after delivery");
    stack_t now;
    sigaltstack(NULL, &now);
    LIVE_EXPECT(now.ss_flags == 0, "sigaltstack flags %d after the handlers returned", now.ss_flags);
    live_finish();
}
