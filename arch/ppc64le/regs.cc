// ppc64le: ptrace register sets, accessors, image conversion, AltiVec/VSX
// checks.
#include <elf.h>
#include <sys/auxv.h>

#include <cstring>
#include <sstream>

#include "arch/arch.h"
#include "arch/ptrace_regset.h"
#include "common/util/log.h"
#include "images/core.pb.h"
#include "images/inventory.pb.h"

namespace stasis::arch {
namespace {

constexpr uint64_t kMsrSf = 1ull << 63;  // 64-bit mode
constexpr uint64_t kMsrLe = 1ull << 0;   // little-endian mode
// CR0.SO: set by the kernel when an `sc` syscall fails (r3 = positive errno).
constexpr uint64_t kCr0So = 0x10000000;
// pt_regs->trap values (arch/powerpc/include/asm/ptrace.h): the low nibble
// holds flags, TRAP() masks it off.
constexpr uint64_t kTrapSyscall = 0xc00;   // `sc`
constexpr uint64_t kTrapScv = 0x3000;      // `scv 0` (errors as -errno in r3)
uint64_t trap_kind(const ThreadRegs &r) { return r.gp.trap & ~uint64_t(0xf); }

constexpr unsigned long kFpHwcaps = PPC_FEATURE_HAS_ALTIVEC | PPC_FEATURE_HAS_VSX | PPC_FEATURE_HAS_FPU;

Status read_optional_u64(pid_t tid, unsigned type, const char *name, uint64_t &out) {
    uint64_t v = 0;
    size_t len = sizeof v;
    STASIS_ASSIGN(bool present, regset::get_optional(tid, type, &v, &len, name));
    out = present ? v : 0;
    return ok();
}

Status read_vector_state(pid_t tid, ThreadRegs &r) {
    r.vmx.resize(kVmxRegsetSize);
    size_t len = r.vmx.size();
    STASIS_ASSIGN(bool has_vmx, regset::get_optional(tid, NT_PPC_VMX, r.vmx.data(), &len, "NT_PPC_VMX"));
    r.vmx.resize(has_vmx ? len : 0);
    r.vsx.resize(kVsxRegs);
    len = r.vsx.size() * sizeof(uint64_t);
    STASIS_ASSIGN(bool has_vsx, regset::get_optional(tid, NT_PPC_VSX, r.vsx.data(), &len, "NT_PPC_VSX"));
    r.vsx.resize(has_vsx ? len / sizeof(uint64_t) : 0);
    return ok();
}

Status write_optional_u64(pid_t tid, unsigned type, const char *name, uint64_t v) {
    if (v == 0) return ok();
    return regset::set(tid, type, &v, sizeof v, name);
}

std::string fp_hwcap_names(unsigned long bits) {
    std::string s;
    auto add = [&](unsigned long bit, const char *name) {
        if (bits & bit) s += (s.empty() ? "" : ", ") + std::string(name);
    };
    add(PPC_FEATURE_HAS_FPU, "FPU");
    add(PPC_FEATURE_HAS_ALTIVEC, "AltiVec (VMX)");
    add(PPC_FEATURE_HAS_VSX, "VSX");
    return s;
}

}  // namespace

Result<ThreadRegs> read_regs(pid_t tid) {
    ThreadRegs r;
    size_t len = sizeof r.gp;
    STASIS_TRY(regset::get(tid, NT_PRSTATUS, &r.gp, &len, "NT_PRSTATUS").context("general registers"));
    if (!(r.gp.msr & kMsrSf)) return Error("32-bit ppc tasks are not supported");
    if (!(r.gp.msr & kMsrLe)) return Error("big-endian ppc64 tasks are not supported");
    len = sizeof r.fp;
    STASIS_TRY(regset::get(tid, NT_PRFPREG, &r.fp, &len, "NT_PRFPREG").context("FP registers"));
    STASIS_TRY(read_vector_state(tid, r));
    STASIS_TRY(read_optional_u64(tid, NT_PPC_TAR, "NT_PPC_TAR", r.tar));
    STASIS_TRY(read_optional_u64(tid, NT_PPC_DSCR, "NT_PPC_DSCR", r.dscr));
    STASIS_TRY(read_optional_u64(tid, NT_PPC_PPR, "NT_PPC_PPR", r.ppr));
    return r;
}

// The kernel takes gpr, nip, orig_gpr3, ctr, link, xer, ccr and trap from
// this set; it keeps its own msr bits but LE/SE/BE and ignores softe, dar,
// dsisr and result (arch/powerpc/kernel/ptrace/ptrace-view.c, gpr_set).
Status write_gp_regs(pid_t tid, const ThreadRegs &r) {
    return regset::set(tid, NT_PRSTATUS, &r.gp, sizeof r.gp, "NT_PRSTATUS").context("general registers");
}

Status write_regs(pid_t tid, const ThreadRegs &r) {
    STASIS_TRY(regset::set(tid, NT_PRFPREG, &r.fp, sizeof r.fp, "NT_PRFPREG").context("FP registers"));
    if (!r.vmx.empty()) STASIS_TRY(regset::set(tid, NT_PPC_VMX, r.vmx.data(), r.vmx.size(), "NT_PPC_VMX"));
    if (!r.vsx.empty())
        STASIS_TRY(regset::set(tid, NT_PPC_VSX, r.vsx.data(), r.vsx.size() * sizeof(uint64_t), "NT_PPC_VSX"));
    STASIS_TRY(write_optional_u64(tid, NT_PPC_TAR, "NT_PPC_TAR", r.tar));
    STASIS_TRY(write_optional_u64(tid, NT_PPC_DSCR, "NT_PPC_DSCR", r.dscr));
    STASIS_TRY(write_optional_u64(tid, NT_PPC_PPR, "NT_PPC_PPR", r.ppr));
    return write_gp_regs(tid, r);
}

uint64_t ip(const ThreadRegs &r) { return r.gp.nip; }
void set_ip(ThreadRegs &r, uint64_t v) { r.gp.nip = v; }
uint64_t sp(const ThreadRegs &r) { return r.gp.gpr[1]; }
void set_sp(ThreadRegs &r, uint64_t v) { r.gp.gpr[1] = v; }
uint64_t link_register(const ThreadRegs &r) { return r.gp.link; }
void set_link_register(ThreadRegs &r, uint64_t v) { r.gp.link = v; }

// `sc` reports failure with CR0.SO and a positive errno in r3; `scv`
// returns -errno like other arches.
int64_t syscall_result(const ThreadRegs &r) {
    int64_t r3 = int64_t(r.gp.gpr[3]);
    if (trap_kind(r) != kTrapScv && (r.gp.ccr & kCr0So)) return -r3;
    return r3;
}

int64_t syscall_nr(const ThreadRegs &r) {
    uint64_t t = trap_kind(r);
    return (t == kTrapSyscall || t == kTrapScv) ? int64_t(r.gp.gpr[0]) : -1;
}

// Disarming syscall restart (arch/powerpc/kernel/signal.c,
// check_syscall_restart): after the ptrace stop the kernel restarts only if
// TRAP(regs) says the task entered through a syscall (0xc00 or 0x3000);
// trap = 0 makes the state plain user code. orig_gpr3 is what a restart
// would reload into r3, kept equal to the first argument as on entry.
void setup_syscall(ThreadRegs &r, uint64_t insn_addr, long nr, const std::array<uint64_t, 6> &a) {
    r.gp.gpr[0] = uint64_t(nr);
    for (size_t i = 0; i < a.size(); ++i) r.gp.gpr[3 + i] = a[i];
    r.gp.orig_gpr3 = a[0];
    r.gp.nip = insn_addr;
    r.gp.trap = 0;
}

// ELFv2 has a function's global entry find its TOC from r12 = its address;
// pie_entry computes r2 PC-relatively instead, but r12 is set as any ELFv2
// caller would.
void setup_call(ThreadRegs &r, uint64_t entry, uint64_t arg, uint64_t stack_top) {
    r.gp.nip = entry;
    r.gp.gpr[12] = entry;
    r.gp.gpr[3] = arg;
    r.gp.orig_gpr3 = arg;
    r.gp.gpr[1] = stack_top;
    r.gp.link = 0;  // pie_entry never returns
    r.gp.trap = 0;
}

void to_image(const ThreadRegs &r, images::ThreadRegs *out) {
    auto *p = out->mutable_ppc64le();
    const auto &g = r.gp;
    for (uint64_t v : g.gpr) p->add_gpr(v);
    p->set_nip(g.nip); p->set_msr(g.msr); p->set_orig_gpr3(g.orig_gpr3); p->set_ctr(g.ctr);
    p->set_link(g.link); p->set_xer(g.xer); p->set_ccr(g.ccr); p->set_softe(g.softe);
    p->set_trap(g.trap); p->set_dar(g.dar); p->set_dsisr(g.dsisr); p->set_result(g.result);
    for (uint64_t v : r.fp.fpr) p->add_fpr(v);
    p->set_fpscr(r.fp.fpscr);
    p->set_vmx(r.vmx.data(), r.vmx.size());
    for (uint64_t v : r.vsx) p->add_vsx(v);
    p->set_tar(r.tar);
    p->set_dscr(r.dscr);
    p->set_ppr(r.ppr);
}

Result<ThreadRegs> from_image(const images::ThreadRegs &in) {
    if (in.arch_case() != images::ThreadRegs::kPpc64Le)
        return Error(std::string("register set is for ") + image_regs_arch_name(in) + ", not ppc64le");
    const auto &p = in.ppc64le();
    if (p.gpr_size() != 32)
        return Error("ppc64le registers: " + std::to_string(p.gpr_size()) + " general registers, want 32 (r0..r31)");
    if (p.fpr_size() != 32)
        return Error("ppc64le registers: " + std::to_string(p.fpr_size()) + " FP registers, want 32 (f0..f31)");
    if (!p.vmx().empty() && p.vmx().size() != kVmxRegsetSize)
        return Error("ppc64le registers: the VMX state is " + std::to_string(p.vmx().size()) + " bytes, want " +
                     std::to_string(kVmxRegsetSize) + " (or none)");
    if (p.vsx_size() != 0 && size_t(p.vsx_size()) != kVsxRegs)
        return Error("ppc64le registers: " + std::to_string(p.vsx_size()) +
                     " VSX doublewords, want 32 (vs0..vs31) or none");
    if ((p.msr() & (kMsrSf | kMsrLe)) != (kMsrSf | kMsrLe))
        return Error("ppc64le registers: msr " + log::cat(log::hex(p.msr())) + " is not 64-bit little-endian");
    ThreadRegs r;
    auto &g = r.gp;
    for (int i = 0; i < 32; ++i) g.gpr[i] = p.gpr(i);
    g.nip = p.nip(); g.msr = p.msr(); g.orig_gpr3 = p.orig_gpr3(); g.ctr = p.ctr();
    g.link = p.link(); g.xer = p.xer(); g.ccr = p.ccr(); g.softe = p.softe();
    g.trap = p.trap(); g.dar = p.dar(); g.dsisr = p.dsisr(); g.result = p.result();
    for (int i = 0; i < 32; ++i) r.fp.fpr[i] = p.fpr(i);
    r.fp.fpscr = p.fpscr();
    r.vmx.assign(p.vmx().begin(), p.vmx().end());
    r.vsx.assign(p.vsx().begin(), p.vsx().end());
    r.tar = p.tar();
    r.dscr = p.dscr();
    r.ppr = p.ppr();
    return r;
}

void cpu_features(const ThreadRegs &, images::CpuFeatures *out) {
    out->set_hwcap(getauxval(AT_HWCAP));
    out->set_hwcap2(getauxval(AT_HWCAP2));
}

// A task that found AltiVec or VSX at start keeps using vector
// instructions; and the kernel refuses NT_PPC_VMX/NT_PPC_VSX (ENODEV) on a
// CPU without them.
Status adapt_to_this_cpu(const images::CpuFeatures &, ThreadRegs &) { return ok(); }

Status check_cpu_features(const images::CpuFeatures &needed) {
    unsigned long host = getauxval(AT_HWCAP);
    unsigned long missing_fp = needed.hwcap() & kFpHwcaps & ~host;
    if (missing_fp)
        return Error("the saved task's FP/vector state needs " + fp_hwcap_names(missing_fp) +
                     ", which this CPU lacks");
    uint64_t missing = needed.hwcap() & ~uint64_t(host);
    uint64_t missing2 = needed.hwcap2() & ~uint64_t(getauxval(AT_HWCAP2));
    if (missing || missing2)
        log::warn("the dumping CPU had AT_HWCAP bits ", log::hex(missing), " and AT_HWCAP2 bits ", log::hex(missing2),
                  " that this CPU lacks; a program that probed them at start may fault");
    return ok();
}

std::string describe(const ThreadRegs &r) {
    std::ostringstream s;
    s << std::hex << "nip=0x" << r.gp.nip << " r1=0x" << r.gp.gpr[1] << " r3=0x" << r.gp.gpr[3] << " r0=0x"
      << r.gp.gpr[0] << " ccr=0x" << r.gp.ccr << " trap=0x" << r.gp.trap;
    return s.str();
}

}  // namespace stasis::arch
