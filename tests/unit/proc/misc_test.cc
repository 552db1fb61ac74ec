#include "common/proc/misc.h"

#include <sys/auxv.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <climits>
#include <cstring>

#include <gtest/gtest.h>

#include "tests/unit/proc/test_support.h"

namespace stasis::proc {
namespace {

uint64_t auxv_value(const std::vector<uint64_t> &auxv, uint64_t type) {
    for (size_t i = 0; i + 1 < auxv.size(); i += 2) {
        if (auxv[i] == type) return auxv[i + 1];
    }
    return 0;
}

// auxv is in the kernel's byte order; the fixture was recorded on a
// little-endian machine, so a big-endian host (s390x) swaps it first.
std::string native_order_auxv(std::string bytes) {
    if (std::endian::native == std::endian::big) {
        for (size_t at = 0; at + 8 <= bytes.size(); at += 8)
            std::reverse(bytes.begin() + at, bytes.begin() + at + 8);
    }
    return bytes;
}

TEST(ParseAuxv, RecordedSixtyFourBitVectorEndsWithAtNull) {
    auto auxv = parse_auxv(native_order_auxv(testing::fixture("auxv_x86_64.bin")), 8);
    ASSERT_TRUE(auxv.ok()) << auxv.error().message();
    ASSERT_GE(auxv->size(), 4u);
    EXPECT_EQ(auxv->size() % 2, 0u);
    EXPECT_EQ(auxv->at(auxv->size() - 2), 0u);
    EXPECT_EQ(auxv_value(*auxv, AT_PAGESZ), 4096u);
    EXPECT_NE(auxv_value(*auxv, AT_ENTRY), 0u);
    EXPECT_NE(auxv_value(*auxv, AT_SYSINFO_EHDR), 0u);
}

TEST(ParseAuxv, ThirtyTwoBitWordsAsOnArm) {
    uint32_t words[] = {AT_PAGESZ, 4096, AT_HWCAP, 0x3fb8d7, AT_NULL, 0};
    auto auxv = parse_auxv(std::string_view(reinterpret_cast<const char *>(words), sizeof(words)), 4);
    ASSERT_TRUE(auxv.ok()) << auxv.error().message();
    EXPECT_EQ(*auxv, (std::vector<uint64_t>{AT_PAGESZ, 4096, AT_HWCAP, 0x3fb8d7, 0, 0}));
}

TEST(ParseAuxv, StopsAtAtNullAndRejectsTornOrUnterminatedVectors) {
    uint64_t words[] = {AT_PAGESZ, 4096, AT_NULL, 0, 0xdead, 0xbeef};
    std::string_view bytes(reinterpret_cast<const char *>(words), sizeof(words));
    auto auxv = parse_auxv(bytes, 8);
    ASSERT_TRUE(auxv.ok());
    EXPECT_EQ(auxv->size(), 4u);
    EXPECT_FALSE(parse_auxv(bytes.substr(0, 16), 8).ok()) << "no AT_NULL";
    EXPECT_FALSE(parse_auxv(bytes.substr(0, 20), 8).ok()) << "half a pair";
    EXPECT_FALSE(parse_auxv("", 8).ok());
    EXPECT_FALSE(parse_auxv(bytes, 3).ok());
}

// --- live -------------------------------------------------------------------

TEST(ReadAuxv, MatchesWhatTheLoaderGaveThisProcess) {
    STASIS_SKIP_IF_EMULATED();
    auto auxv = read_auxv(getpid());
    ASSERT_TRUE(auxv.ok()) << auxv.error().message();
    EXPECT_EQ(auxv_value(*auxv, AT_PAGESZ), getauxval(AT_PAGESZ));
    EXPECT_EQ(auxv_value(*auxv, AT_ENTRY), getauxval(AT_ENTRY));
    EXPECT_EQ(auxv_value(*auxv, AT_PHDR), getauxval(AT_PHDR));
    EXPECT_EQ(auxv_value(*auxv, AT_SYSINFO_EHDR), getauxval(AT_SYSINFO_EHDR));
}

TEST(ReadLinks, CwdRootAndExeOfThisProcess) {
    STASIS_SKIP_IF_EMULATED();
    char cwd[PATH_MAX];
    ASSERT_TRUE(getcwd(cwd, sizeof(cwd)));
    auto got_cwd = read_cwd(getpid());
    ASSERT_TRUE(got_cwd.ok());
    EXPECT_EQ(*got_cwd, cwd);
    auto root = read_root(getpid());
    ASSERT_TRUE(root.ok());
    EXPECT_EQ(*root, "/");
    auto exe = read_exe(getpid());
    ASSERT_TRUE(exe.ok());
    EXPECT_NE(exe->find("stasis_proc_tests"), std::string::npos) << *exe;
}

TEST(ReadComm, SeesTheNameThisThreadSetItself) {
    STASIS_SKIP_IF_EMULATED();
    char old[17] = {};
    prctl(PR_GET_NAME, old);
    prctl(PR_SET_NAME, "proc test x)");
    auto comm = read_comm(getpid(), static_cast<pid_t>(gettid()));
    prctl(PR_SET_NAME, old);
    ASSERT_TRUE(comm.ok());
    EXPECT_EQ(*comm, "proc test x)");
}

}  // namespace
}  // namespace stasis::proc
