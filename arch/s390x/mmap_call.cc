// Injection: the syscall instructions to borrow, and the injected mmap: s390x's mmap is old_mmap, whose only argument points
// at the six arguments in memory (struct s390_mmap_arg_struct in
// arch/s390/kernel/syscall.c: six unsigned longs).
#include <cstring>

#include "arch/arch.h"
#include "stasis_syscalls.h"

namespace stasis::arch {

MmapCall anon_mmap_call(uint64_t len, int prot, int flags, uint64_t scratch) {
    const uint64_t block[6] = {0, len, uint64_t(prot), uint64_t(flags), uint64_t(-1), 0};
    MmapCall call{sys::mmap, {scratch, 0, 0, 0, 0, 0}, std::vector<uint8_t>(sizeof block)};
    std::memcpy(call.memory.data(), block, sizeof block);
    return call;
}

std::vector<SyscallInsnForm> syscall_insn_forms() {
    return {{{kSyscallInsn.begin(), kSyscallInsn.end()}, kInsnAlign, 0}};
}

}  // namespace stasis::arch
