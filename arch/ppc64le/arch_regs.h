// ppc64le (ELFv2) register sets and constants.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "images/header.pb.h"

namespace stasis::arch {

inline constexpr const char *kArchName = "ppc64le";
inline constexpr images::Arch kImageArch = images::ARCH_PPC64LE;

// `sc` (0x44000002, little-endian). Power instructions are 4 bytes and
// 4-byte aligned.
inline constexpr std::array<uint8_t, 4> kSyscallInsn = {0x02, 0x00, 0x00, 0x44};
inline constexpr size_t kInsnAlign = 4;

// NT_PRSTATUS: struct pt_regs (arch/powerpc/include/uapi/asm/ptrace.h) in
// an ELF_NGREG (48) doubleword regset; the last four are unused.
struct PpcGpRegs {
    uint64_t gpr[32];
    uint64_t nip;
    uint64_t msr;
    uint64_t orig_gpr3;  // first syscall argument, reloaded on restart
    uint64_t ctr;
    uint64_t link;
    uint64_t xer;
    uint64_t ccr;
    uint64_t softe;
    uint64_t trap;       // why the task entered the kernel (0xc00: sc)
    uint64_t dar;
    uint64_t dsisr;
    uint64_t result;
    uint64_t unused[4];
};
static_assert(sizeof(PpcGpRegs) == 48 * 8);

// NT_PRFPREG: f0..f31 and FPSCR (ELF_NFPREG = 33).
struct PpcFpRegs {
    uint64_t fpr[32];
    uint64_t fpscr;
};

// NT_PPC_VMX: v0..v31, VSCR (in a 16-byte slot) and VRSAVE (in another):
// 34 x 16 bytes.
inline constexpr size_t kVmxRegsetSize = 34 * 16;
// NT_PPC_VSX: the low doublewords of vs0..vs31 (the high ones are f0..f31).
inline constexpr size_t kVsxRegs = 32;

struct ThreadRegs {
    PpcGpRegs gp{};
    PpcFpRegs fp{};
    std::vector<uint8_t> vmx;        // NT_PPC_VMX; empty without AltiVec
    std::vector<uint64_t> vsx;       // NT_PPC_VSX; empty without VSX
    // NT_PPC_TAR / NT_PPC_DSCR / NT_PPC_PPR (ISA 2.07+). The kernel's
    // values after exec are TAR 0, DSCR 0 (default), PPR medium priority,
    // so a register missing here (0) is one that need not be written.
    uint64_t tar = 0;
    uint64_t dscr = 0;
    uint64_t ppr = 0;
};

}  // namespace stasis::arch
