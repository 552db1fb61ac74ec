// s390x: arch_do_signal_or_restart() restarts after get_signal() when the
// thread was in a syscall (thread.system_call, NT_S390_SYSTEM_CALL) from
// gprs[2]. -ERESTART_RESTARTBLOCK would become restart_syscall(2) — EINTR
// in a new task — so turn it into -ERESTARTNOINTR: gpr2 = orig_gpr2 and the
// original syscall runs again.
#include "arch/arch.h"

namespace stasis::arch {

namespace {
constexpr int64_t kErestartNointr = -513;
constexpr int64_t kErestartRestartblock = -516;
}  // namespace

void restart_in_new_task(ThreadRegs &r) {
    if (r.system_call != 0 && int64_t(r.gp.gprs[2]) == kErestartRestartblock)
        r.gp.gprs[2] = uint64_t(kErestartNointr);
}

// The thread pointer travels in the register sets (fs_base, TPIDR_EL0 via
// NT_ARM_TLS, r13, a0/a1): write_regs() restores it.
uint64_t tls_set_by_restorer(const ThreadRegs &) { return 0; }

}  // namespace stasis::arch
