// PTRACE_GETREGSET / PTRACE_SETREGSET with errors that name the register
// set, shared by the arch/<arch>/regs.cc files (header-only: the build
// compiles one arch directory). Also the name of the architecture an image
// register message belongs to, for refusals.
#pragma once

#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/util/result.h"
#include "images/regs.pb.h"

namespace stasis::arch::regset {

// Reads register set `type` into buf (capacity *len); *len becomes the size
// the kernel filled (a regset may be shorter than the buffer).
inline Status get(pid_t tid, unsigned type, void *buf, size_t *len, const char *name) {
    iovec iov{buf, *len};
    if (ptrace(PTRACE_GETREGSET, tid, reinterpret_cast<void *>(uintptr_t(type)), &iov) < 0)
        return Error::from_errno(std::string("PTRACE_GETREGSET ") + name);
    *len = iov.iov_len;
    return ok();
}

inline Status set(pid_t tid, unsigned type, const void *buf, size_t len, const char *name) {
    iovec iov{const_cast<void *>(buf), len};
    if (ptrace(PTRACE_SETREGSET, tid, reinterpret_cast<void *>(uintptr_t(type)), &iov) < 0)
        return Error::from_errno(std::string("PTRACE_SETREGSET ") + name);
    return ok();
}

// The errors with which the kernel says "this regset does not exist here":
// EINVAL for a note type it does not know or a feature the CPU lacks (e.g.
// arm64 sve_get, pac_mask_get), ENODEV for a CPU feature that is absent
// (powerpc vr_get/vsr_get/tar_get, s390 s390_vxrs_low_get), EIO from older
// ptrace paths.
inline bool is_absent(int err) { return err == EINVAL || err == ENODEV || err == EIO; }

// Reads an optional register set: true if read, false if this kernel or CPU
// lacks it. Other failures are errors.
inline Result<bool> get_optional(pid_t tid, unsigned type, void *buf, size_t *len, const char *name) {
    Status s = get(tid, type, buf, len, name);
    if (s.ok()) return true;
    if (is_absent(s.error().sys_errno())) return false;
    return std::move(s).error();
}

}  // namespace stasis::arch::regset

namespace stasis::arch {

// "x86_64", "aarch64", ... for the architecture an image register message
// belongs to (refusals name what was found).
inline const char *image_regs_arch_name(const images::ThreadRegs &in) {
    switch (in.arch_case()) {
    case images::ThreadRegs::kX8664: return "x86_64";
    case images::ThreadRegs::kAarch64: return "aarch64";
    case images::ThreadRegs::kArm: return "arm";
    case images::ThreadRegs::kPpc64Le: return "ppc64le";
    case images::ThreadRegs::kS390X: return "s390x";
    case images::ThreadRegs::ARCH_NOT_SET: break;
    }
    return "no architecture";
}

}  // namespace stasis::arch
