// Injection: the syscall instructions to borrow (ARM and Thumb), and the
// injected mmap: 32-bit arm has only mmap2 (offset in 4096-byte units;
// the offset is 0 here anyway).
#include "arch/arch.h"
#include "stasis_syscalls.h"

namespace stasis::arch {

MmapCall anon_mmap_call(uint64_t len, int prot, int flags, uint64_t) {
    return {sys::mmap2, {0, len, uint64_t(uint32_t(prot)), uint64_t(uint32_t(flags)), uint32_t(-1), 0}, {}};
}

std::vector<SyscallInsnForm> syscall_insn_forms() {
    return {{{kSyscallInsn.begin(), kSyscallInsn.end()}, kInsnAlign, 0},
            {{0x00, 0xdf}, 2, 1}};  // Thumb `svc 0` (0xdf00), run in Thumb state
}

}  // namespace stasis::arch
