// x86_64 register conversion and injection setup.
#include <cpuid.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "arch/arch.h"
#include "images/core.pb.h"
#include "images/inventory.pb.h"

namespace stasis::arch {
namespace {

ThreadRegs distinctive_regs() {
    ThreadRegs r{};
    auto &g = r.gp;
    g.r15 = 0x1515; g.r14 = 0x1414; g.r13 = 0x1313; g.r12 = 0x1212; g.rbp = 0xb0b0; g.rbx = 0xb1b1;
    g.r11 = 0x1111; g.r10 = 0x1010; g.r9 = 0x0909; g.r8 = 0x0808; g.rax = 0xa0a0; g.rcx = 0xc0c0;
    g.rdx = 0xd0d0; g.rsi = 0x5151; g.rdi = 0xd1d1; g.orig_rax = 202; g.rip = 0x401000; g.cs = 0x33;
    g.eflags = 0x246; g.rsp = 0x7ffc0000; g.ss = 0x2b; g.fs_base = 0x7f0000001000; g.gs_base = 0x7f0000002000;
    auto *fx = reinterpret_cast<uint8_t *>(&r.fp);
    for (size_t i = 0; i < sizeof r.fp; ++i) fx[i] = uint8_t(i * 7 + 1);
    r.xsave.resize(1024);
    for (size_t i = 0; i < r.xsave.size(); ++i) r.xsave[i] = uint8_t(i * 13 + 5);
    return r;
}

TEST(RegsX86_64, RoundTripKeepsEveryRegister) {
    ThreadRegs r = distinctive_regs();
    images::ThreadRegs m;
    to_image(r, &m);
    EXPECT_EQ(m.x86_64().r12(), 0x1212u);
    EXPECT_EQ(m.x86_64().orig_rax(), 202u);
    auto back = from_image(m);
    ASSERT_TRUE(back.ok()) << back.error().message();
    EXPECT_EQ(std::memcmp(&back->gp, &r.gp, sizeof r.gp), 0);
    EXPECT_EQ(std::memcmp(&back->fp, &r.fp, sizeof r.fp), 0);
    EXPECT_EQ(back->xsave, r.xsave);
    images::ThreadRegs again;
    to_image(*back, &again);
    EXPECT_EQ(again.SerializeAsString(), m.SerializeAsString());
}

TEST(RegsX86_64, FromImageRefusesMalformedShapes) {
    images::ThreadRegs good;
    to_image(distinctive_regs(), &good);
    struct Case {
        const char *what;
        void (*mutate)(images::X86_64Regs &);
        const char *reason;
    } cases[] = {
        {"fxsave short", [](images::X86_64Regs &x) { x.mutable_fxsave()->pop_back(); }, "fxsave"},
        {"xsave tiny", [](images::X86_64Regs &x) { x.mutable_xsave()->resize(100); }, "xsave"},
        {"compat cs", [](images::X86_64Regs &x) { x.set_cs(0x23); }, "cs"},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(c.what);
        images::ThreadRegs m = good;
        c.mutate(*m.mutable_x86_64());
        auto r = from_image(m);
        ASSERT_FALSE(r.ok());
        EXPECT_NE(r.error().message().find(c.reason), std::string::npos) << r.error().message();
    }
}

TEST(RegsX86_64, SetupSyscallFollowsTheSyscallAbi) {
    ThreadRegs r = distinctive_regs();
    setup_syscall(r, 0x500000, 9, {11, 22, 33, 44, 55, 66});
    EXPECT_EQ(r.gp.rax, 9u);
    EXPECT_EQ(r.gp.rdi, 11u);
    EXPECT_EQ(r.gp.rsi, 22u);
    EXPECT_EQ(r.gp.rdx, 33u);
    EXPECT_EQ(r.gp.r10, 44u);
    EXPECT_EQ(r.gp.r8, 55u);
    EXPECT_EQ(r.gp.r9, 66u);
    EXPECT_EQ(r.gp.rip, 0x500000u);
    EXPECT_EQ(int64_t(r.gp.orig_rax), -1);  // no syscall restart
}

TEST(RegsX86_64, SetupCallPassesTheArgumentInRdi) {
    ThreadRegs r = distinctive_regs();
    r.gp.eflags |= 1 << 10;  // DF set by the interrupted code
    setup_call(r, 0x600000, 0x700000, 0x800000);
    EXPECT_EQ(r.gp.rip, 0x600000u);
    EXPECT_EQ(r.gp.rdi, 0x700000u);
    EXPECT_EQ(r.gp.rsp, 0x800000u);
    EXPECT_EQ(int64_t(r.gp.orig_rax), -1);
    EXPECT_EQ(r.gp.eflags & (1 << 10), 0u);
}

TEST(RegsX86_64, SyscallResultIsRaxSigned) {
    ThreadRegs r{};
    r.gp.rax = uint64_t(-14);
    EXPECT_EQ(syscall_result(r), -14);
}

}  // namespace
}  // namespace stasis::arch

// An image dumped on a CPU whose XSAVE standard format puts a component
// elsewhere (AMD and Intel place PKRU differently) is moved to this CPU's
// offsets; the legacy area and header stay.
TEST(RegsX86_64, XsaveComponentsMoveToThisCpusOffsets) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE)) GTEST_SKIP() << "no XSAVE";
    __cpuid_count(0xd, 2, a, b, c, d);  // AVX: size a at offset b
    if (a == 0) GTEST_SKIP() << "no AVX state";
    const unsigned avx_size = a, avx_here = b;
    __cpuid_count(0xd, 0, a, b, c, d);
    const unsigned here_size = b;
    // Saved: AVX at the end of a larger area.
    const unsigned avx_there = here_size;
    stasis::arch::ThreadRegs r{};
    r.xsave.assign(avx_there + avx_size, 0);
    r.xsave[0] = 0x7f;                              // FCW low byte
    uint64_t bv = 0x7;                              // x87, SSE, AVX in use
    std::memcpy(r.xsave.data() + 512, &bv, 8);
    for (unsigned i = 0; i < avx_size; ++i) r.xsave[avx_there + i] = uint8_t(i * 7 + 1);
    stasis::images::CpuFeatures saved;
    auto *comp = saved.add_xsave_components();
    comp->set_index(2);
    comp->set_offset(avx_there);
    comp->set_size(avx_size);
    ASSERT_TRUE(stasis::arch::adapt_to_this_cpu(saved, r).ok());
    ASSERT_EQ(r.xsave.size(), here_size);
    EXPECT_EQ(r.xsave[0], 0x7f);
    uint64_t bv_after = 0;
    std::memcpy(&bv_after, r.xsave.data() + 512, 8);
    EXPECT_EQ(bv_after, bv);
    for (unsigned i = 0; i < avx_size; ++i) ASSERT_EQ(r.xsave[avx_here + i], uint8_t(i * 7 + 1)) << "byte " << i;
    // A component of another size cannot be moved.
    comp->set_size(avx_size + 16);
    stasis::arch::ThreadRegs r2{};
    r2.xsave.assign(avx_there + avx_size + 16, 0);
    std::memcpy(r2.xsave.data() + 512, &bv, 8);
    EXPECT_FALSE(stasis::arch::adapt_to_this_cpu(saved, r2).ok());
}
