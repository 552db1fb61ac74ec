// The per-arch machine code of the vDSO proxy.
//
// A task restored on a kernel whose vDSO differs from the one it was dumped
// with keeps calling the old vDSO's entry points: their addresses are in its
// libc (resolved once at startup). The engine maps a copy of the OLD vDSO
// image at the old address and overwrites every exported function's entry:
// with a trampoline into the same symbol of the NEW kernel's vDSO, or, when
// the new vDSO lacks that symbol, with a fallback that makes the real
// syscall. The engine builds those bytes at plan time from the functions
// declared here; arch/<arch>/vdso/code.cc implements them.
//
// Every function returns code in the target's byte order, ready to be
// written at the given address of the target task.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "common/util/result.h"

namespace stasis::arch {

// An entry point of code. `thumb` is meaningful on arm only: the ELF symbol
// value had bit 0 set (Thumb state); `addr` always has bit 0 clear. Other
// architectures ignore it.
struct CodeAddr {
    uint64_t addr = 0;
    bool thumb = false;
};

// Farthest distance |to - from| the shortest (PC-relative) trampoline form
// reaches on this arch, in both directions. Beyond it vdso_trampoline() falls
// back to a longer, absolute form.
uint64_t vdso_branch_reach();

// Machine code placed at `from` that continues execution at `to`, leaving
// every argument register, the return address (link register or stack), the
// stack pointer and the callee-saved registers untouched. It clobbers only
// scratch registers a call may clobber anyway: x86_64 none, aarch64 x16
// (`bti c` at the target accepts br x16), arm none, ppc64le r12 and ctr
// (r12 = target, the ELFv2 global-entry convention), s390x r1.
// Uses the shortest form that reaches; an Error naming the sizes when that
// form needs more than `room` bytes, or when an address is misaligned for
// this arch's instructions.
Result<std::vector<uint8_t>> vdso_trampoline(CodeAddr from, CodeAddr to, size_t room);

// The syscall a vDSO function of this arch stands for, by its exported name
// without the symbol version (a trailing "@VERSION" is ignored), or -1 when
// none does:
//   x86_64   __vdso_clock_gettime, __vdso_gettimeofday, __vdso_time,
//            __vdso_getcpu (and their unprefixed aliases), __vdso_clock_getres,
//            __vdso_getrandom
//   aarch64  __kernel_clock_gettime, __kernel_gettimeofday,
//            __kernel_clock_getres, __kernel_getrandom
//   arm      __vdso_clock_gettime, __vdso_clock_gettime64,
//            __vdso_gettimeofday, __vdso_clock_getres
//   ppc64le  __kernel_clock_gettime, __kernel_gettimeofday,
//            __kernel_clock_getres, __kernel_time, __kernel_getcpu,
//            __kernel_getrandom
//   s390x    __kernel_clock_gettime, __kernel_gettimeofday,
//            __kernel_clock_getres, __kernel_getcpu, __kernel_getrandom
// (getrandom: the vDSO function takes two more arguments, the opaque state,
// which the syscall ignores; its parameter query — opaque_len ~0 — made by
// libc at startup is not answered by the syscall, but a restored task has
// made it already.)
long vdso_fallback_syscall(std::string_view name);

// Code placed at `at` that behaves like a vDSO function of this arch: makes
// syscall `nr` with the function's own arguments and returns to its caller
// the way that vDSO function returns (a negative errno in the return
// register; ppc64le vDSO functions return like `sc` itself, cr0.SO set on
// error with a positive errno in r3). nr < 0: returns -ENOSYS (ppc64le:
// ENOSYS with cr0.SO set) without a syscall. arm: Thumb code when at.thumb;
// r7 (the syscall number register, callee-saved) is preserved.
// An Error when the code needs more than `room` bytes.
Result<std::vector<uint8_t>> vdso_fallback(CodeAddr at, long nr, size_t room);

// For the implementations: an address as 0x... .
inline std::string vdso_hex(uint64_t v) {
    char s[24];
    snprintf(s, sizeof s, "%#llx", static_cast<unsigned long long>(v));
    return s;
}

// For the implementations: the Error of code that does not fit its room.
inline Error vdso_code_too_big(std::string_view what, uint64_t at, size_t need, size_t room) {
    return Error(std::string(what) + " at " + vdso_hex(at) + " needs " + std::to_string(need) +
                 " bytes, only " + std::to_string(room) + " available");
}

// For the implementations: `code`, or the Error above when it exceeds `room`.
inline Result<std::vector<uint8_t>> vdso_code_fitting(std::vector<uint8_t> code, std::string_view what,
                                                      uint64_t at, size_t room) {
    if (code.size() > room) return vdso_code_too_big(what, at, code.size(), room);
    return code;
}

}  // namespace stasis::arch
