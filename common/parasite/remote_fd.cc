#include "common/parasite/remote_fd.h"

#include <sys/syscall.h>
#include <unistd.h>

#include "common/parasite/injector.h"
#include "common/util/log.h"
#include "stasis_syscalls.h"

namespace stasis::parasite {

Result<images::Fd> take_remote_fd(ptrace::FrozenProcess &proc, long nr, const std::array<uint64_t, 6> &args) {
    auto &leader = proc.threads.front();
    STASIS_ASSIGN(uint64_t insn, find_syscall_insn(proc.pid, arch::ip(leader.regs)));
    Injector inj(leader.tid, leader.regs, insn);
    leader.regs_changed = true;  // written back on release whatever happens here
    auto made = inj.syscall(nr, args);
    Result<images::Fd> out = Error("no descriptor");
    if (!made.ok()) {
        out = std::move(made).error();
    } else if (*made < 0) {
        out = Error::from_errno(log::cat("process ", proc.pid, ": injected syscall ", nr), int(-*made));
    } else {
        images::Fd pidfd(int(::syscall(SYS_pidfd_open, proc.pid, 0)));
        images::Fd copy(pidfd.valid() ? int(::syscall(SYS_pidfd_getfd, pidfd.get(), int(*made), 0)) : -1);
        if (copy.valid()) out = std::move(copy);
        else out = Error::from_errno(log::cat("process ", proc.pid, ": pidfd_getfd"));
        auto closed = inj.syscall(sys::close, {uint64_t(*made), 0, 0, 0, 0, 0});
        if (!closed.ok()) out = std::move(closed).error();
    }
    Status back = inj.return_to_signal_stop();
    if (!back.ok()) return std::move(back).error();
    return out;
}

}  // namespace stasis::parasite
