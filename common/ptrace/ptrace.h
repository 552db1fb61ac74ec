// Thin, checked wrappers over ptrace(2) and the stops a seized thread goes
// through. Everything here works per thread (TID).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "common/util/result.h"

namespace stasis::ptrace {

// What waitpid() reported for a traced thread.
struct Stop {
    enum class Kind {
        event_stop,    // PTRACE_EVENT_STOP: after PTRACE_INTERRUPT, or a group-stop
        signal,        // signal-delivery-stop of `sig`
        syscall,       // syscall-enter or -exit stop (PTRACE_O_TRACESYSGOOD)
        other_event,   // some other PTRACE_EVENT_* (clone, exec, exit ...)
        exited,        // the thread exited (status in `status`)
        killed,        // the thread was killed by `sig`
    };
    Kind kind = Kind::exited;
    int sig = 0;          // signal of a signal stop / group stop / kill
    int event = 0;        // PTRACE_EVENT_* for event stops
    int status = 0;       // raw wait status
    std::string describe() const;
};

// PTRACE_SEIZE without PTRACE_O_EXITKILL: if stasis itself dies during a
// dump, the kernel detaches and the target keeps running.
Status seize(pid_t tid, unsigned long options = 0);
Status interrupt(pid_t tid);
Status cont(pid_t tid, int sig = 0);
Status syscall_step(pid_t tid);  // PTRACE_SYSCALL
Status detach(pid_t tid, int sig = 0);

// Waits for the next stop of one traced thread (waitpid with __WALL). Gives
// up after `timeout` with an error naming the thread: every wait has a
// deadline, a stuck target never hangs stasis.
Result<Stop> wait_stop(pid_t tid, std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Interrupts a freshly seized thread and waits until it sits in a clean
// PTRACE_EVENT_STOP. A signal that was being delivered at that moment is let
// through (as if it had arrived just before the freeze).
Status freeze(pid_t tid);

// Signal masks, pending signals.
Result<uint64_t> get_sigmask(pid_t tid);
Status set_sigmask(pid_t tid, uint64_t mask);

// Reads memory of a stopped tracee through /proc/PID/mem (works on pages
// without read permission, unlike process_vm_readv).
Status read_mem(pid_t pid, uint64_t addr, void *buf, size_t len);
Status write_mem(pid_t pid, uint64_t addr, const void *buf, size_t len);

}  // namespace stasis::ptrace
