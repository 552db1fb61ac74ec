// arm: like aarch64, do_signal() rewinds pc and restores r0 before
// get_signal() stops the thread; the switch to restart_syscall is decided by
// a local of the resumed kernel path, not by the registers we load. Nothing
// to rewrite.
#include "arch/arch.h"

namespace stasis::arch {
void restart_in_new_task(ThreadRegs &) {}
// ptrace can read TPIDRURO (PTRACE_GET_THREAD_AREA) but not write it: the
// restorer sets it in each thread with the ARM-private set_tls syscall.
uint64_t tls_set_by_restorer(const ThreadRegs &r) { return r.tls; }

}  // namespace stasis::arch
