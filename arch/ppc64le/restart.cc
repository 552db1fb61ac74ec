// ppc64le: check_syscall_restart() runs after get_signal() returns, i.e.
// after the ptrace stop, on the registers as we load them. It looks at
// TRAP(regs) (0xc00: entered by `sc`, 0x3000: by `scv 0`), at whether the
// syscall failed (sc: CR0.SO set and r3 the positive errno; scv: r3 is
// -errno, CR0 untouched) and at r3. ERESTART_RESTARTBLOCK would become
// restart_syscall(2) — EINTR in a new task, whose restart_block is empty —
// so turn it into ERESTARTNOINTR: r3 = orig_gpr3, nip -= 4, and the original
// syscall runs again.
//
// glibc uses `scv 0` whenever the kernel advertises PPC_FEATURE2_SCV (POWER9
// and later, so every ppc64le VM guest): the scv form is the common one.
//
// Bit 0x10 of trap is TRAP_NORESTART (64-bit kernels since 5.13): the
// kernel has already done the restart processing of this entry (it sets the
// bit in do_signal() after check_syscall_restart(), and in sigreturn), and a
// second pass must not happen (r3 may now hold orig_gpr3, which could look
// like an ERESTART code). ptrace cannot set or clear that bit (set_trap()
// keeps the kernel's own), so a saved state with it becomes trap 0: not a
// syscall, nothing to restart.
#include "arch/arch.h"

namespace stasis::arch {

namespace {
constexpr uint64_t kErestartNointr = 513;
constexpr uint64_t kErestartRestartblock = 516;
constexpr uint64_t kCr0SummaryOverflow = 0x10000000;
constexpr uint64_t kTrapSc = 0xc00;
constexpr uint64_t kTrapScv = 0x3000;
constexpr uint64_t kTrapNorestart = 0x10;
// The flag bits of trap: 0x10 (TRAP_NORESTART) and, on kernels before
// 5.13, 0x1 (partial register set).
constexpr uint64_t kTrapFlags = 0x1f;
}  // namespace

void restart_in_new_task(ThreadRegs &r) {
    const uint64_t kind = r.gp.trap & ~kTrapFlags;
    if (kind != kTrapSc && kind != kTrapScv) return;
    if (r.gp.trap & kTrapNorestart) {
        r.gp.trap = 0;
        return;
    }
    if (kind == kTrapSc) {
        if ((r.gp.ccr & kCr0SummaryOverflow) && r.gp.gpr[3] == kErestartRestartblock) r.gp.gpr[3] = kErestartNointr;
    } else if (r.gp.gpr[3] == uint64_t(-int64_t(kErestartRestartblock))) {
        r.gp.gpr[3] = uint64_t(-int64_t(kErestartNointr));
    }
}

// The thread pointer travels in the register sets (fs_base, TPIDR_EL0 via
// NT_ARM_TLS, r13, a0/a1): write_regs() restores it.
uint64_t tls_set_by_restorer(const ThreadRegs &) { return 0; }

}  // namespace stasis::arch
