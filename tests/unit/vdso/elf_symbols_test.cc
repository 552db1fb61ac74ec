#include "vdso/elf_symbols.h"

#include <elf.h>
#include <sys/auxv.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace stasis::vdso {
namespace {

std::vector<uint8_t> read_fixture(const std::string &name) {
    std::ifstream in(std::string(STASIS_ELF_FIXTURES_DIR) + "/" + name, std::ios::binary);
    EXPECT_TRUE(in.good()) << "missing fixture " << name;
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// The symbols every crafted fixture defines (make_fixtures.py): undefined and
// SHN_ABS version symbols are left out.
void expect_crafted_symbols(const ElfSymbols &elf, uint64_t base) {
    std::vector<std::string> names;
    for (const auto &s : elf.symbols) names.push_back(s.name);
    EXPECT_EQ(names, (std::vector<std::string>{"__vdso_clock_gettime", "__vdso_gettimeofday", "__vdso_time",
                                               "clock_gettime", "__vdso_getcpu"}));
    const ElfSymbol *gettime = elf.find("__vdso_clock_gettime");
    ASSERT_NE(gettime, nullptr);
    EXPECT_EQ(gettime->version, "LINUX_2.6");
    EXPECT_EQ(gettime->type, STT_FUNC);
    EXPECT_EQ(gettime->binding, STB_GLOBAL);
    EXPECT_EQ(gettime->size, 48u);
    EXPECT_EQ(gettime->value, base + gettime->offset);
    const ElfSymbol *alias = elf.find("clock_gettime");
    ASSERT_NE(alias, nullptr);
    EXPECT_EQ(alias->binding, STB_WEAK);
    EXPECT_EQ(alias->offset, gettime->offset);
    EXPECT_EQ(elf.find("abort"), nullptr);
    EXPECT_EQ(elf.find("LINUX_2.6"), nullptr);
    EXPECT_EQ(elf.build_id, "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3");
}

struct CraftedCase {
    const char *file;
    ElfClass elf_class;
    ByteOrder order;
    uint16_t machine;
    uint64_t base;
};

class CraftedFixture : public testing::TestWithParam<CraftedCase> {};

TEST_P(CraftedFixture, ReadsEveryDefinedSymbolWithVersionAndOffset) {
    const CraftedCase &c = GetParam();
    auto bytes = read_fixture(c.file);
    auto elf = parse_elf_symbols(bytes);
    ASSERT_TRUE(elf.ok()) << elf.error().message();
    EXPECT_EQ(elf->elf_class, c.elf_class);
    EXPECT_EQ(elf->byte_order, c.order);
    EXPECT_EQ(elf->machine, c.machine);
    EXPECT_EQ(elf->load_bias, c.base);
    expect_crafted_symbols(*elf, c.base);
}

INSTANTIATE_TEST_SUITE_P(
    BothClassesBothByteOrders, CraftedFixture,
    testing::Values(CraftedCase{"good-elf64-le-x86_64.so", ElfClass::elf64, ByteOrder::little, EM_X86_64, 0},
                    // DT_HASH only, with 64-bit s390's 8-byte hash words
                    CraftedCase{"good-elf64-be-s390x.so", ElfClass::elf64, ByteOrder::big, EM_S390, 0},
                    CraftedCase{"good-elf32-le-arm.so", ElfClass::elf32, ByteOrder::little, EM_ARM, 0},
                    // DT_GNU_HASH only, linked at 0x100000
                    CraftedCase{"good-elf32-be-ppc.so", ElfClass::elf32, ByteOrder::big, EM_PPC, 0x100000}),
    [](const testing::TestParamInfo<CraftedCase> &info) {
        std::string name = info.param.file;
        for (char &ch : name)
            if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
        return name;
    });

struct RealCase {
    const char *file;
    ElfClass elf_class;
    ByteOrder order;
    uint16_t machine;
};

class LinkerMadeFixture : public testing::TestWithParam<RealCase> {};

TEST_P(LinkerMadeFixture, ReadsSymbolsGnuLdWrote) {
    const RealCase &c = GetParam();
    auto bytes = read_fixture(c.file);
    auto elf = parse_elf_symbols(bytes);
    ASSERT_TRUE(elf.ok()) << elf.error().message();
    EXPECT_EQ(elf->elf_class, c.elf_class);
    EXPECT_EQ(elf->byte_order, c.order);
    EXPECT_EQ(elf->machine, c.machine);
    EXPECT_EQ(elf->symbols.size(), 3u);
    for (const char *name : {"__kernel_clock_gettime", "__kernel_gettimeofday", "__kernel_getcpu"}) {
        const ElfSymbol *s = elf->find(name);
        ASSERT_NE(s, nullptr) << name;
        EXPECT_EQ(s->version, "LINUX_2.6.29");
        EXPECT_EQ(s->type, STT_FUNC);
        EXPECT_GT(s->size, 0u);
        EXPECT_LT(s->offset + s->size, bytes.size());
    }
    EXPECT_EQ(elf->build_id.size(), 40u);  // --build-id=sha1
}

INSTANTIATE_TEST_SUITE_P(
    CrossToolchains, LinkerMadeFixture,
    testing::Values(RealCase{"real-s390x-sysv-hash.so", ElfClass::elf64, ByteOrder::big, EM_S390},
                    RealCase{"real-arm-sysv-hash.so", ElfClass::elf32, ByteOrder::little, EM_ARM},
                    RealCase{"real-aarch64-gnu-hash.so", ElfClass::elf64, ByteOrder::little, EM_AARCH64},
                    RealCase{"real-ppc64le-both-hashes.so", ElfClass::elf64, ByteOrder::little, EM_PPC64}),
    [](const testing::TestParamInfo<RealCase> &info) {
        std::string name = info.param.file;
        for (char &ch : name)
            if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
        return name;
    });

struct BadCase {
    const char *file;
    const char *reason;  // part of the expected error message
};

class MalformedFixture : public testing::TestWithParam<BadCase> {};

TEST_P(MalformedFixture, IsRefusedWithTheReason) {
    auto bytes = read_fixture(GetParam().file);
    auto elf = parse_elf_symbols(bytes);
    ASSERT_FALSE(elf.ok());
    EXPECT_NE(elf.error().message().find("malformed ELF image"), std::string::npos) << elf.error().message();
    EXPECT_NE(elf.error().message().find(GetParam().reason), std::string::npos) << elf.error().message();
}

INSTANTIATE_TEST_SUITE_P(HandCrafted, MalformedFixture,
                         testing::Values(BadCase{"bad-truncated-header.so", "truncated ELF header"},
                                         BadCase{"bad-magic.so", "no ELF magic"},
                                         BadCase{"bad-phoff-past-end.so", "program headers"},
                                         BadCase{"bad-no-program-headers.so", "e_phnum 0"},
                                         BadCase{"bad-dynamic-outside-image.so", "outside the image"},
                                         BadCase{"bad-symtab-outside-load.so", "DT_SYMTAB"},
                                         BadCase{"bad-string-unterminated.so", "not terminated"},
                                         BadCase{"bad-gnu-hash-bucket-past-end.so", "DT_GNU_HASH chain"},
                                         BadCase{"bad-symbol-outside-image.so", "lies outside the image"},
                                         BadCase{"bad-verdef-next-past-end.so", "DT_VERDEF"}),
                         [](const testing::TestParamInfo<BadCase> &info) {
                             std::string name = info.param.file;
                             for (char &ch : name)
                                 if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                             return name;
                         });

TEST(ElfSymbols, EmptyInputIsRefused) { EXPECT_FALSE(parse_elf_symbols({}).ok()); }

// Every prefix of a good image either parses into symbols that lie inside the
// prefix or is refused; none may read past its end (ASan/valgrind would say).
TEST(ElfSymbols, EveryTruncationIsRefusedOrStaysInBounds) {
    for (const char *file : {"good-elf64-le-x86_64.so", "good-elf32-be-ppc.so", "real-s390x-sysv-hash.so"}) {
        auto bytes = read_fixture(file);
        for (size_t len = 0; len < bytes.size(); len++) {
            std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + len);
            auto elf = parse_elf_symbols(prefix);
            if (!elf.ok()) continue;
            for (const auto &s : elf->symbols) EXPECT_LE(s.offset + s.size, len) << file << " cut at " << len;
        }
    }
}

// Corrupting any single byte must never crash the parser.
TEST(ElfSymbols, SingleByteCorruptionNeverCrashes) {
    for (const char *file : {"good-elf64-le-x86_64.so", "good-elf64-be-s390x.so", "good-elf32-le-arm.so"}) {
        auto bytes = read_fixture(file);
        for (size_t i = 0; i < bytes.size(); i++) {
            for (uint8_t value : {uint8_t(0x00), uint8_t(0xff), uint8_t(bytes[i] ^ 0x80)}) {
                auto copy = bytes;
                copy[i] = value;
                auto elf = parse_elf_symbols(copy);
                if (!elf.ok()) continue;
                for (const auto &s : elf->symbols) EXPECT_LE(s.offset + s.size, copy.size());
            }
        }
    }
}

// The running kernel's own vDSO (skipped where there is none, e.g. qemu-user).
TEST(ElfSymbols, ReadsTheRunningKernelsVdso) {
    const unsigned long base = getauxval(AT_SYSINFO_EHDR);
    if (base == 0) GTEST_SKIP() << "no vDSO in this process";
    size_t size = 0;
    if (FILE *maps = std::fopen("/proc/self/maps", "r")) {
        char line[512];
        while (std::fgets(line, sizeof line, maps)) {
            unsigned long start = 0, end = 0;
            if (std::sscanf(line, "%lx-%lx", &start, &end) == 2 && start == base) size = end - start;
        }
        std::fclose(maps);
    }
    if (size == 0) GTEST_SKIP() << "vDSO not listed in /proc/self/maps (emulated?)";
    auto elf = parse_elf_symbols({reinterpret_cast<const uint8_t *>(base), size});
    ASSERT_TRUE(elf.ok()) << elf.error().message();
    bool has_clock_gettime = false;
    for (const auto &s : elf->symbols) {
        if (s.name.ends_with("clock_gettime")) has_clock_gettime = true;
        EXPECT_LE(s.offset + s.size, size);
    }
    EXPECT_TRUE(has_clock_gettime);
}

}  // namespace
}  // namespace stasis::vdso
