// Arches whose ptrace single-steps (PTRACE_SINGLESTEP): no breakpoints.
#include "arch/arch.h"

namespace stasis::arch {

Result<std::vector<Breakpoint>> step_breakpoints(const ThreadRegs &, const ReadMem &) {
    return Error(std::string(kArchName) + " single-steps with ptrace");
}

Result<std::vector<Breakpoint>> return_breakpoints(const ThreadRegs &, const ReadMem &, size_t,
                                                   const std::function<bool(uint64_t)> &) {
    return Error(std::string(kArchName) + " single-steps with ptrace");
}

}  // namespace stasis::arch
