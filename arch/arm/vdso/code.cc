// arm code of the vDSO proxy (arch/vdso_code.h). Either end may be ARM or
// Thumb code (an ELF symbol with bit 0 set is Thumb).
//
// Trampolines, none clobbering a register:
//   ARM to ARM within ±32 MiB   `b`                              4 bytes
//   from ARM code otherwise     `ldr pc, [pc, #-4]; .word to`    8 bytes
//   from Thumb code             `ldr.w pc, [pc, #k]; .word to`   8 bytes,
//       10 when the entry is 2 mod 4: a `nop` keeps the literal 4-aligned.
// Loading pc interworks (ARMv5T and later): bit 0 of the literal selects
// the state at the target.
// Fallback: the vDSO functions take r0..r3 and return -errno in r0 (EABI);
// the syscall number goes in r7, which is callee-saved, so it is kept in ip
// (r12, scratch for calls and preserved by the kernel across svc).
#include <cerrno>

#include "arch/vdso_code.h"
#include "stasis_syscalls.h"

namespace stasis::arch {
namespace {

// ARM `b`: pc + 8 + SignExtend(imm24:'00'), imm24 in [-2^23, 2^23 - 1] words.
constexpr int64_t kArmPcBias = 8;
constexpr uint64_t kReach = (uint64_t(1) << 25) - kArmPcBias;

// ARM state (one word each).
constexpr uint32_t kArmB = 0xea000000;             // b (always)
constexpr uint32_t kArmLdrPcLiteral = 0xe51ff004;  // ldr pc, [pc, #-4]: the word after it
constexpr uint32_t kArmMovIpR7 = 0xe1a0c007;       // mov ip, r7
constexpr uint32_t kArmMovwR7 = 0xe3007000;        // movw r7, #imm16 (imm4 at bit 16, imm12 at bit 0)
constexpr uint32_t kArmSvc0 = 0xef000000;
constexpr uint32_t kArmMovR7Ip = 0xe1a0700c;  // mov r7, ip
constexpr uint32_t kArmMvnR0 = 0xe3e00000;    // mvn r0, #imm8
constexpr uint32_t kArmBxLr = 0xe12fff1e;

// Thumb state (halfwords, in stream order).
constexpr uint16_t kThumbLdrPcLiteral = 0xf8df;   // ldr.w pc, [pc, #imm12] (first halfword)
constexpr uint16_t kThumbLdrPcLiteral2 = 0xf000;  // second halfword: Rt = pc, imm12 at bit 0
constexpr uint16_t kThumbNop = 0xbf00;
constexpr uint16_t kThumbMovIpR7 = 0x46bc;  // mov ip, r7
constexpr uint16_t kThumbMovwR7 = 0xf240;   // movw r7, #imm16: f240|i<<10|imm4, imm3<<12|7<<8|imm8
constexpr uint16_t kThumbSvc0 = 0xdf00;
constexpr uint16_t kThumbMovR7Ip = 0x4667;  // mov r7, ip
constexpr uint16_t kThumbMvnR0 = 0xf06f;    // mvn r0, #imm8 (second halfword: imm8)
constexpr uint16_t kThumbBxLr = 0x4770;

void put_word(std::vector<uint8_t> &out, uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(uint8_t(v >> (8 * i)));
}

void put_half(std::vector<uint8_t> &out, uint16_t v) {
    out.push_back(uint8_t(v));
    out.push_back(uint8_t(v >> 8));
}

// Code addresses: 32-bit, 4-aligned in ARM state, 2-aligned in Thumb state.
Status check_code_addr(std::string_view what, CodeAddr a) {
    if (a.addr > 0xffffffffu || a.addr % (a.thumb ? 2 : 4) != 0)
        return Error(std::string(what) + ": " + vdso_hex(a.addr) + " is no " + (a.thumb ? "Thumb" : "ARM") +
                     " code address");
    return {};
}

}  // namespace

uint64_t vdso_branch_reach() { return kReach; }

Result<std::vector<uint8_t>> vdso_trampoline(CodeAddr from, CodeAddr to, size_t room) {
    STASIS_TRY(check_code_addr("vDSO trampoline from", from));
    STASIS_TRY(check_code_addr("vDSO trampoline to", to));
    std::vector<uint8_t> code;
    const uint32_t target = uint32_t(to.addr) | (to.thumb ? 1 : 0);
    if (!from.thumb) {
        const int64_t offset = int64_t(to.addr) - int64_t(from.addr) - kArmPcBias;
        if (!to.thumb && offset >= -(int64_t(1) << 25) && offset < (int64_t(1) << 25)) {
            put_word(code, kArmB | (uint32_t(offset >> 2) & 0x00ffffff));
            return vdso_code_fitting(std::move(code), "vDSO trampoline (b)", from.addr, room);
        }
        put_word(code, kArmLdrPcLiteral);
        put_word(code, target);
        return vdso_code_fitting(std::move(code), "vDSO trampoline (ldr pc, literal)", from.addr, room);
    }
    // Thumb ldr (literal) addresses from Align(pc, 4), pc = entry + 4; the
    // literal follows the instruction at the first 4-aligned address.
    const bool pad = from.addr % 4 != 0;
    put_half(code, kThumbLdrPcLiteral);
    put_half(code, kThumbLdrPcLiteral2 | (pad ? 4 : 0));
    if (pad) put_half(code, kThumbNop);
    put_word(code, target);
    return vdso_code_fitting(std::move(code), "vDSO trampoline (Thumb ldr.w pc, literal)", from.addr, room);
}

long vdso_fallback_syscall(std::string_view name) {
    name = name.substr(0, name.find('@'));
    if (name == "__vdso_clock_gettime") return sys::clock_gettime;
    if (name == "__vdso_clock_gettime64") return sys::clock_gettime64;
    if (name == "__vdso_gettimeofday") return sys::gettimeofday;
    if (name == "__vdso_clock_getres") return sys::clock_getres;
    return -1;
}

Result<std::vector<uint8_t>> vdso_fallback(CodeAddr at, long nr, size_t room) {
    STASIS_TRY(check_code_addr("vDSO syscall fallback", at));
    if (nr > 0xffff)
        return Error("vDSO syscall fallback: syscall " + std::to_string(nr) + " does not fit movw");
    std::vector<uint8_t> code;
    const uint32_t imm = uint32_t(nr);
    if (!at.thumb) {
        if (nr < 0) {
            put_word(code, kArmMvnR0 | (ENOSYS - 1));  // r0 = ~(ENOSYS - 1) = -ENOSYS
        } else {
            put_word(code, kArmMovIpR7);
            put_word(code, kArmMovwR7 | ((imm >> 12) << 16) | (imm & 0xfff));
            put_word(code, kArmSvc0);
            put_word(code, kArmMovR7Ip);
        }
        put_word(code, kArmBxLr);
    } else {
        if (nr < 0) {
            put_half(code, kThumbMvnR0);
            put_half(code, uint16_t(ENOSYS - 1));
        } else {
            put_half(code, kThumbMovIpR7);
            put_half(code, uint16_t(kThumbMovwR7 | (((imm >> 11) & 1) << 10) | (imm >> 12)));
            put_half(code, uint16_t((((imm >> 8) & 7) << 12) | (7 << 8) | (imm & 0xff)));
            put_half(code, kThumbSvc0);
            put_half(code, kThumbMovR7Ip);
        }
        put_half(code, kThumbBxLr);
    }
    return vdso_code_fitting(std::move(code),
                             at.thumb ? "vDSO syscall fallback (Thumb)" : "vDSO syscall fallback (ARM)",
                             at.addr, room);
}

}  // namespace stasis::arch
