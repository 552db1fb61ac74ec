// aarch64: do_signal() rewinds pc and reloads x0 from orig_x0 BEFORE
// get_signal() stops the thread for ptrace, and forgets the syscall. What
// we saved is already "execute the syscall again"; only x8 would later be
// switched to restart_syscall, by code that looks at the resumed task's own
// in-kernel return value, which in a restored thread is not
// -ERESTART_RESTARTBLOCK. Nothing to rewrite.
#include "arch/arch.h"

namespace stasis::arch {
void restart_in_new_task(ThreadRegs &) {}
// The thread pointer travels in the register sets (fs_base, TPIDR_EL0 via
// NT_ARM_TLS, r13, a0/a1): write_regs() restores it.
uint64_t tls_set_by_restorer(const ThreadRegs &) { return 0; }

}  // namespace stasis::arch
