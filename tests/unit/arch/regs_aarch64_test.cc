// aarch64 register conversion, SVE layout and injection setup.
#include <asm/ptrace.h>  // SVE_PT_SIZE, to check our own size computation
#include <sys/auxv.h>
#include <sys/prctl.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "arch/arch.h"
#include "images/core.pb.h"
#include "images/inventory.pb.h"

namespace stasis::arch {
namespace {

constexpr uint32_t kVl = 32;  // 256-bit vectors

std::vector<uint8_t> sve_state(uint32_t vl, bool sve_mode) {
    std::vector<uint8_t> b(sve_regset_size(vl, sve_mode));
    for (size_t i = 0; i < b.size(); ++i) b[i] = uint8_t(i * 31 + 3);
    user_sve_header h{};
    h.size = uint32_t(b.size());
    h.max_size = uint32_t(b.size());
    h.vl = uint16_t(vl);
    h.max_vl = uint16_t(vl);
    h.flags = sve_mode ? SVE_PT_REGS_SVE : SVE_PT_REGS_FPSIMD;
    std::memcpy(b.data(), &h, sizeof h);
    return b;
}

ThreadRegs distinctive_regs() {
    ThreadRegs r{};
    for (int i = 0; i < 31; ++i) r.gp.regs[i] = 0x1000 + uint64_t(i) * 0x111;
    r.gp.sp = 0xfffff0001230;
    r.gp.pc = 0xaaaabbbb0004;
    r.gp.pstate = 0x60000000;  // Z and C set, EL0t
    for (int i = 0; i < 32; ++i) {
        uint8_t v[16];
        for (int j = 0; j < 16; ++j) v[j] = uint8_t(i * 16 + j);
        std::memcpy(&r.fp.vregs[i], v, sizeof v);
    }
    r.fp.fpsr = 0x08000010;
    r.fp.fpcr = 0x00c00000;
    r.tpidr = 0xffff80001000;
    r.tpidr2 = 0x2222;
    r.syscallno = 98;
    r.sve = sve_state(kVl, true);
    r.sve_vl = kVl;
    r.pac_mask.assign(16, 0x7f);
    r.paca_keys.assign(64, 0xa5);
    r.pacg_keys.assign(16, 0x5a);
    r.tagged_addr_ctrl = 1;
    return r;
}

TEST(RegsAarch64, SveRegsetSizeMatchesTheKernelUapi) {
    for (unsigned vq = 1; vq <= 16; ++vq) {
        EXPECT_EQ(sve_regset_size(vq * 16, true), size_t(SVE_PT_SIZE(vq, SVE_PT_REGS_SVE))) << "vq " << vq;
        EXPECT_EQ(sve_regset_size(vq * 16, false), size_t(SVE_PT_SIZE(vq, SVE_PT_REGS_FPSIMD))) << "vq " << vq;
    }
}

TEST(RegsAarch64, RoundTripKeepsEveryRegister) {
    ThreadRegs r = distinctive_regs();
    images::ThreadRegs m;
    to_image(r, &m);
    const auto &a = m.aarch64();
    ASSERT_EQ(a.x_size(), 31);
    EXPECT_EQ(a.x(30), 0x1000u + 30 * 0x111);
    EXPECT_EQ(a.v(5).size(), 16u);
    EXPECT_EQ(uint8_t(a.v(5)[3]), 5 * 16 + 3);
    EXPECT_EQ(a.syscallno(), 98);
    EXPECT_EQ(a.sve_vl(), kVl);
    auto back = from_image(m);
    ASSERT_TRUE(back.ok()) << back.error().message();
    EXPECT_EQ(std::memcmp(&back->gp, &r.gp, sizeof r.gp), 0);
    EXPECT_EQ(std::memcmp(&back->fp, &r.fp, sizeof r.fp), 0);
    EXPECT_EQ(back->tpidr, r.tpidr);
    EXPECT_EQ(back->tpidr2, r.tpidr2);
    EXPECT_EQ(back->syscallno, r.syscallno);
    EXPECT_EQ(back->sve, r.sve);
    EXPECT_EQ(back->pac_mask, r.pac_mask);
    EXPECT_EQ(back->paca_keys, r.paca_keys);
    EXPECT_EQ(back->pacg_keys, r.pacg_keys);
    EXPECT_EQ(back->tagged_addr_ctrl, r.tagged_addr_ctrl);
    images::ThreadRegs again;
    to_image(*back, &again);
    EXPECT_EQ(again.SerializeAsString(), m.SerializeAsString());
}

TEST(RegsAarch64, RoundTripWithoutOptionalSets) {
    ThreadRegs r = distinctive_regs();
    r.sve.clear();
    r.sve_vl = 0;
    r.pac_mask.clear();
    r.paca_keys.clear();
    r.pacg_keys.clear();
    images::ThreadRegs m;
    to_image(r, &m);
    auto back = from_image(m);
    ASSERT_TRUE(back.ok()) << back.error().message();
    EXPECT_TRUE(back->sve.empty());
    EXPECT_TRUE(back->paca_keys.empty());
}

TEST(RegsAarch64, FromImageRefusesMalformedShapes) {
    images::ThreadRegs good;
    to_image(distinctive_regs(), &good);
    struct Case {
        const char *what;
        void (*mutate)(images::Aarch64Regs &);
        const char *reason;
    } cases[] = {
        {"30 x registers", [](images::Aarch64Regs &a) { a.mutable_x()->RemoveLast(); }, "want 31"},
        {"33 v registers", [](images::Aarch64Regs &a) { a.add_v(std::string(16, '\0')); }, "want 32"},
        {"short v7", [](images::Aarch64Regs &a) { a.mutable_v(7)->resize(15); }, "v7 is 15 bytes"},
        {"AArch32 pstate", [](images::Aarch64Regs &a) { a.set_pstate(0x10); }, "pstate"},
        {"EL1 pstate", [](images::Aarch64Regs &a) { a.set_pstate(0x5); }, "pstate"},
        {"SVE cut short", [](images::Aarch64Regs &a) { a.mutable_sve()->resize(a.sve().size() - 16); },
         "SVE state"},
        {"SVE length mismatch", [](images::Aarch64Regs &a) { a.set_sve_vl(64); }, "vector length"},
        {"SVE length without state", [](images::Aarch64Regs &a) { a.clear_sve(); }, "no SVE state"},
        {"SVE header only", [](images::Aarch64Regs &a) { a.mutable_sve()->resize(8); }, "SVE state"},
        {"PAC mask of 8 bytes", [](images::Aarch64Regs &a) { a.mutable_pac_mask()->resize(8); }, "pac_mask"},
        {"PACA keys of 63 bytes", [](images::Aarch64Regs &a) { a.mutable_paca_keys()->resize(63); }, "paca_keys"},
        {"PACG keys of 32 bytes", [](images::Aarch64Regs &a) { a.mutable_pacg_keys()->resize(32); }, "pacg_keys"},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(c.what);
        images::ThreadRegs m = good;
        c.mutate(*m.mutable_aarch64());
        auto r = from_image(m);
        ASSERT_FALSE(r.ok());
        EXPECT_NE(r.error().message().find(c.reason), std::string::npos) << r.error().message();
    }
}

TEST(RegsAarch64, SetupSyscallFollowsTheSvcAbiAndDisarmsRestart) {
    ThreadRegs r = distinctive_regs();
    r.gp.pstate |= 0xc00;  // BTYPE left by a branch
    setup_syscall(r, 0x400000, 222, {11, 22, 33, 44, 55, 66});
    EXPECT_EQ(r.gp.regs[8], 222u);
    for (int i = 0; i < 6; ++i) EXPECT_EQ(r.gp.regs[i], uint64_t(11 * (i + 1)));
    EXPECT_EQ(r.gp.regs[6], distinctive_regs().gp.regs[6]);  // untouched
    EXPECT_EQ(r.gp.pc, 0x400000u);
    EXPECT_EQ(r.syscallno, -1);
    EXPECT_EQ(r.gp.pstate & 0xc00, 0u);
    EXPECT_EQ(r.gp.pstate & 0xf0000000, 0x60000000u);  // flags kept
}

TEST(RegsAarch64, SetupCallPassesTheArgumentInX0) {
    ThreadRegs r = distinctive_regs();
    setup_call(r, 0x500000, 0x600000, 0x700000);
    EXPECT_EQ(r.gp.pc, 0x500000u);
    EXPECT_EQ(r.gp.regs[0], 0x600000u);
    EXPECT_EQ(r.gp.sp, 0x700000u);
    EXPECT_EQ(r.gp.regs[30], 0u);
    EXPECT_EQ(r.syscallno, -1);
}

TEST(RegsAarch64, SyscallAccessorsUseX0AndTheSystemCallRegset) {
    ThreadRegs r{};
    r.gp.regs[0] = uint64_t(-4);
    r.syscallno = 63;
    EXPECT_EQ(syscall_result(r), -4);
    EXPECT_EQ(syscall_nr(r), 63);
}

TEST(RegsAarch64, CpuFeaturesRecordTheLargestSavedSveVectorLength) {
    images::CpuFeatures out;
    ThreadRegs r = distinctive_regs();
    cpu_features(r, &out);
    EXPECT_EQ(out.sve_vl(), kVl);
    r.sve = sve_state(16, false);
    r.sve_vl = 16;
    cpu_features(r, &out);
    EXPECT_EQ(out.sve_vl(), kVl);
    EXPECT_EQ(out.hwcap(), getauxval(AT_HWCAP));
}

TEST(RegsAarch64, CpuFeaturesRefuseAnUnprovidableSveVectorLength) {
    images::CpuFeatures needed;
    needed.set_sve_vl(8192);  // beyond any SVE CPU (the architecture stops at 256)
    Status s = check_cpu_features(needed);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message().find("SVE"), std::string::npos) << s.error().message();
}

TEST(RegsAarch64, CpuFeaturesAcceptThisCpusOwnSveVectorLength) {
    if (!(getauxval(AT_HWCAP) & HWCAP_SVE)) GTEST_SKIP() << "no SVE on this CPU";
    int vl = prctl(PR_SVE_GET_VL);
    ASSERT_GT(vl, 0);
    images::CpuFeatures needed;
    needed.set_sve_vl(uint32_t(vl & PR_SVE_VL_LEN_MASK));
    Status s = check_cpu_features(needed);
    EXPECT_TRUE(s.ok()) << s.error().message();
    EXPECT_EQ(prctl(PR_SVE_GET_VL), vl);  // our own length is left as it was
}

// 128-bit vectors exist on every SVE CPU: settable even when this thread
// runs at another length, which the check then puts back.
TEST(RegsAarch64, CpuFeaturesAcceptTheMinimumSveVectorLength) {
    if (!(getauxval(AT_HWCAP) & HWCAP_SVE)) GTEST_SKIP() << "no SVE on this CPU";
    int vl = prctl(PR_SVE_GET_VL);
    ASSERT_GT(vl, 0);
    images::CpuFeatures needed;
    needed.set_sve_vl(16);
    Status s = check_cpu_features(needed);
    EXPECT_TRUE(s.ok()) << s.error().message();
    EXPECT_EQ(prctl(PR_SVE_GET_VL), vl);
}

TEST(RegsAarch64, CpuFeaturesRefusePointerAuthenticationOnACpuWithout) {
    images::CpuFeatures needed;
    needed.set_hwcap(HWCAP_PACA);
    Status s = check_cpu_features(needed);
    if (getauxval(AT_HWCAP) & HWCAP_PACA) {
        EXPECT_TRUE(s.ok()) << s.error().message();
    } else {
        ASSERT_FALSE(s.ok());
        EXPECT_NE(s.error().message().find("pointer authentication"), std::string::npos);
    }
}

}  // namespace
}  // namespace stasis::arch
