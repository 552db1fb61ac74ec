// x86_64: ptrace register sets, accessors, image conversion, XSAVE checks.
#include <cpuid.h>
#include <elf.h>
#include <sys/ptrace.h>
#include <sys/uio.h>

#include <cstring>
#include <sstream>

#include "arch/arch.h"
#include "common/util/log.h"
#include "images/core.pb.h"
#include "images/inventory.pb.h"

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif

namespace stasis::arch {
namespace {

// Offsets inside the XSAVE standard format (Intel SDM vol. 1, 13.4).
constexpr size_t kXsaveHeaderOffset = 512;  // XSTATE_BV lives here
constexpr size_t kLegacyAreaSize = 512 + 64;  // FXSAVE area + xsave header

Status getregset(pid_t tid, unsigned type, void *buf, size_t *len) {
    iovec iov{buf, *len};
    if (ptrace(PTRACE_GETREGSET, tid, reinterpret_cast<void *>(uintptr_t(type)), &iov) < 0)
        return Error::from_errno("PTRACE_GETREGSET " + std::to_string(type));
    *len = iov.iov_len;
    return ok();
}

Status setregset(pid_t tid, unsigned type, const void *buf, size_t len) {
    iovec iov{const_cast<void *>(buf), len};
    if (ptrace(PTRACE_SETREGSET, tid, reinterpret_cast<void *>(uintptr_t(type)), &iov) < 0)
        return Error::from_errno("PTRACE_SETREGSET " + std::to_string(type));
    return ok();
}

bool cpu_has_xsave() {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    return (c & bit_OSXSAVE) != 0;
}

uint64_t read_xcr0() {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t(hi) << 32) | lo;
}

// Size of the standard-format XSAVE area for the features enabled in XCR0.
uint32_t host_xsave_size() {
    unsigned a, b, c, d;
    __cpuid_count(0xd, 0, a, b, c, d);
    return b;
}

uint64_t xstate_bv(const std::vector<uint8_t> &xsave) {
    uint64_t bv = 0;
    if (xsave.size() >= kXsaveHeaderOffset + 8) std::memcpy(&bv, xsave.data() + kXsaveHeaderOffset, 8);
    return bv;
}

}  // namespace

Result<ThreadRegs> read_regs(pid_t tid) {
    ThreadRegs r;
    size_t len = sizeof r.gp;
    STASIS_TRY(getregset(tid, NT_PRSTATUS, &r.gp, &len).context("general registers"));
    if (r.gp.cs != 0x33)
        return Error("32-bit (compat) tasks are not supported (cs=" + std::to_string(r.gp.cs) + ")");
    len = sizeof r.fp;
    STASIS_TRY(getregset(tid, NT_PRFPREG, &r.fp, &len).context("FP registers"));
    if (cpu_has_xsave()) {
        r.xsave.resize(host_xsave_size());
        len = r.xsave.size();
        STASIS_TRY(getregset(tid, NT_X86_XSTATE, r.xsave.data(), &len).context("XSAVE state"));
        r.xsave.resize(len);
    }
    return r;
}

Status write_gp_regs(pid_t tid, const ThreadRegs &r) {
    return setregset(tid, NT_PRSTATUS, &r.gp, sizeof r.gp).context("general registers");
}

Status write_regs(pid_t tid, const ThreadRegs &r) {
    if (!r.xsave.empty()) {
        // The kernel wants exactly this CPU's standard-format size.
        std::vector<uint8_t> buf(host_xsave_size(), 0);
        std::memcpy(buf.data(), r.xsave.data(), std::min(buf.size(), r.xsave.size()));
        STASIS_TRY(setregset(tid, NT_X86_XSTATE, buf.data(), buf.size()).context("XSAVE state"));
    } else {
        STASIS_TRY(setregset(tid, NT_PRFPREG, &r.fp, sizeof r.fp).context("FP registers"));
    }
    return write_gp_regs(tid, r);
}

