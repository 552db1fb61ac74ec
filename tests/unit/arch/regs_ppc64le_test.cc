// ppc64le register conversion and injection setup.
#include <sys/auxv.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "arch/arch.h"
#include "images/core.pb.h"
#include "images/inventory.pb.h"

namespace stasis::arch {
namespace {

constexpr uint64_t kMsr = 0x800000000280f033ull;  // a typical user MSR: SF, EE, PR, FP, ME, IR, DR, RI, LE

ThreadRegs distinctive_regs() {
    ThreadRegs r{};
    auto &g = r.gp;
    for (int i = 0; i < 32; ++i) g.gpr[i] = 0x100 + uint64_t(i) * 0x10001;
    g.nip = 0x7fff80001234; g.msr = kMsr; g.orig_gpr3 = 0x3333; g.ctr = 0xc7c7; g.link = 0x7fff80005678;
    g.xer = 0x20000000; g.ccr = 0x24000442; g.softe = 1; g.trap = 0xc01; g.dar = 0xdada; g.dsisr = 0x42000000;
    g.result = 0x4242;
    for (int i = 0; i < 32; ++i) r.fp.fpr[i] = 0x4000000000000000ull + uint64_t(i);
    r.fp.fpscr = 0x000000f8;
    r.vmx.resize(kVmxRegsetSize);
    for (size_t i = 0; i < r.vmx.size(); ++i) r.vmx[i] = uint8_t(i * 5 + 1);
    for (int i = 0; i < 32; ++i) r.vsx.push_back(0x7700000000000000ull + uint64_t(i));
    r.tar = 0x7fff8000aaaa;
    r.dscr = 0x10;
    r.ppr = 0x0004000000000000ull;
    return r;
}

TEST(RegsPpc64le, RoundTripKeepsEveryRegister) {
    ThreadRegs r = distinctive_regs();
    images::ThreadRegs m;
    to_image(r, &m);
    const auto &p = m.ppc64le();
    ASSERT_EQ(p.gpr_size(), 32);
    EXPECT_EQ(p.gpr(31), 0x100u + 31 * 0x10001);
    EXPECT_EQ(p.trap(), 0xc01u);
    EXPECT_EQ(p.ccr(), 0x24000442u);
    EXPECT_EQ(p.vmx().size(), kVmxRegsetSize);
    EXPECT_EQ(p.vsx(31), 0x7700000000000000ull + 31);
    EXPECT_EQ(p.ppr(), 0x0004000000000000ull);
    auto back = from_image(m);
    ASSERT_TRUE(back.ok()) << back.error().message();
    EXPECT_EQ(std::memcmp(&back->gp, &r.gp, sizeof r.gp), 0);
    EXPECT_EQ(std::memcmp(&back->fp, &r.fp, sizeof r.fp), 0);
    EXPECT_EQ(back->vmx, r.vmx);
    EXPECT_EQ(back->vsx, r.vsx);
    EXPECT_EQ(back->tar, r.tar);
    EXPECT_EQ(back->dscr, r.dscr);
    EXPECT_EQ(back->ppr, r.ppr);
    images::ThreadRegs again;
    to_image(*back, &again);
    EXPECT_EQ(again.SerializeAsString(), m.SerializeAsString());
}

TEST(RegsPpc64le, RoundTripWithoutVectorUnits) {
    ThreadRegs r = distinctive_regs();
    r.vmx.clear();
    r.vsx.clear();
    images::ThreadRegs m;
    to_image(r, &m);
    auto back = from_image(m);
    ASSERT_TRUE(back.ok()) << back.error().message();
    EXPECT_TRUE(back->vmx.empty());
    EXPECT_TRUE(back->vsx.empty());
}

TEST(RegsPpc64le, FromImageRefusesMalformedShapes) {
    images::ThreadRegs good;
    to_image(distinctive_regs(), &good);
    struct Case {
        const char *what;
        void (*mutate)(images::Ppc64leRegs &);
        const char *reason;
    } cases[] = {
        {"31 GPRs", [](images::Ppc64leRegs &p) { p.mutable_gpr()->RemoveLast(); }, "want 32 (r0..r31)"},
        {"33 FPRs", [](images::Ppc64leRegs &p) { p.add_fpr(0); }, "want 32 (f0..f31)"},
        {"short VMX", [](images::Ppc64leRegs &p) { p.mutable_vmx()->resize(512); }, "VMX state is 512 bytes"},
        {"16 VSX", [](images::Ppc64leRegs &p) { p.mutable_vsx()->Truncate(16); }, "VSX"},
        {"32-bit MSR", [](images::Ppc64leRegs &p) { p.set_msr(kMsr & ~(1ull << 63)); }, "msr"},
        {"big-endian MSR", [](images::Ppc64leRegs &p) { p.set_msr(kMsr & ~1ull); }, "little-endian"},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(c.what);
        images::ThreadRegs m = good;
        c.mutate(*m.mutable_ppc64le());
        auto r = from_image(m);
        ASSERT_FALSE(r.ok());
        EXPECT_NE(r.error().message().find(c.reason), std::string::npos) << r.error().message();
    }
}

TEST(RegsPpc64le, SetupSyscallFollowsTheScAbiAndDisarmsRestart) {
    ThreadRegs r = distinctive_regs();
    setup_syscall(r, 0x10000000, 90, {11, 22, 33, 44, 55, 66});
    EXPECT_EQ(r.gp.gpr[0], 90u);
    for (int i = 0; i < 6; ++i) EXPECT_EQ(r.gp.gpr[3 + i], uint64_t(11 * (i + 1)));
    EXPECT_EQ(r.gp.gpr[9], distinctive_regs().gp.gpr[9]);  // untouched
    EXPECT_EQ(r.gp.orig_gpr3, 11u);
    EXPECT_EQ(r.gp.nip, 0x10000000u);
    EXPECT_EQ(r.gp.trap, 0u);
}

TEST(RegsPpc64le, SetupCallFollowsElfv2) {
    ThreadRegs r = distinctive_regs();
    setup_call(r, 0x20000000, 0x30000000, 0x40000000);
    EXPECT_EQ(r.gp.nip, 0x20000000u);
    EXPECT_EQ(r.gp.gpr[12], 0x20000000u);  // global entry address
    EXPECT_EQ(r.gp.gpr[3], 0x30000000u);
    EXPECT_EQ(r.gp.gpr[1], 0x40000000u);
    EXPECT_EQ(r.gp.link, 0u);
    EXPECT_EQ(r.gp.trap, 0u);
}

TEST(RegsPpc64le, SyscallResultFollowsTheSummaryOverflowConvention) {
    ThreadRegs r{};
    r.gp.trap = 0xc00;
    r.gp.gpr[0] = 20;
    r.gp.gpr[3] = 9;  // EBADF
    r.gp.ccr = 0x10000000;
    EXPECT_EQ(syscall_result(r), -9);
    EXPECT_EQ(syscall_nr(r), 20);
    r.gp.ccr = 0;
    EXPECT_EQ(syscall_result(r), 9);
    r.gp.trap = 0x3000;  // scv returns -errno itself
    r.gp.gpr[3] = uint64_t(-9);
    r.gp.ccr = 0x10000000;
    EXPECT_EQ(syscall_result(r), -9);
    r.gp.trap = 0x700;  // a program check, not a syscall
    EXPECT_EQ(syscall_nr(r), -1);
}

// A thread frozen in nanosleep/poll/futex with a timeout holds
// ERESTART_RESTARTBLOCK (516); restored, the kernel would turn that into
// restart_syscall(2), EINTR in the new task. It must become ERESTARTNOINTR
// (513) in both syscall forms: `sc` (CR0.SO + positive errno) and `scv 0`
// (-errno), the one glibc uses on POWER9 and later.
TEST(RegsPpc64le, RestartInNewTaskReexecutesInterruptedSleeps) {
    ThreadRegs r{};
    r.gp.trap = 0xc00;
    r.gp.ccr = 0x10000000;
    r.gp.gpr[3] = 516;
    restart_in_new_task(r);
    EXPECT_EQ(r.gp.gpr[3], 513u);
    EXPECT_EQ(r.gp.trap, 0xc00u);

    r = ThreadRegs{};
    r.gp.trap = 0x3000;
    r.gp.gpr[3] = uint64_t(-516);
    restart_in_new_task(r);
    EXPECT_EQ(r.gp.gpr[3], uint64_t(-513));
    EXPECT_EQ(r.gp.trap, 0x3000u);

    // Other restart codes are left to the kernel, which handles them alike
    // in the new task; a successful sc that returned 516 is not an error.
    r = ThreadRegs{};
    r.gp.trap = 0x3000;
    r.gp.gpr[3] = uint64_t(-512);
    restart_in_new_task(r);
    EXPECT_EQ(r.gp.gpr[3], uint64_t(-512));
    r = ThreadRegs{};
    r.gp.trap = 0xc00;
    r.gp.gpr[3] = 516;
    restart_in_new_task(r);
    EXPECT_EQ(r.gp.gpr[3], 516u);
    // Not stopped in a syscall: nothing to do.
    r = ThreadRegs{};
    r.gp.trap = 0x500;
    r.gp.ccr = 0x10000000;
    r.gp.gpr[3] = 516;
    restart_in_new_task(r);
    EXPECT_EQ(r.gp.gpr[3], 516u);
    EXPECT_EQ(r.gp.trap, 0x500u);
}

// TRAP_NORESTART (0x10): the kernel already did this entry's restart
// processing; ptrace cannot set the flag, so the state becomes "not a
// syscall" (trap 0) and r3 (possibly orig_gpr3 == 516) stays as it is.
TEST(RegsPpc64le, RestartInNewTaskKeepsTheNoRestartFlagsMeaning) {
    ThreadRegs r{};
    r.gp.trap = 0xc10;
    r.gp.ccr = 0x10000000;
    r.gp.gpr[3] = 516;
    restart_in_new_task(r);
    EXPECT_EQ(r.gp.gpr[3], 516u);
    EXPECT_EQ(r.gp.trap, 0u);
    r.gp.trap = 0x3010;
    r.gp.gpr[3] = uint64_t(-516);
    restart_in_new_task(r);
    EXPECT_EQ(r.gp.gpr[3], uint64_t(-516));
    EXPECT_EQ(r.gp.trap, 0u);
}

TEST(RegsPpc64le, CpuFeaturesRefuseVectorStateThisCpuCannotHold) {
    unsigned long host = getauxval(AT_HWCAP);
    images::CpuFeatures same;
    same.set_hwcap(host);
    Status s = check_cpu_features(same);
    EXPECT_TRUE(s.ok()) << s.error().message();
    unsigned long lacking = (PPC_FEATURE_HAS_ALTIVEC | PPC_FEATURE_HAS_VSX) & ~host;
    if (!lacking) GTEST_SKIP() << "this CPU has AltiVec and VSX; nothing to refuse";
    images::CpuFeatures more;
    more.set_hwcap(host | lacking);
    EXPECT_FALSE(check_cpu_features(more).ok());
}

}  // namespace
}  // namespace stasis::arch
