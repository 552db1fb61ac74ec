// `stasis check`'s pure parts: special-mapping discovery from recorded
// /proc/PID/maps text, and the table and JSON renderings.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "common/check/check.h"

namespace stasis::check {
namespace {

// x86_64, kernel 6.18: [vvar_vclock] (6.13+) sits between [vvar] and [vdso].
constexpr const char *kX86Maps =
    "55d0c8a00000-55d0c8a28000 r--p 00000000 08:01 1311 /usr/bin/cat\n"
    "55d0c9b8e000-55d0c9baf000 rw-p 00000000 00:00 0                          [heap]\n"
    "7f1e2c000000-7f1e2c021000 rw-p 00000000 00:00 0                          [anon:glibc: malloc arena]\n"
    "7ffd4f2f1000-7ffd4f312000 rw-p 00000000 00:00 0                          [stack]\n"
    "7ffd4f3bd000-7ffd4f3c1000 r--p 00000000 00:00 0                          [vvar]\n"
    "7ffd4f3c1000-7ffd4f3c3000 r--p 00000000 00:00 0                          [vvar_vclock]\n"
    "7ffd4f3c3000-7ffd4f3c5000 r-xp 00000000 00:00 0                          [vdso]\n"
    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";

// armhf, kernel 6.1: [sigpage] and [vectors] besides [vvar] and [vdso];
// listed out of address order on purpose.
constexpr const char *kArmMaps =
    "ffff0000-ffff1000 r-xp 00000000 00:00 0          [vectors]\n"
    "b6f9e000-b6f9f000 r-xp 00000000 00:00 0          [sigpage]\n"
    "b6f9f000-b6fa0000 r--p 00000000 00:00 0          [vvar]\n"
    "b6fa0000-b6fa1000 r-xp 00000000 00:00 0          [vdso]\n";

TEST(SpecialMappings, FoundByNameInAddressOrderWithSizes) {
    VdsoReport r = parse_special_mappings(kX86Maps);
    ASSERT_EQ(r.mappings.size(), 4u);
    EXPECT_EQ(r.mappings[0].name, "[vvar]");
    EXPECT_EQ(r.mappings[0].end - r.mappings[0].start, 0x4000u);
    EXPECT_EQ(r.mappings[1].name, "[vvar_vclock]");
    EXPECT_EQ(r.mappings[1].end - r.mappings[1].start, 0x2000u);
    EXPECT_EQ(r.mappings[2].name, "[vdso]");
    EXPECT_EQ(r.mappings[2].start, 0x7ffd4f3c3000u);
    EXPECT_EQ(r.mappings[3].name, "[vsyscall]");
    EXPECT_EQ(r.mappings[3].start, 0xffffffffff600000u);
    EXPECT_TRUE(r.unknown.empty());
}

TEST(SpecialMappings, ArmSigpageAndVectorsAreKnown) {
    VdsoReport r = parse_special_mappings(kArmMaps);
    ASSERT_EQ(r.mappings.size(), 4u);
    EXPECT_EQ(r.mappings[0].name, "[sigpage]");
    EXPECT_EQ(r.mappings[1].name, "[vvar]");
    EXPECT_EQ(r.mappings[2].name, "[vdso]");
    EXPECT_EQ(r.mappings[3].name, "[vectors]");
    EXPECT_TRUE(r.unknown.empty());
}

TEST(SpecialMappings, UnknownBracketedNamesAreReportedByName) {
    VdsoReport r = parse_special_mappings(
        "7f0000000000-7f0000001000 r--p 00000000 00:00 0   [vdso_data_future]\n"
        "7f0000001000-7f0000002000 rw-p 00000000 00:00 0   [anon_shmem:db]\n"
        "7f0000002000-7f0000003000 rw-p 00000000 00:00 0   [stack:1234]\n");
    ASSERT_EQ(r.unknown.size(), 1u);
    EXPECT_EQ(r.unknown[0], "[vdso_data_future]");
    EXPECT_TRUE(r.mappings.empty());
}

TEST(SpecialMappings, MalformedLinesAreSkipped) {
    VdsoReport r = parse_special_mappings(
        "zzzz-7f00 r--p 00000000 00:00 0 [vdso]\n"
        "7f0000002000-7f0000001000 r--p 00000000 00:00 0 [vdso]\n"
        "7f0000001000 r--p 00000000 00:00 0 [vdso]\n"
        "\n"
        "garbage\n"
        "7f0000001000-7f0000002000 r--p");
    EXPECT_TRUE(r.mappings.empty());
    EXPECT_TRUE(r.unknown.empty());
}

TEST(SpecialMappings, PathsWithBracketsAreFilesNotSpecialMappings) {
    VdsoReport r = parse_special_mappings("7f0000000000-7f0000001000 r--p 00000000 08:01 99 /tmp/[vdso]\n");
    EXPECT_TRUE(r.mappings.empty());
    EXPECT_TRUE(r.unknown.empty());
}

Report sample_report() {
    Report r;
    r.page_size = 4096;
    r.elapsed_ms = 3.5;
    r.dirty_tracking = DirtyTracking::soft_dirty;
    r.features.push_back(
        {"clone3-set-tid", Outcome::missing, true, "restoring PIDs", "says \"no\"\n\tand\x01"});
    r.features.push_back({"soft-dirty", Outcome::ok, false, "pre-dump", "fine"});
    r.vdso = parse_special_mappings(kX86Maps);
    return r;
}

TEST(Report, NamesTheFirstMissingRequiredFeature) {
    Report r = sample_report();
    ASSERT_NE(r.first_missing_required(), nullptr);
    EXPECT_EQ(r.first_missing_required()->name, "clone3-set-tid");
    r.features[0].outcome = Outcome::warn;
    EXPECT_EQ(r.first_missing_required(), nullptr);
}

TEST(Report, TableSaysWhetherCheckpointRestoreCanWork) {
    const std::string table = render_table(sample_report());
    EXPECT_NE(table.find("clone3-set-tid"), std::string::npos);
    EXPECT_NE(table.find("[required]"), std::string::npos);
    EXPECT_NE(table.find("[vvar_vclock]"), std::string::npos);
    EXPECT_NE(table.find("dirty tracking for pre-dump: soft-dirty"), std::string::npos);
    EXPECT_NE(table.find("CANNOT work here: clone3-set-tid is missing"), std::string::npos);
}

TEST(Report, JsonEscapesTextAndKeepsAddressesExact) {
    const std::string json = render_json(sample_report());
    EXPECT_NE(json.find("\"can_checkpoint_restore\": false"), std::string::npos);
    EXPECT_NE(json.find("\"missing_required\": \"clone3-set-tid\""), std::string::npos);
    EXPECT_NE(json.find(R"(says \"no\"\n\tand\u0001)"), std::string::npos) << json;
    // 0xffffffffff600000 does not fit a JSON number exactly: it is a string.
    EXPECT_NE(json.find("\"start\": \"0xffffffffff600000\""), std::string::npos);
    EXPECT_EQ(std::count(json.begin(), json.end(), '{'), std::count(json.begin(), json.end(), '}'));
    EXPECT_EQ(std::count(json.begin(), json.end(), '['), std::count(json.begin(), json.end(), ']'));
}

TEST(Report, EveryFeatureHasAStableName) {
    const auto names = feature_names();
    EXPECT_GE(names.size(), 20u);
    for (const auto &n : names) {
        EXPECT_FALSE(n.empty());
        EXPECT_EQ(n.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-"), std::string::npos) << n;
    }
    EXPECT_FALSE(run_one("no-such-feature").ok());
}

}  // namespace
}  // namespace stasis::check
