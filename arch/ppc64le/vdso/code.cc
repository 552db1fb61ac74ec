// ppc64le code of the vDSO proxy (arch/vdso_code.h).
//
// Trampolines: `b` (4 bytes) within ±32 MiB, else the target built in r12
// (`lis; ori; sldi; oris; ori`) and `mtctr r12; bctr` (28 bytes). r12 and
// ctr are volatile across calls, and r12 = target is what the ELFv2 ABI
// asks of a call to a function's global entry. The short `b` leaves r12 as
// the caller set it: the kernel's vDSO entries are assembly that never
// derives its TOC from r12 (they save and restore r2 around the C code,
// arch/powerpc/include/asm/vdso/gettimeofday.h's cvdso_call).
// Fallback: vDSO functions take r3..r8 and return like `sc` itself (cr0.SO
// set on error, positive errno in r3), so `li r0, nr; sc; blr` is exact.
#include <cerrno>

#include "arch/vdso_code.h"
#include "stasis_syscalls.h"

namespace stasis::arch {
namespace {

// b: pc + SignExtend(LI:'00'), LI a 24-bit word count.
constexpr uint64_t kReach = (uint64_t(1) << 25) - 4;
constexpr uint32_t kB = 0x48000000;
constexpr uint32_t kLisR12 = 0x3d800000;      // lis r12, imm16
constexpr uint32_t kOriR12 = 0x618c0000;      // ori r12, r12, imm16
constexpr uint32_t kSldiR12_32 = 0x798c07c6;  // sldi r12, r12, 32 (rldicr r12, r12, 32, 31)
constexpr uint32_t kOrisR12 = 0x658c0000;     // oris r12, r12, imm16
constexpr uint32_t kMtctrR12 = 0x7d8903a6;
constexpr uint32_t kBctr = 0x4e800420;
constexpr uint32_t kLiR0 = 0x38000000;  // li r0, simm16
constexpr uint32_t kLiR3 = 0x38600000;  // li r3, simm16
constexpr uint32_t kSc = 0x44000002;
constexpr uint32_t kCrsetSo = 0x4c631a42;  // crset so (creqv 3, 3, 3): cr0.SO = 1
constexpr uint32_t kBlr = 0x4e800020;

void put_insn(std::vector<uint8_t> &out, uint32_t insn) {
    for (int i = 0; i < 4; ++i) out.push_back(uint8_t(insn >> (8 * i)));
}

}  // namespace

uint64_t vdso_branch_reach() { return kReach; }

Result<std::vector<uint8_t>> vdso_trampoline(CodeAddr from, CodeAddr to, size_t room) {
    if ((from.addr | to.addr) % 4 != 0)
        return Error("vDSO trampoline: Power code must be 4-aligned (from " + vdso_hex(from.addr) + ", to " +
                     vdso_hex(to.addr) + ")");
    std::vector<uint8_t> code;
    const int64_t rel = int64_t(to.addr - from.addr);
    if (rel >= -int64_t(kReach + 4) && rel <= int64_t(kReach)) {
        put_insn(code, kB | (uint32_t(rel) & 0x03fffffc));
        return vdso_code_fitting(std::move(code), "vDSO trampoline (b)", from.addr, room);
    }
    const uint64_t t = to.addr;
    put_insn(code, kLisR12 | uint32_t((t >> 48) & 0xffff));
    put_insn(code, kOriR12 | uint32_t((t >> 32) & 0xffff));
    put_insn(code, kSldiR12_32);
    put_insn(code, kOrisR12 | uint32_t((t >> 16) & 0xffff));
    put_insn(code, kOriR12 | uint32_t(t & 0xffff));
    put_insn(code, kMtctrR12);
    put_insn(code, kBctr);
    return vdso_code_fitting(std::move(code), "vDSO trampoline (r12 = target; mtctr; bctr)", from.addr, room);
}

long vdso_fallback_syscall(std::string_view name) {
    name = name.substr(0, name.find('@'));
    if (name == "__kernel_clock_gettime") return sys::clock_gettime;
    if (name == "__kernel_gettimeofday") return sys::gettimeofday;
    if (name == "__kernel_clock_getres") return sys::clock_getres;
    if (name == "__kernel_time") return sys::time;
    if (name == "__kernel_getcpu") return sys::getcpu;
    if (name == "__kernel_getrandom") return sys::getrandom;
    return -1;
}

Result<std::vector<uint8_t>> vdso_fallback(CodeAddr at, long nr, size_t room) {
    std::vector<uint8_t> code;
    if (nr < 0) {
        put_insn(code, kLiR3 | ENOSYS);
        put_insn(code, kCrsetSo);
    } else {
        if (nr > 0x7fff)
            return Error("vDSO syscall fallback: syscall " + std::to_string(nr) + " does not fit li");
        put_insn(code, kLiR0 | uint32_t(nr));
        put_insn(code, kSc);
    }
    put_insn(code, kBlr);
    return vdso_code_fitting(std::move(code), "vDSO syscall fallback", at.addr, room);
}

}  // namespace stasis::arch