uint64_t ip(const ThreadRegs &r) { return r.gp.rip; }
void set_ip(ThreadRegs &r, uint64_t v) { r.gp.rip = v; }
uint64_t sp(const ThreadRegs &r) { return r.gp.rsp; }
void set_sp(ThreadRegs &r, uint64_t v) { r.gp.rsp = v; }
// x86_64 calls push the return address: no link register.
uint64_t link_register(const ThreadRegs &) { return 0; }
void set_link_register(ThreadRegs &, uint64_t) {}
int64_t syscall_result(const ThreadRegs &r) { return int64_t(r.gp.rax); }
int64_t syscall_nr(const ThreadRegs &r) { return int64_t(r.gp.orig_rax); }

void setup_syscall(ThreadRegs &r, uint64_t insn_addr, long nr, const std::array<uint64_t, 6> &a) {
    r.gp.rax = uint64_t(nr);
    r.gp.rdi = a[0];
    r.gp.rsi = a[1];
    r.gp.rdx = a[2];
    r.gp.r10 = a[3];
    r.gp.r8 = a[4];
    r.gp.r9 = a[5];
    r.gp.rip = insn_addr;
    // orig_rax = -1: the kernel must not treat the stop we resume from as an
    // interrupted syscall to restart (it would rewind rip and reload rax).
    r.gp.orig_rax = uint64_t(-1);
}

void setup_call(ThreadRegs &r, uint64_t entry, uint64_t arg, uint64_t stack_top) {
    r.gp.rip = entry;
    r.gp.rdi = arg;
    r.gp.rsp = stack_top;
    r.gp.orig_rax = uint64_t(-1);
    // Direction flag clear, as the ABI requires on function entry.
    r.gp.eflags &= ~uint64_t(1 << 10);
}

void to_image(const ThreadRegs &r, images::ThreadRegs *out) {
    auto *x = out->mutable_x86_64();
    const auto &g = r.gp;
    x->set_r15(g.r15); x->set_r14(g.r14); x->set_r13(g.r13); x->set_r12(g.r12);
    x->set_rbp(g.rbp); x->set_rbx(g.rbx); x->set_r11(g.r11); x->set_r10(g.r10);
    x->set_r9(g.r9); x->set_r8(g.r8); x->set_rax(g.rax); x->set_rcx(g.rcx);
    x->set_rdx(g.rdx); x->set_rsi(g.rsi); x->set_rdi(g.rdi); x->set_orig_rax(g.orig_rax);
    x->set_rip(g.rip); x->set_cs(g.cs); x->set_eflags(g.eflags); x->set_rsp(g.rsp);
    x->set_ss(g.ss); x->set_fs_base(g.fs_base); x->set_gs_base(g.gs_base);
    x->set_ds(g.ds); x->set_es(g.es); x->set_fs(g.fs); x->set_gs(g.gs);
    x->set_fxsave(&r.fp, sizeof r.fp);
    x->set_xsave(r.xsave.data(), r.xsave.size());
}

Result<ThreadRegs> from_image(const images::ThreadRegs &in) {
    if (in.arch_case() != images::ThreadRegs::kX8664)
        return Error("register set is not for x86_64");
    const auto &x = in.x86_64();
    ThreadRegs r;
    auto &g = r.gp;
    g.r15 = x.r15(); g.r14 = x.r14(); g.r13 = x.r13(); g.r12 = x.r12();
    g.rbp = x.rbp(); g.rbx = x.rbx(); g.r11 = x.r11(); g.r10 = x.r10();
    g.r9 = x.r9(); g.r8 = x.r8(); g.rax = x.rax(); g.rcx = x.rcx();
    g.rdx = x.rdx(); g.rsi = x.rsi(); g.rdi = x.rdi(); g.orig_rax = x.orig_rax();
    g.rip = x.rip(); g.cs = x.cs(); g.eflags = x.eflags(); g.rsp = x.rsp();
    g.ss = x.ss(); g.fs_base = x.fs_base(); g.gs_base = x.gs_base();
    g.ds = x.ds(); g.es = x.es(); g.fs = x.fs(); g.gs = x.gs();
    if (g.cs != 0x33) return Error("x86_64 registers: cs is not the 64-bit user segment");
    if (x.fxsave().size() != sizeof r.fp)
        return Error("x86_64 registers: fxsave is " + std::to_string(x.fxsave().size()) +
                     " bytes, want " + std::to_string(sizeof r.fp));
    std::memcpy(&r.fp, x.fxsave().data(), sizeof r.fp);
    if (!x.xsave().empty()) {
        if (x.xsave().size() < kLegacyAreaSize || x.xsave().size() > 1 << 20)
            return Error("x86_64 registers: xsave area of " + std::to_string(x.xsave().size()) +
                         " bytes is out of range");
        r.xsave.assign(x.xsave().begin(), x.xsave().end());
    }
    return r;
}

