// arm (32-bit, EABI hard-float) register sets and constants.
#pragma once

#include <sys/user.h>

#include <array>
#include <cstddef>
#include <cstdint>

#include "images/header.pb.h"

namespace stasis::arch {

inline constexpr const char *kArchName = "arm";
inline constexpr images::Arch kImageArch = images::ARCH_ARM;

// ARM-state `svc #0` (0xef000000, little-endian). setup_syscall and
// setup_call switch the thread to ARM state, so a Thumb task works too.
inline constexpr std::array<uint8_t, 4> kSyscallInsn = {0x00, 0x00, 0x00, 0xef};
inline constexpr size_t kInsnAlign = 4;

// NT_ARM_VFP: d0..d31 then FPSCR (arch/arm/kernel/ptrace.c, vfp_get: 32 x 8
// + 4 bytes; the regset has no trailing padding).
struct VfpRegs {
    uint64_t d[32];
    uint32_t fpscr;
};
inline constexpr size_t kVfpRegsetSize = 32 * 8 + 4;

struct ThreadRegs {
    user_regs gp{};         // NT_PRSTATUS: uregs[0..15] = r0..r15, [16] cpsr, [17] orig_r0
    VfpRegs vfp{};          // NT_ARM_VFP (NT_PRFPREG is the obsolete FPA layout)
    bool has_vfp = false;   // a kernel without VFP support has no NT_ARM_VFP
    uint32_t tls = 0;       // TPIDRURO, from PTRACE_GET_THREAD_AREA
    // The value write_gp_regs gives PTRACE_SET_SYSCALL: -1 tells the kernel
    // no syscall is in progress. ptrace cannot read it back on arm.
    int32_t syscallno = -1;
};

// uregs indices (arch/arm/include/uapi/asm/ptrace.h).
inline constexpr int kArmSp = 13;
inline constexpr int kArmLr = 14;
inline constexpr int kArmPc = 15;
inline constexpr int kArmCpsr = 16;
inline constexpr int kArmOrigR0 = 17;

}  // namespace stasis::arch
