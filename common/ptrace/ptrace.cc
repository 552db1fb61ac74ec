#include "common/ptrace/ptrace.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/util/log.h"

namespace stasis::ptrace {
namespace {

std::string tid_ctx(const char *what, pid_t tid) {
    return std::string(what) + " thread " + std::to_string(tid);
}

Status request(enum __ptrace_request req, const char *name, pid_t tid, void *addr, void *data) {
    if (::ptrace(req, tid, addr, data) < 0) return Error::from_errno(tid_ctx(name, tid));
    return ok();
}

Stop decode(int status) {
    Stop s;
    s.status = status;
    if (WIFEXITED(status)) {
        s.kind = Stop::Kind::exited;
    } else if (WIFSIGNALED(status)) {
        s.kind = Stop::Kind::killed;
        s.sig = WTERMSIG(status);
    } else if (WIFSTOPPED(status)) {
        int event = status >> 16;
        s.sig = WSTOPSIG(status);
        if (event == PTRACE_EVENT_STOP) {
            s.kind = Stop::Kind::event_stop;
        } else if (event != 0) {
            s.kind = Stop::Kind::other_event;
            s.event = event;
        } else if (s.sig == (SIGTRAP | 0x80)) {
            s.kind = Stop::Kind::syscall;
        } else {
            s.kind = Stop::Kind::signal;
        }
    }
    return s;
}

}  // namespace

std::string Stop::describe() const {
    switch (kind) {
        case Kind::event_stop: return "event stop (signal " + std::to_string(sig) + ")";
        case Kind::signal: return std::string("signal stop (") + strsignal(sig) + ")";
        case Kind::syscall: return "syscall stop";
        case Kind::other_event: return "ptrace event " + std::to_string(event);
        case Kind::exited: return "exited with status " + std::to_string(WEXITSTATUS(status));
        case Kind::killed: return std::string("killed by ") + strsignal(sig);
    }
    return "?";
}

Status seize(pid_t tid, unsigned long options) {
    if (::ptrace(PTRACE_SEIZE, tid, nullptr, reinterpret_cast<void *>(options)) < 0) {
        int err = errno;
        if (err == ESRCH) return Error("no process or thread with ID " + std::to_string(tid), err);
        if (err == EPERM)
            return Error("not allowed to trace " + std::to_string(tid) +
                             " (already traced, a kernel thread, or not permitted)",
                         err);
        return Error::from_errno(tid_ctx("PTRACE_SEIZE", tid), err);
    }
    return ok();
}

Status interrupt(pid_t tid) { return request(PTRACE_INTERRUPT, "PTRACE_INTERRUPT", tid, nullptr, nullptr); }

Status cont(pid_t tid, int sig) {
    return request(PTRACE_CONT, "PTRACE_CONT", tid, nullptr, reinterpret_cast<void *>(intptr_t(sig)));
}

Status syscall_step(pid_t tid) { return request(PTRACE_SYSCALL, "PTRACE_SYSCALL", tid, nullptr, nullptr); }

Status detach(pid_t tid, int sig) {
    return request(PTRACE_DETACH, "PTRACE_DETACH", tid, nullptr, reinterpret_cast<void *>(intptr_t(sig)));
}

Result<Stop> wait_stop(pid_t tid, std::chrono::milliseconds timeout) {
    // waitpid has no timeout: poll with WNOHANG and a short sleep. Stops
    // usually arrive within microseconds, so start with a tight spin.
    auto deadline = std::chrono::steady_clock::now() + timeout;
    long sleep_ns = 1000;
    for (;;) {
        int status = 0;
        pid_t r = ::waitpid(tid, &status, __WALL | WNOHANG);
        if (r == tid) return decode(status);
        if (r < 0 && errno != EINTR) return Error::from_errno(tid_ctx("waitpid", tid));
        if (std::chrono::steady_clock::now() > deadline)
            return Error("thread " + std::to_string(tid) + " did not stop within " +
                         std::to_string(timeout.count()) + " ms");
        timespec ts{0, sleep_ns};
        nanosleep(&ts, nullptr);
        if (sleep_ns < 1000000) sleep_ns *= 2;
    }
}

Status freeze(pid_t tid) {
    STASIS_TRY(interrupt(tid));
    for (int round = 0; round < 64; ++round) {
        STASIS_ASSIGN(Stop s, wait_stop(tid));
        switch (s.kind) {
            case Stop::Kind::event_stop: return ok();
            case Stop::Kind::signal:
                // The signal was dequeued before our interrupt: deliver it
                // (the freeze point moves just after it) and stop again; the
                // interrupt trap is still pending.
                log::debug("thread ", tid, ": letting ", strsignal(s.sig), " through before the freeze");
                STASIS_TRY(cont(tid, s.sig));
                break;
            case Stop::Kind::exited:
            case Stop::Kind::killed:
                return Error("thread " + std::to_string(tid) + " " + s.describe() + " while being frozen");
            default:
                STASIS_TRY(cont(tid, 0));
                break;
        }
    }
    return Error("thread " + std::to_string(tid) + " keeps receiving signals; cannot freeze it");
}

Result<uint64_t> get_sigmask(pid_t tid) {
    uint64_t mask = 0;
    if (::ptrace(PTRACE_GETSIGMASK, tid, reinterpret_cast<void *>(sizeof mask), &mask) < 0)
        return Error::from_errno(tid_ctx("PTRACE_GETSIGMASK", tid));
    return mask;
}

Status set_sigmask(pid_t tid, uint64_t mask) {
    if (::ptrace(PTRACE_SETSIGMASK, tid, reinterpret_cast<void *>(sizeof mask), &mask) < 0)
        return Error::from_errno(tid_ctx("PTRACE_SETSIGMASK", tid));
    return ok();
}

namespace {
Status mem_io(pid_t pid, uint64_t addr, void *buf, size_t len, bool write) {
    std::string path = "/proc/" + std::to_string(pid) + "/mem";
    int fd = ::open(path.c_str(), (write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) return Error::from_errno("open " + path);
    size_t done = 0;
    while (done < len) {
        ssize_t n = write ? ::pwrite(fd, static_cast<const char *>(buf) + done, len - done, off_t(addr + done))
                          : ::pread(fd, static_cast<char *>(buf) + done, len - done, off_t(addr + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int err = n < 0 ? errno : EIO;
            ::close(fd);
            return Error::from_errno(std::string(write ? "write" : "read") + " " + path + " at " +
                                         std::to_string(addr + done),
                                     err);
        }
        done += size_t(n);
    }
    ::close(fd);
    return ok();
}
}  // namespace

Status read_mem(pid_t pid, uint64_t addr, void *buf, size_t len) { return mem_io(pid, addr, buf, len, false); }
Status write_mem(pid_t pid, uint64_t addr, const void *buf, size_t len) {
    return mem_io(pid, addr, const_cast<void *>(buf), len, true);
}

}  // namespace stasis::ptrace
