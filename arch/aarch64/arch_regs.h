// aarch64 register sets and constants.
#pragma once

#include <sys/user.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "images/header.pb.h"

namespace stasis::arch {

inline constexpr const char *kArchName = "aarch64";
inline constexpr images::Arch kImageArch = images::ARCH_AARCH64;

// `svc #0` (0xd4000001, little-endian). A64 instructions are 4 bytes and
// 4-byte aligned, so only aligned occurrences are instructions.
inline constexpr std::array<uint8_t, 4> kSyscallInsn = {0x01, 0x00, 0x00, 0xd4};
inline constexpr size_t kInsnAlign = 4;

struct ThreadRegs {
    user_regs_struct gp{};       // NT_PRSTATUS: x0..x30, sp, pc, pstate
    user_fpsimd_struct fp{};     // NT_PRFPREG: v0..v31, fpsr, fpcr
    uint64_t tpidr = 0;          // NT_ARM_TLS word 0 (TPIDR_EL0)
    uint64_t tpidr2 = 0;         // NT_ARM_TLS word 1 (TPIDR2_EL0, SME kernels); 0 when absent
    // NT_ARM_SYSTEM_CALL: the syscall the kernel thinks is in progress, -1
    // for none (the kernel's NO_SYSCALL).
    int32_t syscallno = -1;
    // NT_ARM_SVE as the kernel returns it (struct user_sve_header + payload);
    // empty when the kernel or CPU has no SVE.
    std::vector<uint8_t> sve;
    uint32_t sve_vl = 0;         // vector length in bytes (0: no SVE state)
    // NT_ARM_PAC_MASK / NT_ARM_PACA_KEYS / NT_ARM_PACG_KEYS, raw; empty when
    // absent (no PAC, or keys not exposed without CONFIG_CHECKPOINT_RESTORE).
    std::vector<uint8_t> pac_mask;
    std::vector<uint8_t> paca_keys;
    std::vector<uint8_t> pacg_keys;
    // NT_ARM_TAGGED_ADDR_CTRL (PR_SET_TAGGED_ADDR_CTRL value); 0 when absent.
    uint64_t tagged_addr_ctrl = 0;
};

// Size of the NT_ARM_SVE regset (header + payload) for vector length `vl`
// (bytes), with SVE register data (true) or only the FPSIMD view (false):
// the kernel UAPI's SVE_PT_SIZE().
size_t sve_regset_size(uint32_t vl, bool sve_mode);

}  // namespace stasis::arch
