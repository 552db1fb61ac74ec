// s390x register sets and constants.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "images/header.pb.h"

namespace stasis::arch {

inline constexpr const char *kArchName = "s390x";
inline constexpr images::Arch kImageArch = images::ARCH_S390X;

// `svc 0` (0x0a00): with immediate 0 the kernel takes the syscall number
// from r1, which reaches every number (svc's immediate is 8 bits).
// Instructions are 2, 4 or 6 bytes, halfword aligned; any halfword-aligned
// 0a 00 executes as this instruction when the PSW points at it.
inline constexpr std::array<uint8_t, 2> kSyscallInsn = {0x0a, 0x00};
inline constexpr size_t kInsnAlign = 2;

// NT_PRSTATUS: s390_regs (arch/s390/include/uapi/asm/ptrace.h).
struct S390GpRegs {
    uint64_t psw_mask;
    uint64_t psw_addr;
    uint64_t gprs[16];
    uint32_t acrs[16];   // access registers; a0:a1 hold the TLS pointer
    uint64_t orig_gpr2;  // first syscall argument, reloaded on restart
};
static_assert(sizeof(S390GpRegs) == 216);

// NT_PRFPREG: s390_fp_regs (fpc, padding, f0..f15).
struct S390FpRegs {
    uint32_t fpc;
    uint32_t pad;
    uint64_t fprs[16];
};
static_assert(sizeof(S390FpRegs) == 136);

inline constexpr size_t kVxrsLowRegs = 16;     // NT_S390_VXRS_LOW: bits 64..127 of v0..v15
inline constexpr size_t kVxrsHighRegs = 16;    // NT_S390_VXRS_HIGH: v16..v31
inline constexpr size_t kVectorRegBytes = 16;

struct ThreadRegs {
    S390GpRegs gp{};
    S390FpRegs fp{};
    std::vector<uint64_t> vxrs_low;   // empty without the vector facility
    std::vector<uint8_t> vxrs_high;   // 16 x 16 bytes, or empty
    // NT_S390_SYSTEM_CALL: the interrupted syscall the kernel will restart
    // (its int_code), 0 for none.
    uint32_t system_call = 0;
};

}  // namespace stasis::arch
