// arm (EABI hard-float): ptrace register sets, accessors, image conversion,
// VFP/NEON checks.
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

// CPSR bits (arch/arm/include/uapi/asm/ptrace.h).
constexpr uint32_t kModeMask = 0x1f;
constexpr uint32_t kUsrMode = 0x10;
constexpr uint32_t kThumbBit = 1u << 5;   // T: Thumb state
constexpr uint32_t kJazelleBit = 1u << 24;
// IT[7:2] in bits 15:10, IT[1:0] in bits 26:25: the Thumb If-Then state,
// meaningless (and harmful) once we resume in ARM state.
constexpr uint32_t kItBits = (0x3fu << 10) | (0x3u << 25);

// The hwcaps the saved FP state itself needs: the VFP register file, and
// its upper half d16..d31 (VFPv3-D16 CPUs have only d0..d15). Other missing
// hwcaps (NEON, VFPv4, ...) are instruction sets a task may have probed:
// warned about, not refused.
constexpr unsigned long kFpHwcaps = HWCAP_ARM_VFP | HWCAP_ARM_VFPD32;

std::string fp_hwcap_names(unsigned long bits) {
    std::string s;
    auto add = [&](unsigned long bit, const char *name) {
        if (bits & bit) s += (s.empty() ? "" : ", ") + std::string(name);
    };
    add(HWCAP_ARM_VFP, "VFP");
    add(HWCAP_ARM_VFPD32, "VFP registers d16-d31");
    return s;
}

}  // namespace

Result<ThreadRegs> read_regs(pid_t tid) {
    ThreadRegs r;
    size_t len = sizeof r.gp;
    STASIS_TRY(regset::get(tid, NT_PRSTATUS, &r.gp, &len, "NT_PRSTATUS").context("general registers"));
    len = kVfpRegsetSize;
    STASIS_ASSIGN(r.has_vfp, regset::get_optional(tid, NT_ARM_VFP, &r.vfp, &len, "NT_ARM_VFP"));
    unsigned long tls = 0;
    if (ptrace(static_cast<__ptrace_request>(PTRACE_GET_THREAD_AREA), tid, nullptr, &tls) < 0)
        return Error::from_errno("PTRACE_GET_THREAD_AREA");
    r.tls = uint32_t(tls);
    r.syscallno = -1;
    return r;
}

Status write_gp_regs(pid_t tid, const ThreadRegs &r) {
    STASIS_TRY(regset::set(tid, NT_PRSTATUS, &r.gp, sizeof r.gp, "NT_PRSTATUS").context("general registers"));
    if (ptrace(static_cast<__ptrace_request>(PTRACE_SET_SYSCALL), tid, nullptr,
               reinterpret_cast<void *>(intptr_t(r.syscallno))) < 0)
        return Error::from_errno("PTRACE_SET_SYSCALL");
    return ok();
}

// TLS (TPIDRURO) has no ptrace setter on arm: the restorer sets it inside
// the task with the ARM-private set_tls syscall. Injection never changes it.
Status write_regs(pid_t tid, const ThreadRegs &r) {
    if (r.has_vfp)
        STASIS_TRY(regset::set(tid, NT_ARM_VFP, &r.vfp, kVfpRegsetSize, "NT_ARM_VFP").context("VFP registers"));
    return write_gp_regs(tid, r);
}

uint64_t ip(const ThreadRegs &r) { return uint32_t(r.gp.uregs[kArmPc]); }
void set_ip(ThreadRegs &r, uint64_t v) { r.gp.uregs[kArmPc] = uint32_t(v); }
uint64_t sp(const ThreadRegs &r) { return uint32_t(r.gp.uregs[kArmSp]); }
void set_sp(ThreadRegs &r, uint64_t v) { r.gp.uregs[kArmSp] = uint32_t(v); }
uint64_t link_register(const ThreadRegs &r) { return uint32_t(r.gp.uregs[kArmLr]); }
void set_link_register(ThreadRegs &r, uint64_t v) { r.gp.uregs[kArmLr] = uint32_t(v); }
int64_t syscall_result(const ThreadRegs &r) { return int32_t(r.gp.uregs[0]); }
// EABI passes the number in r7; ptrace offers no readable "syscall in
// progress" marker on arm (PTRACE_SET_SYSCALL is write-only).
int64_t syscall_nr(const ThreadRegs &r) { return int32_t(r.gp.uregs[7]); }

namespace {

// Disarming syscall restart (arch/arm/kernel/signal.c, do_signal): on the
// way out of a syscall the kernel rewinds pc to the svc and reloads r0 from
// ORIG_r0 before the ptrace stop, and after it restarts in-kernel only if
// pc still equals that svc address (the "debugger chose another pc" rule).
// Moving pc disarms it; PTRACE_SET_SYSCALL -1 clears the kernel's record of
// the syscall (thread_info->abi_syscall, read by syscall_get_nr for seccomp,
// audit and /proc/PID/syscall); ORIG_r0 is kept equal to the first argument,
// as the kernel itself stores it on syscall entry. The thread resumes in ARM
// state whatever it ran before: our instructions are ARM encodings.
void enter_arm_state(ThreadRegs &r, uint64_t pc, uint32_t r0) {
    r.gp.uregs[kArmPc] = uint32_t(pc);
    r.gp.uregs[kArmCpsr] &= ~(kThumbBit | kJazelleBit | kItBits);
    r.gp.uregs[kArmOrigR0] = r0;
    r.syscallno = -1;
}

}  // namespace

