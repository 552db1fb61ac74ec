// Injection: the syscall instructions to borrow, and the injected mmap: this arch's mmap takes its six arguments in registers.
#include "arch/arch.h"
#include "stasis_syscalls.h"

namespace stasis::arch {

MmapCall anon_mmap_call(uint64_t len, int prot, int flags, uint64_t) {
    return {sys::mmap, {0, len, uint64_t(prot), uint64_t(flags), uint64_t(-1), 0}, {}};
}

std::vector<SyscallInsnForm> syscall_insn_forms() {
    return {{{kSyscallInsn.begin(), kSyscallInsn.end()}, kInsnAlign, 0}};
}

}  // namespace stasis::arch
