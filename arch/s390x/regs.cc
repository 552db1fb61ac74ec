// s390x: ptrace register sets, accessors, image conversion, vector-facility
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

// PSW mask bits (arch/s390/include/uapi/asm/ptrace.h): problem state and
// the 64-bit addressing mode (EA + BA) every s390x user task runs in.
constexpr uint64_t kPswProblemState = 0x0001000000000000ull;
constexpr uint64_t kPswAddressing64 = 0x0000000180000000ull;

Status read_vector_state(pid_t tid, ThreadRegs &r) {
    r.vxrs_low.resize(kVxrsLowRegs);
    size_t len = r.vxrs_low.size() * sizeof(uint64_t);
    STASIS_ASSIGN(bool has_low,
                  regset::get_optional(tid, NT_S390_VXRS_LOW, r.vxrs_low.data(), &len, "NT_S390_VXRS_LOW"));
    if (!has_low) {
        r.vxrs_low.clear();
        return ok();
    }
    r.vxrs_high.resize(kVxrsHighRegs * kVectorRegBytes);
    len = r.vxrs_high.size();
    return regset::get(tid, NT_S390_VXRS_HIGH, r.vxrs_high.data(), &len, "NT_S390_VXRS_HIGH");
}

bool is_user_psw(uint64_t mask) {
    return (mask & kPswProblemState) && (mask & kPswAddressing64) == kPswAddressing64;
}

}  // namespace

Result<ThreadRegs> read_regs(pid_t tid) {
    ThreadRegs r;
    size_t len = sizeof r.gp;
    STASIS_TRY(regset::get(tid, NT_PRSTATUS, &r.gp, &len, "NT_PRSTATUS").context("general registers"));
    if (!is_user_psw(r.gp.psw_mask)) return Error("31-bit (compat) s390 tasks are not supported");
    len = sizeof r.fp;
    STASIS_TRY(regset::get(tid, NT_PRFPREG, &r.fp, &len, "NT_PRFPREG").context("FP registers"));
    STASIS_TRY(read_vector_state(tid, r));
    len = sizeof r.system_call;
    STASIS_TRY(regset::get(tid, NT_S390_SYSTEM_CALL, &r.system_call, &len, "NT_S390_SYSTEM_CALL"));
    return r;
}

Status write_gp_regs(pid_t tid, const ThreadRegs &r) {
    STASIS_TRY(regset::set(tid, NT_PRSTATUS, &r.gp, sizeof r.gp, "NT_PRSTATUS").context("general registers"));
    return regset::set(tid, NT_S390_SYSTEM_CALL, &r.system_call, sizeof r.system_call, "NT_S390_SYSTEM_CALL");
}

// f0..f15 are the high halves of v0..v15: NT_PRFPREG first, then the low
// halves and v16..v31.
Status write_regs(pid_t tid, const ThreadRegs &r) {
    STASIS_TRY(regset::set(tid, NT_PRFPREG, &r.fp, sizeof r.fp, "NT_PRFPREG").context("FP registers"));
    if (!r.vxrs_low.empty()) {
        STASIS_TRY(regset::set(tid, NT_S390_VXRS_LOW, r.vxrs_low.data(), r.vxrs_low.size() * sizeof(uint64_t),
                               "NT_S390_VXRS_LOW"));
        STASIS_TRY(regset::set(tid, NT_S390_VXRS_HIGH, r.vxrs_high.data(), r.vxrs_high.size(), "NT_S390_VXRS_HIGH"));
    }
    return write_gp_regs(tid, r);
}

uint64_t ip(const ThreadRegs &r) { return r.gp.psw_addr; }
void set_ip(ThreadRegs &r, uint64_t v) { r.gp.psw_addr = v; }
uint64_t sp(const ThreadRegs &r) { return r.gp.gprs[15]; }
void set_sp(ThreadRegs &r, uint64_t v) { r.gp.gprs[15] = v; }
uint64_t link_register(const ThreadRegs &r) { return r.gp.gprs[14]; }
void set_link_register(ThreadRegs &r, uint64_t v) { r.gp.gprs[14] = v; }
int64_t syscall_result(const ThreadRegs &r) { return int64_t(r.gp.gprs[2]); }
// The syscall the kernel recorded for restart when the signal stop began
// (int_code, number in its low 16 bits); -1 when none. At syscall-entry and
// -exit stops the kernel does not update it: there r2/r1 tell.
int64_t syscall_nr(const ThreadRegs &r) { return r.system_call ? int64_t(r.system_call & 0xffff) : -1; }

// Disarming syscall restart (arch/s390/kernel/signal.c,
// arch_do_signal_or_restart): the kernel copies the interrupted syscall's
// int_code into thread.system_call before get_signal() and, after the
// ptrace stop, restarts only if that is still non-zero. system_call = 0,
// written through NT_S390_SYSTEM_CALL by write_gp_regs, disarms it.
// orig_gpr2 is what a restart would reload into r2, kept equal to the first
// argument as the kernel stores it on entry.
void setup_syscall(ThreadRegs &r, uint64_t insn_addr, long nr, const std::array<uint64_t, 6> &a) {
    r.gp.gprs[1] = uint64_t(nr);
    for (size_t i = 0; i < a.size(); ++i) r.gp.gprs[2 + i] = a[i];
    r.gp.orig_gpr2 = a[0];
    r.gp.psw_addr = insn_addr;
    r.system_call = 0;
}

