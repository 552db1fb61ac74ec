// s390x register conversion and injection setup.
#include <sys/auxv.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "arch/arch.h"
#include "images/core.pb.h"
#include "images/inventory.pb.h"

namespace stasis::arch {
namespace {

constexpr uint64_t kUserPswMask = 0x0705200180000000ull;  // DAT, I/O, ext, key 0, MCHK, PSTATE, 64-bit

ThreadRegs distinctive_regs() {
    ThreadRegs r{};
    r.gp.psw_mask = kUserPswMask;
    r.gp.psw_addr = 0x2aa00001234;
    for (int i = 0; i < 16; ++i) r.gp.gprs[i] = 0x3ff00000000 + uint64_t(i) * 0x1111;
    for (int i = 0; i < 16; ++i) r.gp.acrs[i] = 0xac000000u + uint32_t(i);
    r.gp.orig_gpr2 = 0x2222;
    r.fp.fpc = 0x00080000;
    for (int i = 0; i < 16; ++i) r.fp.fprs[i] = 0x3ff0000000000000ull + uint64_t(i);
    for (int i = 0; i < 16; ++i) r.vxrs_low.push_back(0x1010101000000000ull + uint64_t(i));
    r.vxrs_high.resize(16 * 16);
    for (size_t i = 0; i < r.vxrs_high.size(); ++i) r.vxrs_high[i] = uint8_t(i * 3 + 7);
    r.system_call = 0x0002008e;  // ilc 2, svc 142
    return r;
}

TEST(RegsS390x, RoundTripKeepsEveryRegister) {
    ThreadRegs r = distinctive_regs();
    images::ThreadRegs m;
    to_image(r, &m);
    const auto &s = m.s390x();
    EXPECT_EQ(s.psw_mask(), kUserPswMask);
    ASSERT_EQ(s.gprs_size(), 16);
    EXPECT_EQ(s.gprs(15), 0x3ff00000000u + 15 * 0x1111);
    EXPECT_EQ(s.acrs(1), 0xac000001u);
    ASSERT_EQ(s.vxrs_high_size(), 16);
    EXPECT_EQ(uint8_t(s.vxrs_high(1)[0]), uint8_t(16 * 3 + 7));
    EXPECT_EQ(s.system_call(), 0x0002008eu);
    auto back = from_image(m);
    ASSERT_TRUE(back.ok()) << back.error().message();
    EXPECT_EQ(std::memcmp(&back->gp, &r.gp, sizeof r.gp), 0);
    EXPECT_EQ(std::memcmp(&back->fp, &r.fp, sizeof r.fp), 0);
    EXPECT_EQ(back->vxrs_low, r.vxrs_low);
    EXPECT_EQ(back->vxrs_high, r.vxrs_high);
    EXPECT_EQ(back->system_call, r.system_call);
    images::ThreadRegs again;
    to_image(*back, &again);
    EXPECT_EQ(again.SerializeAsString(), m.SerializeAsString());
}

TEST(RegsS390x, RoundTripWithoutVectorFacility) {
    ThreadRegs r = distinctive_regs();
    r.vxrs_low.clear();
    r.vxrs_high.clear();
    images::ThreadRegs m;
    to_image(r, &m);
    auto back = from_image(m);
    ASSERT_TRUE(back.ok()) << back.error().message();
    EXPECT_TRUE(back->vxrs_low.empty());
    EXPECT_TRUE(back->vxrs_high.empty());
}

TEST(RegsS390x, FromImageRefusesMalformedShapes) {
    images::ThreadRegs good;
    to_image(distinctive_regs(), &good);
    struct Case {
        const char *what;
        void (*mutate)(images::S390xRegs &);
        const char *reason;
    } cases[] = {
        {"15 GPRs", [](images::S390xRegs &s) { s.mutable_gprs()->RemoveLast(); }, "general registers"},
        {"17 access registers", [](images::S390xRegs &s) { s.add_acrs(0); }, "access registers"},
        {"8 FPRs", [](images::S390xRegs &s) { s.mutable_fprs()->Truncate(8); }, "FP registers"},
        {"low halves only", [](images::S390xRegs &s) { s.clear_vxrs_high(); }, "one half"},
        {"15 low halves", [](images::S390xRegs &s) { s.mutable_vxrs_low()->RemoveLast(); }, "low vector halves"},
        {"v20 of 8 bytes", [](images::S390xRegs &s) { s.mutable_vxrs_high(4)->resize(8); }, "v20 is 8 bytes"},
        {"31-bit PSW", [](images::S390xRegs &s) { s.set_psw_mask(0x0705200080000000ull); }, "psw"},
        {"supervisor PSW", [](images::S390xRegs &s) { s.set_psw_mask(0x0704000180000000ull); }, "problem-state"},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(c.what);
        images::ThreadRegs m = good;
        c.mutate(*m.mutable_s390x());
        auto r = from_image(m);
        ASSERT_FALSE(r.ok());
        EXPECT_NE(r.error().message().find(c.reason), std::string::npos) << r.error().message();
    }
}

TEST(RegsS390x, SetupSyscallPutsTheNumberInR1AndDisarmsRestart) {
    ThreadRegs r = distinctive_regs();
    setup_syscall(r, 0x2aa00002000, 435, {11, 22, 33, 44, 55, 66});
    EXPECT_EQ(r.gp.gprs[1], 435u);
    for (int i = 0; i < 6; ++i) EXPECT_EQ(r.gp.gprs[2 + i], uint64_t(11 * (i + 1)));
    EXPECT_EQ(r.gp.gprs[8], distinctive_regs().gp.gprs[8]);  // untouched
    EXPECT_EQ(r.gp.orig_gpr2, 11u);
    EXPECT_EQ(r.gp.psw_addr, 0x2aa00002000u);
    EXPECT_EQ(r.gp.psw_mask, kUserPswMask);
    EXPECT_EQ(r.system_call, 0u);
}

TEST(RegsS390x, SetupCallPassesTheArgumentInR2) {
    ThreadRegs r = distinctive_regs();
    setup_call(r, 0x2aa00003000, 0x2aa00004000, 0x3fffff00000);
    EXPECT_EQ(r.gp.psw_addr, 0x2aa00003000u);
    EXPECT_EQ(r.gp.gprs[2], 0x2aa00004000u);
    EXPECT_EQ(r.gp.gprs[15], 0x3fffff00000u);
    EXPECT_EQ(r.gp.gprs[14], 0u);
    EXPECT_EQ(r.system_call, 0u);
}

TEST(RegsS390x, SyscallAccessorsUseR2AndTheRecordedSyscall) {
    ThreadRegs r{};
    r.gp.gprs[2] = uint64_t(-4);
    r.system_call = 0x0002008e;
    EXPECT_EQ(syscall_result(r), -4);
    EXPECT_EQ(syscall_nr(r), 0x8e);
    r.system_call = 0;
    EXPECT_EQ(syscall_nr(r), -1);
}

TEST(RegsS390x, CpuFeaturesRefuseVectorRegistersWithoutTheVectorFacility) {
    unsigned long host = getauxval(AT_HWCAP);
    images::CpuFeatures same;
    same.set_hwcap(host);
    Status s = check_cpu_features(same);
    EXPECT_TRUE(s.ok()) << s.error().message();
    if (host & HWCAP_S390_VX) GTEST_SKIP() << "this CPU has the vector facility; nothing to refuse";
    images::CpuFeatures more;
    more.set_hwcap(host | HWCAP_S390_VX);
    Status refused = check_cpu_features(more);
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.error().message().find("vector facility"), std::string::npos);
}

}  // namespace
}  // namespace stasis::arch
