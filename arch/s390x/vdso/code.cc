// s390x code of the vDSO proxy (arch/vdso_code.h). Big-endian: every
// instruction and literal is written most significant byte first, whatever
// the host.
//
// Trampolines: `brcl 15, target` (6 bytes) within ±4 GiB, else
// `lgrl %r1, lit; br %r1; .quad target`: 16 bytes, up to 22 when 2-byte
// no-ops (`bcr 0, %r0`) pad the literal to the doubleword alignment lgrl
// requires. r1 is volatile across calls (and the vDSO's own scratch).
// Fallback: vDSO functions and the syscall take r2..r6 and return -errno in
// r2. `svc nr` holds numbers 1..255; others go in r1 with `svc 0` (the kernel
// reads r1 when the instruction says 0).
#include <cerrno>

#include "arch/vdso_code.h"
#include "stasis_syscalls.h"

namespace stasis::arch {
namespace {

// brcl: pc + 2 * I2, I2 a signed 32-bit halfword count.
constexpr int64_t kBrclMin = -(int64_t(1) << 32);
constexpr int64_t kBrclMax = (int64_t(1) << 32) - 2;
constexpr uint64_t kReach = uint64_t(kBrclMax);

void put_be(std::vector<uint8_t> &out, uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out.push_back(uint8_t(v >> (8 * i)));
}

// RIL format: two opcode bytes then a 32-bit immediate.
void put_ril(std::vector<uint8_t> &out, uint8_t op1, uint8_t op2, uint32_t imm) {
    out.push_back(op1);
    out.push_back(op2);
    put_be(out, imm, 4);
}

constexpr uint8_t kBrclMask15[2] = {0xc0, 0xf4};  // brcl 15, ri
constexpr uint8_t kLgrlR1[2] = {0xc4, 0x18};      // lgrl %r1, ri
constexpr uint16_t kBrR1 = 0x07f1;                // br %r1 (bcr 15, %r1)
constexpr uint16_t kNop = 0x0700;                 // bcr 0, %r0
constexpr uint8_t kSvc = 0x0a;                    // svc imm8
constexpr uint16_t kLghiR1 = 0xa719;              // lghi %r1, simm16
constexpr uint16_t kLghiR2 = 0xa729;              // lghi %r2, simm16
constexpr uint16_t kBrR14 = 0x07fe;               // br %r14

}  // namespace

uint64_t vdso_branch_reach() { return kReach; }

Result<std::vector<uint8_t>> vdso_trampoline(CodeAddr from, CodeAddr to, size_t room) {
    if ((from.addr | to.addr) % 2 != 0)
        return Error("vDSO trampoline: s390x code must be 2-aligned (from " + vdso_hex(from.addr) + ", to " +
                     vdso_hex(to.addr) + ")");
    std::vector<uint8_t> code;
    const int64_t rel = int64_t(to.addr - from.addr);
    if (rel >= kBrclMin && rel <= kBrclMax) {
        put_ril(code, kBrclMask15[0], kBrclMask15[1], uint32_t(rel / 2));
        return vdso_code_fitting(std::move(code), "vDSO trampoline (brcl)", from.addr, room);
    }
    const uint64_t code_end = from.addr + 8;  // lgrl (6) + br (2)
    const uint64_t literal = (code_end + 7) & ~uint64_t(7);
    put_ril(code, kLgrlR1[0], kLgrlR1[1], uint32_t((literal - from.addr) / 2));
    put_be(code, kBrR1, 2);
    for (uint64_t a = code_end; a < literal; a += 2) put_be(code, kNop, 2);
    put_be(code, to.addr, 8);
    return vdso_code_fitting(std::move(code), "vDSO trampoline (lgrl %r1, literal; br %r1)", from.addr, room);
}

long vdso_fallback_syscall(std::string_view name) {
    name = name.substr(0, name.find('@'));
    if (name == "__kernel_clock_gettime") return sys::clock_gettime;
    if (name == "__kernel_gettimeofday") return sys::gettimeofday;
    if (name == "__kernel_clock_getres") return sys::clock_getres;
    if (name == "__kernel_getcpu") return sys::getcpu;
    if (name == "__kernel_getrandom") return sys::getrandom;
    return -1;
}

Result<std::vector<uint8_t>> vdso_fallback(CodeAddr at, long nr, size_t room) {
    std::vector<uint8_t> code;
    if (nr < 0) {
        put_be(code, kLghiR2, 2);
        put_be(code, uint16_t(-ENOSYS), 2);
    } else if (nr > 0 && nr < 256) {
        code.push_back(kSvc);
        code.push_back(uint8_t(nr));
    } else {
        if (nr > 0x7fff)
            return Error("vDSO syscall fallback: syscall " + std::to_string(nr) + " does not fit lghi");
        put_be(code, kLghiR1, 2);
        put_be(code, uint64_t(nr), 2);
        code.push_back(kSvc);
        code.push_back(0);
    }
    put_be(code, kBrR14, 2);
    return vdso_code_fitting(std::move(code), "vDSO syscall fallback", at.addr, room);
}

}  // namespace stasis::arch