void setup_call(ThreadRegs &r, uint64_t entry, uint64_t arg, uint64_t stack_top) {
    r.gp.psw_addr = entry;
    r.gp.gprs[2] = arg;
    r.gp.orig_gpr2 = arg;
    r.gp.gprs[14] = 0;  // pie_entry never returns
    r.gp.gprs[15] = stack_top;
    r.system_call = 0;
}

void to_image(const ThreadRegs &r, images::ThreadRegs *out) {
    auto *s = out->mutable_s390x();
    s->set_psw_mask(r.gp.psw_mask);
    s->set_psw_addr(r.gp.psw_addr);
    for (uint64_t v : r.gp.gprs) s->add_gprs(v);
    for (uint32_t v : r.gp.acrs) s->add_acrs(v);
    s->set_orig_gpr2(r.gp.orig_gpr2);
    s->set_fpc(r.fp.fpc);
    for (uint64_t v : r.fp.fprs) s->add_fprs(v);
    for (uint64_t v : r.vxrs_low) s->add_vxrs_low(v);
    for (size_t i = 0; i + kVectorRegBytes <= r.vxrs_high.size(); i += kVectorRegBytes)
        s->add_vxrs_high(r.vxrs_high.data() + i, kVectorRegBytes);
    s->set_system_call(r.system_call);
}

namespace {

Status check_s390_shape(const images::S390xRegs &s) {
    auto count = [](const char *what, int got, size_t want) {
        return Error("s390x registers: " + std::to_string(got) + " " + what + ", want " + std::to_string(want));
    };
    if (s.gprs_size() != 16) return count("general registers", s.gprs_size(), 16);
    if (s.acrs_size() != 16) return count("access registers", s.acrs_size(), 16);
    if (s.fprs_size() != 16) return count("FP registers", s.fprs_size(), 16);
    bool has_low = s.vxrs_low_size() != 0, has_high = s.vxrs_high_size() != 0;
    if (has_low != has_high) return Error("s390x registers: only one half of the vector registers is present");
    if (has_low && size_t(s.vxrs_low_size()) != kVxrsLowRegs)
        return count("low vector halves (v0..v15)", s.vxrs_low_size(), kVxrsLowRegs);
    if (has_high && size_t(s.vxrs_high_size()) != kVxrsHighRegs)
        return count("high vector registers (v16..v31)", s.vxrs_high_size(), kVxrsHighRegs);
    for (int i = 0; i < s.vxrs_high_size(); ++i)
        if (s.vxrs_high(i).size() != kVectorRegBytes)
            return Error("s390x registers: v" + std::to_string(16 + i) + " is " +
                         std::to_string(s.vxrs_high(i).size()) + " bytes, want 16");
    if (!is_user_psw(s.psw_mask()))
        return Error("s390x registers: psw mask " + log::cat(log::hex(s.psw_mask())) +
                     " is not a 64-bit problem-state PSW");
    return ok();
}

}  // namespace

Result<ThreadRegs> from_image(const images::ThreadRegs &in) {
    if (in.arch_case() != images::ThreadRegs::kS390X)
        return Error(std::string("register set is for ") + image_regs_arch_name(in) + ", not s390x");
    const auto &s = in.s390x();
    STASIS_TRY(check_s390_shape(s));
    ThreadRegs r;
    r.gp.psw_mask = s.psw_mask();
    r.gp.psw_addr = s.psw_addr();
    for (int i = 0; i < 16; ++i) r.gp.gprs[i] = s.gprs(i);
    for (int i = 0; i < 16; ++i) r.gp.acrs[i] = s.acrs(i);
    r.gp.orig_gpr2 = s.orig_gpr2();
    r.fp.fpc = s.fpc();
    for (int i = 0; i < 16; ++i) r.fp.fprs[i] = s.fprs(i);
    r.vxrs_low.assign(s.vxrs_low().begin(), s.vxrs_low().end());
    for (const auto &v : s.vxrs_high()) r.vxrs_high.insert(r.vxrs_high.end(), v.begin(), v.end());
    r.system_call = s.system_call();
    return r;
}

void cpu_features(const ThreadRegs &, images::CpuFeatures *out) {
    out->set_hwcap(getauxval(AT_HWCAP));
    out->set_hwcap2(getauxval(AT_HWCAP2));
}

// The saved vector registers need the vector facility (the kernel refuses
// NT_S390_VXRS_* with ENODEV without it); other missing facilities are
// instruction sets a task may have probed: warned about.
Status adapt_to_this_cpu(const images::CpuFeatures &, ThreadRegs &) { return ok(); }

Status check_cpu_features(const images::CpuFeatures &needed) {
    unsigned long host = getauxval(AT_HWCAP);
    if ((needed.hwcap() & HWCAP_S390_VX) && !(host & HWCAP_S390_VX))
        return Error("the saved task's vector registers need the vector facility (HWCAP_S390_VX), "
                     "which this CPU lacks");
    uint64_t missing = needed.hwcap() & ~uint64_t(host);
    if (missing)
        log::warn("the dumping CPU had AT_HWCAP bits ", log::hex(missing),
                  " that this CPU lacks; a program that probed them at start may fault");
    return ok();
}

std::string describe(const ThreadRegs &r) {
    std::ostringstream s;
    s << std::hex << "psw=0x" << r.gp.psw_mask << ":0x" << r.gp.psw_addr << " r15=0x" << r.gp.gprs[15]
      << " r2=0x" << r.gp.gprs[2] << " r1=0x" << r.gp.gprs[1] << " system_call=0x" << r.system_call;
    return s.str();
}

}  // namespace stasis::arch