void cpu_features(const ThreadRegs &r, images::CpuFeatures *out) {
    if (!cpu_has_xsave()) return;
    out->set_xfeatures(read_xcr0());
    out->set_xsave_size(host_xsave_size());
    out->set_xfeatures_in_use(out->xfeatures_in_use() | xstate_bv(r.xsave));
    if (out->xsave_components_size() == 0) {
        for (unsigned i = 2; i < 64; ++i) {
            if (!(out->xfeatures() & (1ull << i))) continue;
            unsigned a, b, c, d;
            __cpuid_count(0xd, i, a, b, c, d);
            auto *comp = out->add_xsave_components();
            comp->set_index(i);
            comp->set_offset(b);
            comp->set_size(a);
        }
    }
}

Status check_cpu_features(const images::CpuFeatures &needed) {
    uint64_t host = cpu_has_xsave() ? read_xcr0() : 0x3;  // x87 + SSE at least
    uint64_t missing = needed.xfeatures_in_use() & ~host;
    if (missing) {
        std::ostringstream s;
        s << "this CPU does not enable XSAVE components 0x" << std::hex << missing
          << " that the saved FP/vector state uses (saved XCR0 0x" << needed.xfeatures()
          << ", this CPU 0x" << host << ")";
        return Error(s.str());
    }
    // ptrace takes the standard format, whose offsets come from CPUID and
    // differ between vendors (AMD has no MPX, so PKRU sits lower):
    // adapt_to_this_cpu() moves each component; its size must agree.
    for (const auto &comp : needed.xsave_components()) {
        if (!(needed.xfeatures_in_use() & (1ull << comp.index()))) continue;
        unsigned a, b, c, d;
        __cpuid_count(0xd, comp.index(), a, b, c, d);
        if (a != comp.size() || comp.offset() < kLegacyAreaSize) {
            std::ostringstream s;
            s << "XSAVE component " << comp.index() << " is " << comp.size() << " bytes at offset "
              << comp.offset() << " in the image but " << a << " bytes on this CPU";
            return Error(s.str());
        }
    }
    uint64_t extra = needed.xfeatures() & ~host;
    if (extra)
        log::warn("the dumping CPU enabled XSAVE features ", log::hex(extra),
                  " that this CPU lacks; a program that probed them at start may fault");
    return ok();
}

Status adapt_to_this_cpu(const images::CpuFeatures &saved, ThreadRegs &r) {
    if (r.xsave.empty() || !cpu_has_xsave()) return ok();
    const uint64_t bv = xstate_bv(r.xsave);
    std::vector<uint8_t> out(std::max<size_t>(host_xsave_size(), kLegacyAreaSize), 0);
    std::memcpy(out.data(), r.xsave.data(), kLegacyAreaSize);
    bool moved = false;
    for (unsigned i = 2; i < 64; ++i) {
        if (!(bv & (1ull << i))) continue;
        const images::XsaveComponent *from = nullptr;
        for (const auto &c : saved.xsave_components())
            if (c.index() == i) from = &c;
        unsigned a, b, c, d;
        __cpuid_count(0xd, i, a, b, c, d);
        if (!from || from->size() != a || uint64_t(from->offset()) + a > r.xsave.size() || uint64_t(b) + a > out.size())
            return Error("XSAVE component " + std::to_string(i) + " of the saved state does not fit this CPU's layout");
        std::memcpy(out.data() + b, r.xsave.data() + from->offset(), a);
        moved |= from->offset() != b;
    }
    if (moved || out.size() != r.xsave.size()) r.xsave = std::move(out);
    return ok();
}

std::string describe(const ThreadRegs &r) {
    std::ostringstream s;
    s << std::hex << "rip=0x" << r.gp.rip << " rsp=0x" << r.gp.rsp << " rax=0x" << r.gp.rax
      << " orig_rax=" << std::dec << int64_t(r.gp.orig_rax);
    return s.str();
}

}  // namespace stasis::arch
