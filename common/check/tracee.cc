#include "common/check/tracee.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmath>

#include "common/util/log.h"

namespace stasis::check {
namespace {

// Set before fork() and changed in the parent right after, so the child's
// copy holds a value this process no longer has: reading it back through
// process_vm_readv or pagemap proves the probe looked at the child.
volatile uint64_t g_marker = 0;
constexpr uint64_t kMarkerTag = 0x5354415349530000ull;  // "STASIS" + pid

double now_ms() {
    timespec t{};
    clock_gettime(CLOCK_MONOTONIC, &t);
    return double(t.tv_sec) * 1e3 + double(t.tv_nsec) / 1e6;
}

[[noreturn]] void child_main(pid_t parent) {
    // Never outlive `stasis check`, whatever happens to it (and if it died
    // before the death signal was armed, leave at once).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(0);
    for (;;) pause();
}

// Waits for the next state change of `pid`, for at most `budget_ms`: a stuck
// probe must not hang `stasis check`. Ptrace stops notify the tracer with
// SIGCHLD, so the wait sleeps on that signal instead of polling.
Result<int> wait_with_deadline(pid_t pid, double budget_ms) {
    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &old);
    const double deadline = now_ms() + budget_ms;
    Result<int> result = Error(log::cat("no stop from child ", pid, " within ", budget_ms, " ms"));
    for (;;) {
        int status = 0;
        pid_t r = waitpid(pid, &status, __WALL | WNOHANG);
        if (r == pid) {
            result = status;
            break;
        }
        if (r < 0 && errno != EINTR) {
            result = Error::from_errno("waitpid");
            break;
        }
        const double left = deadline - now_ms();
        if (left <= 0) break;
        timespec timeout{time_t(left / 1000), long(std::fmod(left, 1000.0) * 1e6)};
        sigtimedwait(&chld, nullptr, &timeout);
    }
    sigprocmask(SIG_SETMASK, &old, nullptr);
    return result;
}

}  // namespace

Result<std::unique_ptr<Tracee>> Tracee::start() {
    // A descriptor both of us hold after fork, sharing one open file
    // description: probes compare the two (kcmp) and copy the child's
    // (pidfd_getfd).
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return Error::from_errno("pipe2");
    close(fds[0]);
    const pid_t parent = getpid();
    const uint64_t marker = kMarkerTag | uint64_t(parent);
    g_marker = marker;
    pid_t pid = fork();
    if (pid < 0) {
        int err = errno;
        close(fds[1]);
        return Error::from_errno("fork", err);
    }
    if (pid == 0) child_main(parent);
    g_marker = 0;
    // The child need not have run yet: seizing and interrupting work on a
    // task that has not been scheduled, and one wake-up is all we wait for.
    std::unique_ptr<Tracee> t(new Tracee());
    t->pid_ = pid;
    t->child_fd_ = fds[1];
    t->marker_value_ = marker;
    return t;
}

Tracee::~Tracee() {
    if (child_fd_ >= 0) close(child_fd_);
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, __WALL) < 0 && errno == EINTR) {
    }
}

Status Tracee::seize_and_interrupt() {
    if (ptrace(PTRACE_SEIZE, pid_, nullptr, nullptr) != 0) return Error::from_errno("PTRACE_SEIZE");
    if (ptrace(PTRACE_INTERRUPT, pid_, nullptr, nullptr) != 0) return Error::from_errno("PTRACE_INTERRUPT");
    return ok();
}

Status Tracee::wait_for_stop() {
    STASIS_ASSIGN(int status, wait_with_deadline(pid_, 1000));
    // A seized task stopped by PTRACE_INTERRUPT reports PTRACE_EVENT_STOP (3.4).
    if (!WIFSTOPPED(status) || (status >> 16) != PTRACE_EVENT_STOP)
        return Error(log::cat("PTRACE_INTERRUPT: unexpected wait status ", log::hex(unsigned(status))));
    return ok();
}

uint64_t Tracee::marker_address() const { return uint64_t(reinterpret_cast<uintptr_t>(&g_marker)); }

}  // namespace stasis::check