void setup_syscall(ThreadRegs &r, uint64_t insn_addr, long nr, const std::array<uint64_t, 6> &a) {
    for (size_t i = 0; i < a.size(); ++i) r.gp.uregs[i] = uint32_t(a[i]);
    r.gp.uregs[7] = uint32_t(nr);
    enter_arm_state(r, insn_addr & ~uint64_t(1), uint32_t(a[0]));
    // Bit 0 tags a Thumb `svc 0` (syscall_insn_forms): run it in Thumb state.
    if (insn_addr & 1) r.gp.uregs[kArmCpsr] |= kThumbBit;
}

void setup_call(ThreadRegs &r, uint64_t entry, uint64_t arg, uint64_t stack_top) {
    r.gp.uregs[0] = uint32_t(arg);
    r.gp.uregs[kArmSp] = uint32_t(stack_top);
    r.gp.uregs[kArmLr] = 0;  // pie_entry never returns
    enter_arm_state(r, entry, uint32_t(arg));
}

void to_image(const ThreadRegs &r, images::ThreadRegs *out) {
    auto *a = out->mutable_arm();
    for (int i = 0; i <= kArmPc; ++i) a->add_r(uint32_t(r.gp.uregs[i]));
    a->set_cpsr(uint32_t(r.gp.uregs[kArmCpsr]));
    a->set_orig_r0(uint32_t(r.gp.uregs[kArmOrigR0]));
    if (r.has_vfp) {
        for (uint64_t d : r.vfp.d) a->add_vfp_d(d);
        a->set_fpscr(r.vfp.fpscr);
    }
    a->set_tls(r.tls);
    a->set_syscallno(r.syscallno);
}

Result<ThreadRegs> from_image(const images::ThreadRegs &in) {
    if (in.arch_case() != images::ThreadRegs::kArm)
        return Error(std::string("register set is for ") + image_regs_arch_name(in) + ", not arm");
    const auto &a = in.arm();
    if (a.r_size() != 16)
        return Error("arm registers: " + std::to_string(a.r_size()) + " core registers, want 16 (r0..r15)");
    if ((a.cpsr() & kModeMask) != kUsrMode)
        return Error("arm registers: cpsr " + log::cat(log::hex(a.cpsr())) + " is not user mode");
    if (a.vfp_d_size() != 0 && a.vfp_d_size() != 32)
        return Error("arm registers: " + std::to_string(a.vfp_d_size()) +
                     " VFP registers, want 32 (d0..d31) or none");
    if (a.vfp_d_size() == 0 && a.fpscr() != 0) return Error("arm registers: fpscr is set but there are no VFP registers");
    ThreadRegs r;
    for (int i = 0; i <= kArmPc; ++i) r.gp.uregs[i] = a.r(i);
    r.gp.uregs[kArmCpsr] = a.cpsr();
    r.gp.uregs[kArmOrigR0] = a.orig_r0();
    r.has_vfp = a.vfp_d_size() == 32;
    for (int i = 0; i < a.vfp_d_size(); ++i) r.vfp.d[i] = a.vfp_d(i);
    r.vfp.fpscr = a.fpscr();
    r.tls = a.tls();
    r.syscallno = a.syscallno();
    return r;
}

void cpu_features(const ThreadRegs &, images::CpuFeatures *out) {
    out->set_hwcap(getauxval(AT_HWCAP));
    out->set_hwcap2(getauxval(AT_HWCAP2));
}

Status adapt_to_this_cpu(const images::CpuFeatures &, ThreadRegs &) { return ok(); }

Status check_cpu_features(const images::CpuFeatures &needed) {
    unsigned long host = getauxval(AT_HWCAP);
    unsigned long missing_fp = needed.hwcap() & kFpHwcaps & ~host;
    if (missing_fp)
        return Error("the saved task's FP state needs " + fp_hwcap_names(missing_fp) + ", which this CPU lacks");
    uint64_t missing = needed.hwcap() & ~uint64_t(host);
    if (missing)
        log::warn("the dumping CPU had AT_HWCAP bits ", log::hex(missing),
                  " that this CPU lacks; a program that probed them at start may fault");
    return ok();
}

std::string describe(const ThreadRegs &r) {
    std::ostringstream s;
    s << std::hex << "pc=0x" << uint32_t(r.gp.uregs[kArmPc]) << " sp=0x" << uint32_t(r.gp.uregs[kArmSp])
      << " r0=0x" << uint32_t(r.gp.uregs[0]) << " r7=0x" << uint32_t(r.gp.uregs[7]) << " cpsr=0x"
      << uint32_t(r.gp.uregs[kArmCpsr]) << std::dec << " syscallno=" << r.syscallno;
    return s.str();
}

}  // namespace stasis::arch
