// x86_64 code of the vDSO proxy (arch/vdso_code.h).
//
// Trampolines: `jmp rel32` (5 bytes) within ±2 GiB, else
// `jmp qword [rip+0]` followed by the 8-byte target (14 bytes). Neither
// touches a register; the return address stays on the stack.
// Fallback: vDSO functions take the SysV call registers (rdi rsi rdx rcx r8
// r9), the syscall takes rdi rsi rdx r10 r8 r9 and returns -errno in rax,
// as the vDSO functions do.
#include <cerrno>
#include <limits>

#include "arch/vdso_code.h"
#include "stasis_syscalls.h"

namespace stasis::arch {
namespace {

constexpr size_t kJmpRel32Size = 5;
constexpr size_t kJmpAbsSize = 14;
// jmp rel32 is relative to the end of the instruction: from + 5 + rel32,
// rel32 in [-2^31, 2^31 - 1]; the reach is the distance both directions get.
constexpr uint64_t kReach = (uint64_t(1) << 31) - kJmpRel32Size;

void put_le32(std::vector<uint8_t> &out, uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(uint8_t(v >> (8 * i)));
}

void put_le64(std::vector<uint8_t> &out, uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(uint8_t(v >> (8 * i)));
}

}  // namespace

uint64_t vdso_branch_reach() { return kReach; }

Result<std::vector<uint8_t>> vdso_trampoline(CodeAddr from, CodeAddr to, size_t room) {
    std::vector<uint8_t> code;
    const int64_t rel = int64_t(to.addr - (from.addr + kJmpRel32Size));
    if (rel >= std::numeric_limits<int32_t>::min() && rel <= std::numeric_limits<int32_t>::max()) {
        if (room < kJmpRel32Size)
            return vdso_code_too_big("vDSO trampoline (jmp rel32)", from.addr, kJmpRel32Size, room);
        code.push_back(0xe9);  // jmp rel32
        put_le32(code, uint32_t(int32_t(rel)));
        return code;
    }
    if (room < kJmpAbsSize)
        return vdso_code_too_big("vDSO trampoline (jmp [rip] + 8-byte target)", from.addr, kJmpAbsSize, room);
    const uint8_t jmp_rip[] = {0xff, 0x25, 0x00, 0x00, 0x00, 0x00};  // jmp qword ptr [rip + 0]
    code.assign(std::begin(jmp_rip), std::end(jmp_rip));
    put_le64(code, to.addr);
    return code;
}

long vdso_fallback_syscall(std::string_view name) {
    name = name.substr(0, name.find('@'));
    // The vDSO exports clock_gettime, gettimeofday, time and getcpu also
    // as weak aliases without the prefix.
    if (name.starts_with("__vdso_")) name.remove_prefix(7);
    if (name == "clock_gettime") return sys::clock_gettime;
    if (name == "gettimeofday") return sys::gettimeofday;
    if (name == "time") return sys::time;
    if (name == "getcpu") return sys::getcpu;
    if (name == "clock_getres") return sys::clock_getres;
    if (name == "getrandom") return sys::getrandom;
    return -1;
}

Result<std::vector<uint8_t>> vdso_fallback(CodeAddr at, long nr, size_t room) {
    std::vector<uint8_t> code;
    if (nr < 0) {
        code = {0x48, 0xc7, 0xc0};  // mov rax, imm32 (sign-extended)
        put_le32(code, uint32_t(-ENOSYS));
        code.push_back(0xc3);  // ret
    } else {
        code = {0x49, 0x89, 0xca};  // mov r10, rcx: the fourth argument's syscall register
        code.push_back(0xb8);       // mov eax, imm32
        put_le32(code, uint32_t(nr));
        code.insert(code.end(), {0x0f, 0x05, 0xc3});  // syscall; ret
    }
    if (code.size() > room) return vdso_code_too_big("vDSO syscall fallback", at.addr, code.size(), room);
    return code;
}

}  // namespace stasis::arch
