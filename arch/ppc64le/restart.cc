// ppc64le: check_syscall_restart() runs after get_signal(), from trap
// (0xc00: a syscall), the summary-overflow bit of cr0 (error) and r3 (the
// positive errno). ERESTART_RESTARTBLOCK would become restart_syscall(2) —
// EINTR in a new task — so turn it into ERESTARTNOINTR: r3 = orig_gpr3,
// nip -= 4, and the original syscall runs again.
#include "arch/arch.h"

namespace stasis::arch {

namespace {
constexpr uint64_t kErestartNointr = 513;
constexpr uint64_t kErestartRestartblock = 516;
constexpr uint64_t kCr0SummaryOverflow = 0x10000000;
}  // namespace

void restart_in_new_task(ThreadRegs &r) {
    if ((r.gp.trap & ~uint64_t(0xf)) == 0xc00 && (r.gp.ccr & kCr0SummaryOverflow) &&
        r.gp.gpr[3] == kErestartRestartblock)
        r.gp.gpr[3] = kErestartNointr;
}

// The thread pointer travels in the register sets (fs_base, TPIDR_EL0 via
// NT_ARM_TLS, r13, a0/a1): write_regs() restores it.
uint64_t tls_set_by_restorer(const ThreadRegs &) { return 0; }

}  // namespace stasis::arch
