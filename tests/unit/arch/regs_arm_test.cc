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

// Breakpoint single steps (arch/arm/software_step.cc), on code assembled
// with arm-linux-gnueabihf-as (the encodings are in the comments).
struct FakeMemory {
    std::vector<std::pair<uint64_t, std::vector<uint8_t>>> areas;
    void put32(uint64_t at, uint32_t v) { put(at, &v, 4); }
    void put16(uint64_t at, uint16_t v) { put(at, &v, 2); }
    void put(uint64_t at, const void *p, size_t n) {
        std::vector<uint8_t> b(n);
        std::memcpy(b.data(), p, n);
        areas.emplace_back(at, std::move(b));
    }
    ReadMem reader() const {
        return [this](uint64_t a, void *buf, size_t n) {
            auto *out = static_cast<uint8_t *>(buf);
            for (size_t i = 0; i < n; ++i) {
                bool found = false;
                for (const auto &[at, b] : areas)
                    if (a + i >= at && a + i < at + b.size()) {
                        out[i] = b[a + i - at];
                        found = true;
                    }
                if (!found) return false;
            }
            return true;
        };
    }
};

constexpr uint64_t kCode = 0x10000, kStack = 0x7f000;
const std::vector<uint8_t> kArmBkpt = {0xf0, 0x01, 0xf0, 0xe7}, kThumbBkpt = {0x01, 0xde};

ThreadRegs at(uint64_t pc, bool thumb) {
    ThreadRegs r{};
    r.gp.uregs[kArmPc] = pc;
    r.gp.uregs[kArmSp] = kStack;
    r.gp.uregs[kArmLr] = 0x20001;  // a Thumb caller
    r.gp.uregs[kArmCpsr] = 0x10 | (thumb ? kThumb : 0);
    return r;
}

std::vector<std::pair<uint64_t, bool>> stops(const Result<std::vector<Breakpoint>> &bps) {
    std::vector<std::pair<uint64_t, bool>> out;
    if (!bps.ok()) return out;
    for (const auto &b : *bps) {
        EXPECT_TRUE(b.insn == kArmBkpt || b.insn == kThumbBkpt);
        out.emplace_back(b.addr, b.insn == kThumbBkpt);
    }
    std::sort(out.begin(), out.end());
    return out;
}

using Stops = std::vector<std::pair<uint64_t, bool>>;

TEST(BreakpointStepArm, AnOrdinaryInstructionStopsAtTheNextOne) {
    FakeMemory m;
    m.put32(kCode, 0xe2800001);  // add r0, r0, #1
    EXPECT_EQ(stops(step_breakpoints(at(kCode, false), m.reader())), (Stops{{kCode + 4, false}}));
    m.put16(kCode + 0x100, 0x2001);  // movs r0, #1 (Thumb)
    m.put16(kCode + 0x102, 0xbf00);
    EXPECT_EQ(stops(step_breakpoints(at(kCode + 0x100, true), m.reader())), (Stops{{kCode + 0x102, true}}));
}

TEST(BreakpointStepArm, AReturnStopsAtTheCallerInItsState) {
    FakeMemory m;
    m.put32(kCode, 0xe12fff1e);  // bx lr (ARM), lr = a Thumb address
    EXPECT_EQ(stops(step_breakpoints(at(kCode, false), m.reader())), (Stops{{0x20000, true}}));
    m.put16(kCode + 0x10, 0x4770);  // bx lr (Thumb)
    m.put16(kCode + 0x12, 0xbf00);
    EXPECT_EQ(stops(step_breakpoints(at(kCode + 0x10, true), m.reader())), (Stops{{0x20000, true}}));
}

TEST(BreakpointStepArm, APopIntoPcStopsWhereTheStackSays) {
    FakeMemory m;
    m.put32(kStack, 0x1111);       // r4
    m.put32(kStack + 4, 0x30000);  // pc: an ARM address
    m.put32(kCode, 0xe8bd8010);    // pop {r4, pc}
    EXPECT_EQ(stops(step_breakpoints(at(kCode, false), m.reader())), (Stops{{0x30000, false}}));
    m.put16(kCode + 0x20, 0xbd10);  // pop {r4, pc} (Thumb)
    m.put16(kCode + 0x22, 0xbf00);
    EXPECT_EQ(stops(step_breakpoints(at(kCode + 0x20, true), m.reader())), (Stops{{0x30000, false}}));
    m.put32(kCode + 0x40, 0xe49df004);  // ldr pc, [sp], #4: from sp itself
    m.put32(kStack, 0x40001);
    EXPECT_EQ(stops(step_breakpoints(at(kCode + 0x40, false), m.reader())), (Stops{{0x40000, true}}));
}

