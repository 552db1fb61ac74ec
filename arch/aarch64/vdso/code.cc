// aarch64 code of the vDSO proxy (arch/vdso_code.h).
//
// Trampolines: `b imm26` (4 bytes) within ±128 MiB, else
// `ldr x16, lit; br x16; .quad target` (16 bytes), with a `nop` before the
// literal when the entry is 4 mod 8 so that the literal is 8-aligned
// (20 bytes). x16 is IP0, which the AAPCS64 lets any call clobber, and a
// target starting with `bti c` accepts `br x16`.
// Fallback: the vDSO functions and the syscall take their arguments in
// x0..x5 and return -errno in x0; the number goes in x8.
#include <cerrno>

#include "arch/vdso_code.h"
#include "stasis_syscalls.h"

namespace stasis::arch {
namespace {

// b: pc + SignExtend(imm26:'00'), imm26 in [-2^25, 2^25 - 1] words.
constexpr uint64_t kReach = (uint64_t(1) << 27) - 4;
constexpr uint32_t kB = 0x14000000;
constexpr uint32_t kLdrX16Literal = 0x58000010;  // ldr x16, pc + imm19 * 4 (imm19 at bit 5)
constexpr uint32_t kBrX16 = 0xd61f0200;
constexpr uint32_t kNop = 0xd503201f;
constexpr uint32_t kMovzX8 = 0xd2800008;  // movz x8, #imm16 (imm16 at bit 5)
constexpr uint32_t kMovnX0 = 0x92800000;  // movn x0, #imm16: x0 = ~imm16
constexpr uint32_t kSvc0 = 0xd4000001;
constexpr uint32_t kRet = 0xd65f03c0;

void put_insn(std::vector<uint8_t> &out, uint32_t insn) {
    for (int i = 0; i < 4; ++i) out.push_back(uint8_t(insn >> (8 * i)));
}

void put_le64(std::vector<uint8_t> &out, uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(uint8_t(v >> (8 * i)));
}

}  // namespace

uint64_t vdso_branch_reach() { return kReach; }

Result<std::vector<uint8_t>> vdso_trampoline(CodeAddr from, CodeAddr to, size_t room) {
    if ((from.addr | to.addr) % 4 != 0)
        return Error("vDSO trampoline: A64 code must be 4-aligned (from " + vdso_hex(from.addr) + ", to " +
                     vdso_hex(to.addr) + ")");
    std::vector<uint8_t> code;
    const int64_t rel = int64_t(to.addr - from.addr);
    if (rel >= -int64_t(kReach + 4) && rel <= int64_t(kReach)) {
        put_insn(code, kB | (uint32_t(rel >> 2) & 0x03ffffff));
        return vdso_code_fitting(std::move(code), "vDSO trampoline (b)", from.addr, room);
    }
    const bool pad = from.addr % 8 != 0;
    const uint32_t literal_words = pad ? 3 : 2;
    put_insn(code, kLdrX16Literal | (literal_words << 5));
    put_insn(code, kBrX16);
    if (pad) put_insn(code, kNop);
    put_le64(code, to.addr);
    return vdso_code_fitting(std::move(code), "vDSO trampoline (ldr x16, literal; br x16)", from.addr, room);
}

long vdso_fallback_syscall(std::string_view name) {
    name = name.substr(0, name.find('@'));
    if (name == "__kernel_clock_gettime") return sys::clock_gettime;
    if (name == "__kernel_gettimeofday") return sys::gettimeofday;
    if (name == "__kernel_clock_getres") return sys::clock_getres;
    if (name == "__kernel_getrandom") return sys::getrandom;
    return -1;
}

Result<std::vector<uint8_t>> vdso_fallback(CodeAddr at, long nr, size_t room) {
    std::vector<uint8_t> code;
    if (nr < 0) {
        put_insn(code, kMovnX0 | (uint32_t(ENOSYS - 1) << 5));  // x0 = -ENOSYS
    } else {
        if (nr > 0xffff)
            return Error("vDSO syscall fallback: syscall " + std::to_string(nr) + " does not fit movz");
        put_insn(code, kMovzX8 | (uint32_t(nr) << 5));
        put_insn(code, kSvc0);
    }
    put_insn(code, kRet);
    return vdso_code_fitting(std::move(code), "vDSO syscall fallback", at.addr, room);
}

}  // namespace stasis::arch
