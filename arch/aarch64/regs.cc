// aarch64: ptrace register sets, accessors, image conversion, SVE and PAC
// checks.
#include <elf.h>
#include <sys/auxv.h>
#include <sys/prctl.h>

#include <cstring>
#include <sstream>

#include "arch/arch.h"
#include "arch/ptrace_regset.h"
#include "common/util/log.h"
#include "images/core.pb.h"
#include "images/inventory.pb.h"

namespace stasis::arch {
namespace {

// PSTATE bits (arch/arm64/include/uapi/asm/ptrace.h).
constexpr uint64_t kPsrModeMask = 0x0000000f;  // M[3:0]: 0 = EL0t
constexpr uint64_t kPsrMode32Bit = 0x00000010;  // AArch32 (compat) task
constexpr uint64_t kPsrBtypeMask = 0x00000c00;  // BTI branch type of the last branch

// struct user_sve_header (arch/arm64/include/uapi/asm/ptrace.h). Declared
// here because <asm/ptrace.h> clashes with glibc's <sys/ptrace.h>.
struct SveHeader {
    uint32_t size;      // bytes of header + payload
    uint32_t max_size;
    uint16_t vl;        // vector length in bytes
    uint16_t max_vl;
    uint16_t flags;     // bit 0: payload is SVE (1) or FPSIMD (0)
    uint16_t reserved;
};
static_assert(sizeof(SveHeader) == 16);
constexpr uint16_t kSvePtRegsSve = 1;
// A vector length is a whole number of 16-byte quadwords; the kernel ABI
// (SVE_VQ_MAX) allows up to 512 of them, beyond the architecture's 16.
constexpr uint32_t kSveVqBytes = 16;
constexpr uint32_t kSveVlMax = 512 * kSveVqBytes;
// sizeof(struct user_fpsimd_state): 32 x 16 bytes, fpsr, fpcr, 2 reserved words.
constexpr size_t kUserFpsimdStateSize = 528;
static_assert(sizeof(user_fpsimd_struct) == kUserFpsimdStateSize);

constexpr size_t kPacMaskSize = 16;  // struct user_pac_mask: data_mask, insn_mask
constexpr size_t kPacaKeysSize = 64;  // struct user_pac_address_keys: apia, apib, apda, apdb
constexpr size_t kPacgKeysSize = 16;  // struct user_pac_generic_keys: apga

SveHeader sve_header(const std::vector<uint8_t> &sve) {
    SveHeader h{};
    if (sve.size() >= sizeof h) std::memcpy(&h, sve.data(), sizeof h);
    return h;
}

Status read_tls(pid_t tid, ThreadRegs &r) {
    // Kernels with SME return TPIDR2_EL0 as a second word; older ones one.
    uint64_t tls[2] = {0, 0};
    size_t len = sizeof tls;
    STASIS_TRY(regset::get(tid, NT_ARM_TLS, tls, &len, "NT_ARM_TLS"));
    r.tpidr = tls[0];
    r.tpidr2 = len >= sizeof tls ? tls[1] : 0;
    return ok();
}

Status read_sve(pid_t tid, ThreadRegs &r) {
    SveHeader h{};
    size_t len = sizeof h;
    STASIS_ASSIGN(bool present, regset::get_optional(tid, NT_ARM_SVE, &h, &len, "NT_ARM_SVE"));
    if (!present) return ok();
    if (h.size < sizeof h || h.size > sve_regset_size(kSveVlMax, true))
        return Error("NT_ARM_SVE: the kernel reports an implausible size of " + std::to_string(h.size));
    r.sve.resize(h.size);
    len = r.sve.size();
    STASIS_TRY(regset::get(tid, NT_ARM_SVE, r.sve.data(), &len, "NT_ARM_SVE"));
    r.sve.resize(len);
    r.sve_vl = sve_header(r.sve).vl;
    return ok();
}

Status read_optional_raw(pid_t tid, unsigned type, size_t size, const char *name, std::vector<uint8_t> &out) {
    out.resize(size);
    size_t len = size;
    STASIS_ASSIGN(bool present, regset::get_optional(tid, type, out.data(), &len, name));
    out.resize(present ? len : 0);
    return ok();
}

Status read_pac_and_tags(pid_t tid, ThreadRegs &r) {
    STASIS_TRY(read_optional_raw(tid, NT_ARM_PAC_MASK, kPacMaskSize, "NT_ARM_PAC_MASK", r.pac_mask));
    STASIS_TRY(read_optional_raw(tid, NT_ARM_PACA_KEYS, kPacaKeysSize, "NT_ARM_PACA_KEYS", r.paca_keys));
    STASIS_TRY(read_optional_raw(tid, NT_ARM_PACG_KEYS, kPacgKeysSize, "NT_ARM_PACG_KEYS", r.pacg_keys));
    uint64_t ctrl = 0;
    size_t len = sizeof ctrl;
    STASIS_ASSIGN(bool present,
                  regset::get_optional(tid, NT_ARM_TAGGED_ADDR_CTRL, &ctrl, &len, "NT_ARM_TAGGED_ADDR_CTRL"));
    r.tagged_addr_ctrl = present ? ctrl : 0;
    return ok();
}

std::string bytes_error(const char *what, size_t got, size_t want) {
    return std::string("aarch64 registers: ") + what + " is " + std::to_string(got) + " bytes, want " +
           std::to_string(want);
}

Status check_optional_size(const std::string &v, size_t want, const char *what) {
    if (!v.empty() && v.size() != want) return Error(bytes_error(what, v.size(), want) + " (or none)");
    return ok();
}

Status check_sve_image(const images::Aarch64Regs &a) {
    if (a.sve().empty()) {
        if (a.sve_vl() != 0) return Error("aarch64 registers: sve_vl is set but there is no SVE state");
        return ok();
    }
    if (a.sve().size() < sizeof(SveHeader))
        return Error(bytes_error("the SVE state", a.sve().size(), sizeof(SveHeader)) + " at least");
    SveHeader h{};
    std::memcpy(&h, a.sve().data(), sizeof h);
    if (h.vl != a.sve_vl() || h.vl % kSveVqBytes != 0 || h.vl == 0 || h.vl > kSveVlMax)
        return Error("aarch64 registers: SVE vector length " + std::to_string(a.sve_vl()) + " (header " +
                     std::to_string(h.vl) + ") is not a valid vector length");
    size_t want = sve_regset_size(h.vl, (h.flags & kSvePtRegsSve) != 0);
    if (h.size != a.sve().size() || a.sve().size() != want)
        return Error(bytes_error("the SVE state", a.sve().size(), want) + " for vector length " +
                     std::to_string(h.vl));
    return ok();
}

// The vector lengths this CPU and kernel can give a task: the kernel rounds
// a requested length down to a supported one (arch/arm64/kernel/fpsimd.c,
// find_supported_vector_length), so setting it and reading it back tells.
// Changing our own thread's length is harmless: SVE state beyond the FPSIMD
// part does not survive a syscall anyway (the syscall ABI discards it).
Status check_sve_vl_settable(uint32_t vl) {
    if (!(getauxval(AT_HWCAP) & HWCAP_SVE))
        return Error("the saved state uses SVE with a vector length of " + std::to_string(vl) +
                     " bytes, but this CPU has no SVE");
    int current = prctl(PR_SVE_GET_VL);
    if (current < 0) return Error::from_errno("prctl(PR_SVE_GET_VL)");
    if (uint32_t(current & PR_SVE_VL_LEN_MASK) == vl) return ok();
    int got = prctl(PR_SVE_SET_VL, vl);
    if (prctl(PR_SVE_SET_VL, current & (PR_SVE_VL_LEN_MASK | PR_SVE_VL_INHERIT)) < 0)
        log::warn("could not restore this thread's SVE vector length: ", std::strerror(errno));
    if (got < 0 || uint32_t(got & PR_SVE_VL_LEN_MASK) != vl)
        return Error("the saved state uses an SVE vector length of " + std::to_string(vl) +
                     " bytes, which this CPU cannot provide (it runs at " +
                     std::to_string(current & PR_SVE_VL_LEN_MASK) + " bytes" +
                     (got >= 0 ? ", nearest settable " + std::to_string(got & PR_SVE_VL_LEN_MASK) : std::string()) +
                     ")");
    return ok();
}

}  // namespace

// SVE_PT_SIZE() of the kernel UAPI: header, then in SVE mode 32 Z registers
// of vl bytes, 16 P registers and FFR of vl/8 bytes, FPSR and FPCR, each
// part rounded up to 16 bytes; in FPSIMD mode a struct user_fpsimd_state.
size_t sve_regset_size(uint32_t vl, bool sve_mode) {
    auto round16 = [](size_t v) { return (v + kSveVqBytes - 1) / kSveVqBytes * kSveVqBytes; };
    size_t regs = round16(sizeof(SveHeader));
    if (!sve_mode) return regs + kUserFpsimdStateSize;
    size_t preg = vl / 8;
    size_t ffr_end = 32 * size_t(vl) + 16 * preg + preg;
    size_t fpcr_end = round16(ffr_end) + 4 + 4;
    return regs + round16(fpcr_end);
}

Result<ThreadRegs> read_regs(pid_t tid) {
    ThreadRegs r;
    size_t len = sizeof r.gp;
    STASIS_TRY(regset::get(tid, NT_PRSTATUS, &r.gp, &len, "NT_PRSTATUS").context("general registers"));
    if (len != sizeof r.gp || (r.gp.pstate & kPsrMode32Bit))
        return Error("32-bit (AArch32 compat) tasks are not supported");
    len = sizeof r.fp;
    STASIS_TRY(regset::get(tid, NT_PRFPREG, &r.fp, &len, "NT_PRFPREG").context("FPSIMD registers"));
    STASIS_TRY(read_tls(tid, r));
    len = sizeof r.syscallno;
    STASIS_TRY(regset::get(tid, NT_ARM_SYSTEM_CALL, &r.syscallno, &len, "NT_ARM_SYSTEM_CALL"));
    STASIS_TRY(read_sve(tid, r));
    STASIS_TRY(read_pac_and_tags(tid, r));
    return r;
}

Status write_gp_regs(pid_t tid, const ThreadRegs &r) {
    STASIS_TRY(regset::set(tid, NT_PRSTATUS, &r.gp, sizeof r.gp, "NT_PRSTATUS").context("general registers"));
    return regset::set(tid, NT_ARM_SYSTEM_CALL, &r.syscallno, sizeof r.syscallno, "NT_ARM_SYSTEM_CALL");
}

Status write_regs(pid_t tid, const ThreadRegs &r) {
    STASIS_TRY(regset::set(tid, NT_PRFPREG, &r.fp, sizeof r.fp, "NT_PRFPREG").context("FPSIMD registers"));
    // After FPSIMD: the SVE set is the superset and also sets the vector
    // length (the kernel refuses register data of another length with EIO).
    if (!r.sve.empty())
        STASIS_TRY(regset::set(tid, NT_ARM_SVE, r.sve.data(), r.sve.size(), "NT_ARM_SVE")
                       .context("SVE state (vector length " + std::to_string(r.sve_vl) + ")"));
    uint64_t tls[2] = {r.tpidr, r.tpidr2};
    STASIS_TRY(regset::set(tid, NT_ARM_TLS, tls, r.tpidr2 ? sizeof tls : sizeof tls[0], "NT_ARM_TLS"));
    // The PAC mask is a property of the CPU (read-only regset); the keys are
    // per task and make the task's signed pointers valid again.
    if (!r.paca_keys.empty())
        STASIS_TRY(regset::set(tid, NT_ARM_PACA_KEYS, r.paca_keys.data(), r.paca_keys.size(), "NT_ARM_PACA_KEYS"));
    if (!r.pacg_keys.empty())
        STASIS_TRY(regset::set(tid, NT_ARM_PACG_KEYS, r.pacg_keys.data(), r.pacg_keys.size(), "NT_ARM_PACG_KEYS"));
    if (r.tagged_addr_ctrl != 0)
        STASIS_TRY(regset::set(tid, NT_ARM_TAGGED_ADDR_CTRL, &r.tagged_addr_ctrl, sizeof r.tagged_addr_ctrl,
                               "NT_ARM_TAGGED_ADDR_CTRL"));
    return write_gp_regs(tid, r);
}

uint64_t ip(const ThreadRegs &r) { return r.gp.pc; }
void set_ip(ThreadRegs &r, uint64_t v) { r.gp.pc = v; }
uint64_t sp(const ThreadRegs &r) { return r.gp.sp; }
void set_sp(ThreadRegs &r, uint64_t v) { r.gp.sp = v; }
uint64_t link_register(const ThreadRegs &r) { return r.gp.regs[30]; }
void set_link_register(ThreadRegs &r, uint64_t v) { r.gp.regs[30] = v; }
int64_t syscall_result(const ThreadRegs &r) { return int64_t(r.gp.regs[0]); }
// NT_ARM_SYSTEM_CALL rather than x8: it is -1 when no syscall is in
// progress, as orig_rax is on x86_64.
int64_t syscall_nr(const ThreadRegs &r) { return r.syscallno; }

// Disarming syscall restart (arch/arm64/kernel/signal.c, do_signal): the
// kernel treats the stop as "in a syscall" while pt_regs->syscallno is not
// NO_SYSCALL (-1), and then decides on restarting by comparing the resumed
// pc with the rewound svc. syscallno = -1 (written by write_gp_regs through
// NT_ARM_SYSTEM_CALL) makes the resumed state plain user code. PSTATE.BTYPE
// is cleared because we are not arriving by a branch (a BTI-guarded page
// would otherwise fault on the first instruction).
void setup_syscall(ThreadRegs &r, uint64_t insn_addr, long nr, const std::array<uint64_t, 6> &a) {
    for (size_t i = 0; i < a.size(); ++i) r.gp.regs[i] = a[i];
    r.gp.regs[8] = uint64_t(nr);
    r.gp.pc = insn_addr;
    r.gp.pstate &= ~kPsrBtypeMask;
    r.syscallno = -1;
}

void setup_call(ThreadRegs &r, uint64_t entry, uint64_t arg, uint64_t stack_top) {
    r.gp.pc = entry;
    r.gp.regs[0] = arg;
    r.gp.regs[30] = 0;  // pie_entry never returns
    r.gp.sp = stack_top;
    r.gp.pstate &= ~kPsrBtypeMask;
    r.syscallno = -1;
}

void to_image(const ThreadRegs &r, images::ThreadRegs *out) {
    auto *a = out->mutable_aarch64();
    for (uint64_t x : r.gp.regs) a->add_x(x);
    a->set_sp(r.gp.sp);
    a->set_pc(r.gp.pc);
    a->set_pstate(r.gp.pstate);
    for (const auto &v : r.fp.vregs) a->add_v(&v, sizeof v);
    a->set_fpsr(r.fp.fpsr);
    a->set_fpcr(r.fp.fpcr);
    a->set_tpidr(r.tpidr);
    a->set_tpidr2(r.tpidr2);
    a->set_syscallno(r.syscallno);
    a->set_sve(r.sve.data(), r.sve.size());
    a->set_sve_vl(r.sve_vl);
    a->set_pac_mask(r.pac_mask.data(), r.pac_mask.size());
    a->set_paca_keys(r.paca_keys.data(), r.paca_keys.size());
    a->set_pacg_keys(r.pacg_keys.data(), r.pacg_keys.size());
    a->set_tagged_addr_ctrl(r.tagged_addr_ctrl);
}

Result<ThreadRegs> from_image(const images::ThreadRegs &in) {
    if (in.arch_case() != images::ThreadRegs::kAarch64)
        return Error(std::string("register set is for ") + image_regs_arch_name(in) + ", not aarch64");
    const auto &a = in.aarch64();
    ThreadRegs r;
    if (a.x_size() != 31)
        return Error("aarch64 registers: " + std::to_string(a.x_size()) + " general registers, want 31 (x0..x30)");
    if (a.v_size() != 32)
        return Error("aarch64 registers: " + std::to_string(a.v_size()) + " vector registers, want 32 (v0..v31)");
    for (int i = 0; i < 32; ++i)
        if (a.v(i).size() != sizeof r.fp.vregs[0])
            return Error(bytes_error(("v" + std::to_string(i)).c_str(), a.v(i).size(), sizeof r.fp.vregs[0]));
    if ((a.pstate() & kPsrMode32Bit) || (a.pstate() & kPsrModeMask) != 0)
        return Error("aarch64 registers: pstate " + std::to_string(a.pstate()) + " is not AArch64 user mode (EL0t)");
    STASIS_TRY(check_sve_image(a));
    STASIS_TRY(check_optional_size(a.pac_mask(), kPacMaskSize, "pac_mask"));
    STASIS_TRY(check_optional_size(a.paca_keys(), kPacaKeysSize, "paca_keys"));
    STASIS_TRY(check_optional_size(a.pacg_keys(), kPacgKeysSize, "pacg_keys"));

    for (int i = 0; i < 31; ++i) r.gp.regs[i] = a.x(i);
    r.gp.sp = a.sp();
    r.gp.pc = a.pc();
    r.gp.pstate = a.pstate();
    for (int i = 0; i < 32; ++i) std::memcpy(&r.fp.vregs[i], a.v(i).data(), sizeof r.fp.vregs[i]);
    r.fp.fpsr = a.fpsr();
    r.fp.fpcr = a.fpcr();
    r.tpidr = a.tpidr();
    r.tpidr2 = a.tpidr2();
    r.syscallno = a.syscallno();
    r.sve.assign(a.sve().begin(), a.sve().end());
    r.sve_vl = a.sve_vl();
    r.pac_mask.assign(a.pac_mask().begin(), a.pac_mask().end());
    r.paca_keys.assign(a.paca_keys().begin(), a.paca_keys().end());
    r.pacg_keys.assign(a.pacg_keys().begin(), a.pacg_keys().end());
    r.tagged_addr_ctrl = a.tagged_addr_ctrl();
    return r;
}

void cpu_features(const ThreadRegs &r, images::CpuFeatures *out) {
    out->set_hwcap(getauxval(AT_HWCAP));
    out->set_hwcap2(getauxval(AT_HWCAP2));
    // One vector length per image: threads normally share it; if they do
    // not, the largest is the one most likely to be unsupported elsewhere.
    if (!r.sve.empty() && r.sve_vl > out->sve_vl()) out->set_sve_vl(r.sve_vl);
}

Status adapt_to_this_cpu(const images::CpuFeatures &, ThreadRegs &) { return ok(); }

Status check_cpu_features(const images::CpuFeatures &needed) {
    if (needed.sve_vl() != 0) STASIS_TRY(check_sve_vl_settable(needed.sve_vl()));
    uint64_t host = getauxval(AT_HWCAP);
    // Pointers signed on a PAC CPU keep their PAC bits; on a CPU without PAC
    // the authenticating instructions are no-ops and those pointers fault.
    if ((needed.hwcap() & HWCAP_PACA) && !(host & HWCAP_PACA))
        return Error("the saved task uses pointer authentication (HWCAP_PACA), which this CPU lacks");
    uint64_t missing = needed.hwcap() & ~host;
    if (missing)
        log::warn("the dumping CPU had AT_HWCAP bits ", log::hex(missing),
                  " that this CPU lacks; a program that probed them at start may fault");
    return ok();
}

std::string describe(const ThreadRegs &r) {
    std::ostringstream s;
    s << std::hex << "pc=0x" << r.gp.pc << " sp=0x" << r.gp.sp << " x0=0x" << r.gp.regs[0] << " x8=0x"
      << r.gp.regs[8] << " pstate=0x" << r.gp.pstate << std::dec << " syscallno=" << r.syscallno;
    return s.str();
}

}  // namespace stasis::arch
