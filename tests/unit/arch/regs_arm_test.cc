// arm (32-bit) register conversion and injection setup.
#include <sys/auxv.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "arch/arch.h"
#include "images/core.pb.h"
#include "images/inventory.pb.h"
#include "own_signal_frame.h"

namespace stasis::arch {
namespace {

constexpr uint32_t kThumb = 1u << 5;
constexpr uint32_t kItBits = (0x3fu << 10) | (0x3u << 25);

ThreadRegs distinctive_regs() {
    ThreadRegs r{};
    for (int i = 0; i < 16; ++i) r.gp.uregs[i] = 0x10000 + i * 0x101;
    r.gp.uregs[kArmCpsr] = 0x60000010;  // Z, C, user mode
    r.gp.uregs[kArmOrigR0] = 0xabcd;
    r.has_vfp = true;
    for (int i = 0; i < 32; ++i) r.vfp.d[i] = 0x0102030405060708ull * uint64_t(i + 1);
    r.vfp.fpscr = 0x03c00000;
    r.tls = 0xb6ff0440;
    r.syscallno = -1;
    return r;
}

TEST(RegsArm, RoundTripKeepsEveryRegister) {
    ThreadRegs r = distinctive_regs();
    images::ThreadRegs m;
    to_image(r, &m);
    const auto &a = m.arm();
    ASSERT_EQ(a.r_size(), 16);
    EXPECT_EQ(a.r(15), 0x10000u + 15 * 0x101);
    EXPECT_EQ(a.cpsr(), 0x60000010u);
    EXPECT_EQ(a.orig_r0(), 0xabcdu);
    ASSERT_EQ(a.vfp_d_size(), 32);
    EXPECT_EQ(a.vfp_d(31), 0x0102030405060708ull * 32);
    EXPECT_EQ(a.tls(), 0xb6ff0440u);
    auto back = from_image(m);
    ASSERT_TRUE(back.ok()) << back.error().message();
    EXPECT_EQ(std::memcmp(&back->gp, &r.gp, sizeof r.gp), 0);
    EXPECT_EQ(std::memcmp(back->vfp.d, r.vfp.d, sizeof r.vfp.d), 0);
    EXPECT_EQ(back->vfp.fpscr, r.vfp.fpscr);
    EXPECT_TRUE(back->has_vfp);
    EXPECT_EQ(back->tls, r.tls);
    images::ThreadRegs again;
    to_image(*back, &again);
    EXPECT_EQ(again.SerializeAsString(), m.SerializeAsString());
}

TEST(RegsArm, RoundTripWithoutVfp) {
    ThreadRegs r = distinctive_regs();
    r.has_vfp = false;
    r.vfp = {};
    images::ThreadRegs m;
    to_image(r, &m);
    EXPECT_EQ(m.arm().vfp_d_size(), 0);
    auto back = from_image(m);
    ASSERT_TRUE(back.ok()) << back.error().message();
    EXPECT_FALSE(back->has_vfp);
}

TEST(RegsArm, FromImageRefusesMalformedShapes) {
    images::ThreadRegs good;
    to_image(distinctive_regs(), &good);
    struct Case {
        const char *what;
        void (*mutate)(images::ArmRegs &);
        const char *reason;
    } cases[] = {
        {"15 core registers", [](images::ArmRegs &a) { a.mutable_r()->RemoveLast(); }, "want 16"},
        {"18 core registers", [](images::ArmRegs &a) { a.add_r(0); a.add_r(0); }, "want 16"},
        {"supervisor mode", [](images::ArmRegs &a) { a.set_cpsr(0x60000013); }, "not user mode"},
        {"16 VFP registers", [](images::ArmRegs &a) { a.mutable_vfp_d()->Truncate(16); }, "VFP registers"},
        {"fpscr without VFP", [](images::ArmRegs &a) { a.clear_vfp_d(); }, "fpscr"},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(c.what);
        images::ThreadRegs m = good;
        c.mutate(*m.mutable_arm());
        auto r = from_image(m);
        ASSERT_FALSE(r.ok());
        EXPECT_NE(r.error().message().find(c.reason), std::string::npos) << r.error().message();
    }
}

TEST(RegsArm, SetupSyscallFollowsTheEabiAndLeavesThumbState) {
    ThreadRegs r = distinctive_regs();
    r.gp.uregs[kArmCpsr] |= kThumb | kItBits;  // stopped in Thumb code inside an IT block
    setup_syscall(r, 0x20000, 192, {11, 22, 33, 44, 55, 66});
    for (int i = 0; i < 6; ++i) EXPECT_EQ(uint32_t(r.gp.uregs[i]), uint32_t(11 * (i + 1)));
    EXPECT_EQ(uint32_t(r.gp.uregs[6]), 0x10000u + 6 * 0x101);  // untouched
    EXPECT_EQ(uint32_t(r.gp.uregs[7]), 192u);
    EXPECT_EQ(uint32_t(r.gp.uregs[kArmPc]), 0x20000u);
    EXPECT_EQ(uint32_t(r.gp.uregs[kArmOrigR0]), 11u);
    EXPECT_EQ(r.gp.uregs[kArmCpsr] & (kThumb | kItBits), 0u);
    EXPECT_EQ(r.gp.uregs[kArmCpsr] & 0xf000001f, 0x60000010u);  // flags and mode kept
    EXPECT_EQ(r.syscallno, -1);
}

TEST(RegsArm, ThumbSvcIsABorrowableSyscallInstructionTaggedWithBitZero) {
    auto forms = syscall_insn_forms();
    ASSERT_EQ(forms.size(), 2u);
    EXPECT_EQ(forms[0].bytes, (std::vector<uint8_t>{0x00, 0x00, 0x00, 0xef}));  // ARM svc #0
    EXPECT_EQ(forms[0].tag, 0u);
    EXPECT_EQ(forms[1].bytes, (std::vector<uint8_t>{0x00, 0xdf}));  // Thumb svc #0
    EXPECT_EQ(forms[1].align, 2u);
    EXPECT_EQ(forms[1].tag, 1u);
}

TEST(RegsArm, SetupSyscallAtATaggedAddressRunsTheThumbSvcInThumbState) {
    ThreadRegs r = distinctive_regs();
    r.gp.uregs[kArmCpsr] |= kItBits;  // inside an IT block: must not carry over
    setup_syscall(r, 0x20002 | 1, 192, {11, 22, 33, 44, 55, 66});
    EXPECT_EQ(uint32_t(r.gp.uregs[kArmPc]), 0x20002u);
    EXPECT_EQ(r.gp.uregs[kArmCpsr] & kThumb, kThumb);
    EXPECT_EQ(r.gp.uregs[kArmCpsr] & kItBits, 0u);
    EXPECT_EQ(uint32_t(r.gp.uregs[7]), 192u);
}

TEST(RegsArm, SetupCallPassesTheArgumentInR0) {
    ThreadRegs r = distinctive_regs();
    r.gp.uregs[kArmCpsr] |= kThumb;
    setup_call(r, 0x30000, 0x40000, 0x50000);
    EXPECT_EQ(uint32_t(r.gp.uregs[kArmPc]), 0x30000u);
    EXPECT_EQ(uint32_t(r.gp.uregs[0]), 0x40000u);
    EXPECT_EQ(uint32_t(r.gp.uregs[kArmSp]), 0x50000u);
    EXPECT_EQ(uint32_t(r.gp.uregs[kArmLr]), 0u);
    EXPECT_EQ(r.gp.uregs[kArmCpsr] & kThumb, 0u);
    EXPECT_EQ(r.syscallno, -1);
}

TEST(RegsArm, SyscallResultIsR0SignExtended) {
    ThreadRegs r{};
    r.gp.uregs[0] = 0xfffffffe;
    r.gp.uregs[7] = 224;
    EXPECT_EQ(syscall_result(r), -2);
    EXPECT_EQ(syscall_nr(r), 224);
}

TEST(RegsArm, CpuFeaturesRefuseFpStateThisCpuCannotHold) {
    unsigned long host = getauxval(AT_HWCAP);
    images::CpuFeatures same;
    same.set_hwcap(host);
    Status s = check_cpu_features(same);
    EXPECT_TRUE(s.ok()) << s.error().message();
    unsigned long lacking = (HWCAP_ARM_VFP | HWCAP_ARM_VFPD32) & ~host;
    if (!lacking) GTEST_SKIP() << "this CPU has every FP hwcap; nothing to refuse";
    images::CpuFeatures more;
    more.set_hwcap(host | lacking);
    EXPECT_FALSE(check_cpu_features(more).ok());
}

// Signal frames (arch/arm/signal_frames.cc). uc_regspace sits 232 bytes
// into the ucontext; blocks are (magic, size, data), ended by a zero magic.
constexpr size_t kRegspace = 232;
constexpr uint32_t kDummyMagic = 0xb0d9ed01, kVfpMagic = 0x56465001;
constexpr uint32_t kPlaceholderSize = 160, kVfpSize = 288;

uint32_t word_at(const std::vector<uint8_t> &m, size_t off) {
    uint32_t v;
    std::memcpy(&v, m.data() + off, 4);
    return v;
}

TEST(SignalFramesArm, TheFrameThisKernelWroteIsFoundWithTheStackItReturnsTo) {
    test::OwnFrame f = test::own_signal_frame();
    uint32_t first = word_at(f.bytes, kRegspace);
    ASSERT_TRUE(first == kVfpMagic || first == kDummyMagic) << std::hex << first;
    auto frames = adapt_signal_frames(f.bytes, f.at);
    ASSERT_FALSE(frames.empty());
    EXPECT_EQ(frames[0].at, f.at);
    EXPECT_GT(frames[0].interrupted_sp, f.at) << "the interrupted code's stack is above its frame";
    EXPECT_EQ(frames[0].rewritten, nullptr);
}

// A frame as Debian's 6.1 kernel (CONFIG_IWMMXT) writes it for a thread
// that never used iWMMXt: a placeholder block before the VFP block.
std::vector<uint8_t> with_placeholder(const std::vector<uint8_t> &frame) {
    std::vector<uint8_t> m = frame;
    std::memmove(m.data() + kRegspace + kPlaceholderSize, frame.data() + kRegspace, kVfpSize + 4);
    std::memset(m.data() + kRegspace, 0, kPlaceholderSize);
    std::memcpy(m.data() + kRegspace, &kDummyMagic, 4);
    std::memcpy(m.data() + kRegspace + 4, &kPlaceholderSize, 4);
    return m;
}

TEST(SignalFramesArm, APlaceholderBlockIsDroppedOnlyWhereThisKernelWritesNone) {
    test::OwnFrame f = test::own_signal_frame();
    if (word_at(f.bytes, kRegspace) != kVfpMagic) GTEST_SKIP() << "this kernel writes the placeholder itself";
    std::vector<uint8_t> old = with_placeholder(f.bytes);
    std::vector<uint8_t> m = old;
    auto frames = adapt_signal_frames(m, f.at);
    ASSERT_FALSE(frames.empty());
    EXPECT_EQ(frames[0].at, f.at);
    RecordProperty("this_kernel_needs_rewriting", signal_frames_may_need_rewriting() ? "yes" : "no");
    if (signal_frames_may_need_rewriting()) {
        EXPECT_NE(frames[0].rewritten, nullptr);
        // The VFP block and the end marker are back where this kernel
        // reads them, byte for byte; nothing before the regspace moved.
        EXPECT_TRUE(std::equal(m.begin(), m.begin() + kRegspace + kVfpSize + 4, f.bytes.begin()));
        EXPECT_TRUE(std::equal(m.begin() + kRegspace + 512, m.end(), old.begin() + kRegspace + 512))
            << "wrote past the frame";
    } else {
        EXPECT_EQ(frames[0].rewritten, nullptr);
        EXPECT_EQ(m, old);
    }
}

TEST(SignalFramesArm, APlaceholderWithoutAVfpBlockAfterItIsNotTakenForAFrame) {
    test::OwnFrame f = test::own_signal_frame();
    if (word_at(f.bytes, kRegspace) != kVfpMagic) GTEST_SKIP() << "this kernel writes the placeholder itself";
    std::vector<uint8_t> m = with_placeholder(f.bytes);
    uint32_t garbage = 0x12345678;
    std::memcpy(m.data() + kRegspace + kPlaceholderSize, &garbage, 4);
    std::vector<uint8_t> before = m;
    for (const SignalFrame &found : adapt_signal_frames(m, f.at)) EXPECT_NE(found.at, f.at);
    EXPECT_EQ(m, before);
}

TEST(SignalFramesArm, AFrameCutOffByTheEndOfTheSearchedMemoryIsNotRead) {
    test::OwnFrame f = test::own_signal_frame();
    if (word_at(f.bytes, kRegspace) != kVfpMagic) GTEST_SKIP() << "this kernel writes the placeholder itself";
    std::vector<uint8_t> m = with_placeholder(f.bytes);
    m.resize(kRegspace + 300);  // the regspace does not fit
    std::vector<uint8_t> before = m;
    EXPECT_TRUE(adapt_signal_frames(m, f.at).empty());
    EXPECT_EQ(m, before);
}

}  // namespace
}  // namespace stasis::arch
