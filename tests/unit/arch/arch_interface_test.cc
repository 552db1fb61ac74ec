// The arch interface as common code sees it: the same expectations hold on
// every architecture.
#include "arch/arch.h"

#include <gtest/gtest.h>

#include <string>

#include "images/core.pb.h"
#include "images/inventory.pb.h"
#include "own_signal_frame.h"

namespace stasis::arch {
namespace {

// The ThreadRegs oneof field numbers equal the images::Arch values
// (images/regs.proto, images/header.proto): x86_64 = 1 ... s390x = 5.
void set_arch_case(images::ThreadRegs &m, int arch) {
    switch (arch) {
    case images::ARCH_X86_64: m.mutable_x86_64(); break;
    case images::ARCH_AARCH64: m.mutable_aarch64(); break;
    case images::ARCH_ARM: m.mutable_arm(); break;
    case images::ARCH_PPC64LE: m.mutable_ppc64le(); break;
    case images::ARCH_S390X: m.mutable_s390x(); break;
    }
}

TEST(ArchInterface, SignalFramesThisKernelWroteAreLeftAsTheyAre) {
    test::OwnFrame f = test::own_signal_frame();
    ASSERT_NE(f.at, 0u) << "the handler did not run";
    std::vector<uint8_t> mem = f.bytes;
    for (const SignalFrame &found : adapt_signal_frames(mem, f.at)) {
        EXPECT_EQ(found.rewritten, nullptr) << "rewrote the frame at " << found.at;
        EXPECT_GE(found.at, f.at);
    }
    EXPECT_EQ(mem, f.bytes);
}

TEST(ArchInterface, SignalFramesAreNotFoundInMemoryThatHoldsNone) {
    std::vector<uint8_t> zeros(4096, 0), ones(4096, 0xff);
    EXPECT_TRUE(adapt_signal_frames(zeros, 0x10000).empty());
    EXPECT_TRUE(adapt_signal_frames(ones, 0x10000).empty());
    EXPECT_TRUE(adapt_signal_frames({}, 0x10000).empty());
}

TEST(ArchInterface, FromImageRefusesEveryOtherArchitecture) {
    for (int arch = images::ARCH_X86_64; arch <= images::ARCH_S390X; ++arch) {
        if (arch == kImageArch) continue;
        images::ThreadRegs m;
        set_arch_case(m, arch);
        auto r = from_image(m);
        ASSERT_FALSE(r.ok()) << "accepted registers of " << images::Arch_Name(images::Arch(arch));
        EXPECT_NE(r.error().message().find(kArchName), std::string::npos) << r.error().message();
    }
}

TEST(ArchInterface, FromImageRefusesAMessageWithoutArchitecture) {
    auto r = from_image(images::ThreadRegs());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find(kArchName), std::string::npos) << r.error().message();
}

TEST(ArchInterface, FromImageRefusesAnEmptyMessageOfThisArchitecture) {
    images::ThreadRegs m;
    set_arch_case(m, kImageArch);
    EXPECT_FALSE(from_image(m).ok());
}

// Addresses below 4 GiB so that they fit arm's 32-bit registers too.
TEST(ArchInterface, SetupCallPlacesEntryAndStack) {
    ThreadRegs r{};
    setup_call(r, 0x10001000, 0x10002000, 0x10003000);
    EXPECT_EQ(ip(r), 0x10001000u);
    EXPECT_EQ(sp(r), 0x10003000u);
    EXPECT_NE(describe(r), "");
}

TEST(ArchInterface, SetupSyscallPointsAtTheInstruction) {
    ThreadRegs r{};
    setup_syscall(r, 0x10000, 39, {1, 2, 3, 4, 5, 6});
    EXPECT_EQ(ip(r), 0x10000u);
    EXPECT_EQ(kSyscallInsn.size() % kInsnAlign, 0u);
}

TEST(ArchInterface, TheFirstBorrowableSyscallFormIsKSyscallInsnUntagged) {
    auto forms = syscall_insn_forms();
    ASSERT_FALSE(forms.empty());
    EXPECT_EQ(forms[0].bytes, std::vector<uint8_t>(kSyscallInsn.begin(), kSyscallInsn.end()));
    EXPECT_EQ(forms[0].tag, 0u);
    for (const auto &f : forms) EXPECT_EQ(f.bytes.size() % f.align, 0u);
}

TEST(ArchInterface, AccessorsSetAndGetIpAndSp) {
    ThreadRegs r{};
    set_ip(r, 0x4000);
    set_sp(r, 0x8000);
    EXPECT_EQ(ip(r), 0x4000u);
    EXPECT_EQ(sp(r), 0x8000u);
}

TEST(ArchInterface, NoCpuFeaturesNeededIsAlwaysAccepted) {
    Status s = check_cpu_features(images::CpuFeatures());
    EXPECT_TRUE(s.ok()) << s.error().message();
}

}  // namespace
}  // namespace stasis::arch
