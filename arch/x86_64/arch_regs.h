// x86_64 register sets and constants.
#pragma once

#include <sys/user.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "images/header.pb.h"

namespace stasis::arch {

inline constexpr const char *kArchName = "x86_64";
inline constexpr images::Arch kImageArch = images::ARCH_X86_64;

// `syscall`: the instruction an injected syscall executes. Any occurrence of
// these bytes in executable memory will do (x86 decodes from wherever rip
// points), so no alignment is needed.
inline constexpr std::array<uint8_t, 2> kSyscallInsn = {0x0f, 0x05};
inline constexpr size_t kInsnAlign = 1;

struct ThreadRegs {
    user_regs_struct gp{};
    user_fpregs_struct fp{};        // NT_PRFPREG (FXSAVE layout)
    std::vector<uint8_t> xsave;     // NT_X86_XSTATE, empty without XSAVE
};

}  // namespace stasis::arch