TEST(BreakpointStepArm, AConditionalBranchStopsAtBothWays) {
    FakeMemory m;
    m.put32(kCode + 8, 0x1a000002);  // bne +16
    EXPECT_EQ(stops(step_breakpoints(at(kCode + 8, false), m.reader())),
              (Stops{{kCode + 12, false}, {kCode + 0x18, false}}));
    m.put16(kCode + 0x26, 0xb110);  // cbz r0, 0x2e
    m.put16(kCode + 0x28, 0xbf00);
    EXPECT_EQ(stops(step_breakpoints(at(kCode + 0x26, true), m.reader())),
              (Stops{{kCode + 0x28, true}, {kCode + 0x2e, true}}));
}

TEST(BreakpointStepArm, AReturnInsideAnItBlockMayFallThrough) {
    FakeMemory m;
    m.put16(kCode, 0x4770);  // bx lr, under an IT condition
    m.put16(kCode + 2, 0xbf00);
    ThreadRegs r = at(kCode, true);
    r.gp.uregs[kArmCpsr] |= 0x8u << 10;  // ITSTATE: one conditional instruction left
    EXPECT_EQ(stops(step_breakpoints(r, m.reader())), (Stops{{kCode + 2, true}, {0x20000, true}}));
}

TEST(BreakpointStepArm, ATableBranchStopsAtItsEntry) {
    FakeMemory m;
    m.put16(kCode + 0x2a, 0xe8df);  // tbb [pc, r0]
    m.put16(kCode + 0x2c, 0xf000);
    const uint8_t table[4] = {0, 3, 5, 9};
    m.put(kCode + 0x2e, table, sizeof table);
    ThreadRegs r = at(kCode + 0x2a, true);
    r.gp.uregs[0] = 2;
    EXPECT_EQ(stops(step_breakpoints(r, m.reader())), (Stops{{kCode + 0x2e + 2 * 5, true}}));
}

TEST(BreakpointStepArm, ABranchToTheOtherStateStopsInThatState) {
    FakeMemory m;
    m.put32(kCode + 0x14, 0xfa000000);  // blx to Thumb at pc + 8
    EXPECT_EQ(stops(step_breakpoints(at(kCode + 0x14, false), m.reader())), (Stops{{kCode + 0x1c, true}}));
    m.put16(kCode + 0x2e, 0xf000);  // blx to ARM at Align(pc, 4) + 12
    m.put16(kCode + 0x30, 0xe806);
    EXPECT_EQ(stops(step_breakpoints(at(kCode + 0x2e, true), m.reader())), (Stops{{kCode + 0x3c, false}}));
}

TEST(BreakpointStepArm, LoadsAndMovesIntoPcAreFollowed) {
    FakeMemory m;
    m.put32(kCode + 0x20, 0xe593f008);  // ldr pc, [r3, #8]
    m.put32(0x50008, 0x60000);
    ThreadRegs r = at(kCode + 0x20, false);
    r.gp.uregs[3] = 0x50000;
    EXPECT_EQ(stops(step_breakpoints(r, m.reader())), (Stops{{0x60000, false}}));
    m.put32(kCode + 0x18, 0xe1a0f00e);  // mov pc, lr
    EXPECT_EQ(stops(step_breakpoints(at(kCode + 0x18, false), m.reader())), (Stops{{0x20000, true}}));
}

TEST(BreakpointStepArm, AComputedJumpItCannotFollowIsRefused) {
    FakeMemory m;
    m.put32(kCode + 0x1c, 0xe08ff001);  // add pc, pc, r1
    auto bps = step_breakpoints(at(kCode + 0x1c, false), m.reader());
    ASSERT_FALSE(bps.ok());
    EXPECT_NE(bps.error().message().find("add"), std::string::npos) << bps.error().message();
}

TEST(BreakpointStepArm, UnreadableCodeIsRefused) {
    FakeMemory m;
    EXPECT_FALSE(step_breakpoints(at(kCode, false), m.reader()).ok());
}

TEST(BreakpointStepArm, ReturnBreakpointsGoWhereTheLinkRegisterAndStackPointIntoCode) {
    FakeMemory m;
    const uint32_t words[] = {0x12345678, 0x30000, 0x30002, 0x40001, 0x30000, 0x99999999};
    m.put(kStack, words, sizeof words);
    auto is_code = [](uint64_t a) { return (a >= 0x20000 && a < 0x50000); };
    auto bps = return_breakpoints(at(kCode, false), m.reader(), sizeof words, is_code);
    ASSERT_TRUE(bps.ok()) << bps.error().message();
    // lr (Thumb 0x20001), the ARM word 0x30000 once; 0x30002 is no ARM
    // return address; 0x40001 is Thumb code; the rest is no code.
    EXPECT_EQ(stops(bps), (Stops{{0x20000, true}, {0x30000, false}, {0x40000, true}}));
}

}  // namespace
}  // namespace stasis::arch
