// x86_64: the kernel applies the restart rules after get_signal() returns
// (arch_do_signal_or_restart), from orig_ax and ax as we load them. So the
// registers of a thread frozen in a syscall still show ax = -ERESTART*;
// -ERESTART_RESTARTBLOCK would become restart_syscall(2), which in a new
// task returns EINTR. -ERESTARTNOINTR makes the kernel re-execute the
// original syscall (ax = orig_ax, ip -= 2) with its original arguments.
#include "arch/arch.h"

namespace stasis::arch {

namespace {
constexpr int64_t kErestartNointr = -513;
constexpr int64_t kErestartRestartblock = -516;
}  // namespace

void restart_in_new_task(ThreadRegs &r) {
    if (int64_t(r.gp.orig_rax) >= 0 && int64_t(r.gp.rax) == kErestartRestartblock)
        r.gp.rax = uint64_t(kErestartNointr);
}

// The thread pointer travels in the register sets (fs_base, TPIDR_EL0 via
// NT_ARM_TLS, r13, a0/a1): write_regs() restores it.
uint64_t tls_set_by_restorer(const ThreadRegs &) { return 0; }

}  // namespace stasis::arch
