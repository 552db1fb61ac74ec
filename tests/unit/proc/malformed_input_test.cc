// Hostile input: every parser gets broken text and must answer with a clear
// error (which line, what was wrong), never a crash or a silent half-result.
#include <random>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "common/proc/fdinfo.h"
#include "common/proc/maps.h"
#include "common/proc/misc.h"
#include "common/proc/stat.h"
#include "common/proc/status.h"
#include "common/proc/tasks.h"
#include "common/proc/timers.h"
#include "tests/unit/proc/test_support.h"

namespace stasis::proc {
namespace {

struct BadInput {
    const char *what;
    std::string text;
    const char *message;  // expected substring of the error
};

void PrintTo(const BadInput &b, std::ostream *os) { *os << b.what; }

constexpr const char *kGoodHeader = "7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n";

class MalformedMaps : public ::testing::TestWithParam<BadInput> {};

TEST_P(MalformedMaps, IsRejectedWithLineAndReason) {
    const BadInput &b = GetParam();
    auto r = parse_smaps(b.text);
    ASSERT_FALSE(r.ok()) << b.what;
    EXPECT_NE(r.error().message().find(b.message), std::string::npos) << r.error().message();
    EXPECT_EQ(r.error().sys_errno(), EINVAL);
}

INSTANTIATE_TEST_SUITE_P(
    Smaps, MalformedMaps,
    ::testing::Values(
        BadInput{"no dash", "7f00000000007f0000001000 rw-p 0 00:00 0\n", "line 1: bad address range"},
        BadInput{"bad hex", "7f00000g0000-7f0000001000 rw-p 0 00:00 0\n", "bad address range"},
        BadInput{"address too big", "1ffffffffffffffff-2ffffffffffffffff rw-p 0 00:00 0\n",
                 "bad address range"},
        BadInput{"inverted range", "2000-1000 rw-p 0 00:00 0\n", "inverted"},
        BadInput{"empty range", "1000-1000 rw-p 0 00:00 0\n", "inverted"},
        BadInput{"perms too short", "1000-2000 rw- 0 00:00 0\n", "bad permissions"},
        BadInput{"perms letter", "1000-2000 rwzp 0 00:00 0\n", "bad permissions"},
        BadInput{"truncated after perms", "1000-2000 rw-p\n", "bad offset"},
        BadInput{"device without colon", "1000-2000 rw-p 0 0000 0\n", "bad device"},
        BadInput{"missing inode", "1000-2000 rw-p 0 00:00\n", "bad inode"},
        BadInput{"negative inode", "1000-2000 rw-p 0 00:00 -1\n", "bad inode"},
        BadInput{"overlap", "1000-3000 rw-p 0 00:00 0\n2000-4000 rw-p 0 00:00 0\n",
                 "line 2: mapping overlaps"},
        BadInput{"field first", "Rss: 4 kB\n", "line 1: field before any mapping header"},
        BadInput{"bad size", std::string(kGoodHeader) + "Rss:   4x kB\n", "line 2: bad size field"},
        BadInput{"huge size", std::string(kGoodHeader) + "Swap: 99999999999999999999999 kB\n",
                 "bad size field"},
        BadInput{"wrong unit", std::string(kGoodHeader) + "Anonymous: 4 MB\n", "bad size field"},
        BadInput{"empty line", std::string(kGoodHeader) + "\n", "line 2: bad address range"},
        BadInput{"binary junk", std::string("\x01\x02\xff\n", 4), "'\\x01\\x02\\xff'"}));

TEST(MalformedMaps, LongGarbageIsQuotedShortInTheError) {
    auto r = parse_maps(std::string(10000, 'z'));
    ASSERT_FALSE(r.ok());
    EXPECT_LT(r.error().message().size(), 200u);
}

TEST(MalformedStat, MissingParenthesesFieldsOrNumbersAreErrors) {
    std::string full = "5 (x) S 1 5 5 0 -1 0";
    for (int i = 0; i < 44; ++i) full += " 0";
    ASSERT_TRUE(parse_stat(full).ok());
    EXPECT_NE(parse_stat("5 x S 1").error().message().find("no '(comm)'"), std::string::npos);
    EXPECT_NE(parse_stat("5 (x) S 1 5 5").error().message().find("only 6 of 52 fields"), std::string::npos);
    EXPECT_NE(parse_stat("(x)" + full.substr(1)).error().message().find("bad pid"), std::string::npos);
    std::string bad_ppid = full;
    bad_ppid.replace(bad_ppid.find(" 1 "), 3, " q ");
    EXPECT_NE(parse_stat(bad_ppid).error().message().find("bad ppid 'q'"), std::string::npos);
    std::string long_state = full;
    long_state.replace(long_state.find(" S "), 3, " SS ");
    EXPECT_NE(parse_stat(long_state).error().message().find("bad state"), std::string::npos);
    EXPECT_FALSE(parse_stat("").ok());
    EXPECT_FALSE(parse_stat(")5 (").ok());
}

TEST(MalformedStatus, BadValuesNameTheKeyAndLine) {
    std::string base =
        "Name:\tx\nState:\tS\nTgid:\t1\nPid:\t1\nPPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n";
    ASSERT_TRUE(parse_status(base).ok());
    EXPECT_NE(parse_status(base + "SigBlk:\tzz\n").error().message().find("line 8: bad SigBlk value"),
              std::string::npos);
    EXPECT_NE(parse_status(base + "CapEff:\t1ffffffffffffffff\n").error().message().find("bad CapEff"),
              std::string::npos);
    EXPECT_NE(parse_status(base + "Uid:\t0\t0\t0\n").error().message().find("bad Uid"), std::string::npos);
    EXPECT_NE(parse_status(base + "NoNewPrivs:\t2\n").error().message().find("bad NoNewPrivs"),
              std::string::npos);
    EXPECT_NE(parse_status(base + "SigQ:\t3\n").error().message().find("bad SigQ"), std::string::npos);
    EXPECT_NE(parse_status(base + "no colon here\n").error().message().find("line 8: expected 'Key: value'"),
              std::string::npos);
    EXPECT_NE(parse_status("Name:\tx\n").error().message().find("missing 'State:' line"), std::string::npos);
    EXPECT_NE(parse_status(base + "Pid:\t-\n").error().message().find("bad Pid"), std::string::npos);
}

TEST(MalformedFdinfo, MissingCommonFieldsOrBadNumbersAreErrors) {
    EXPECT_NE(parse_fdinfo("flags:\t02\nmnt_id:\t1\n").error().message().find("missing 'pos:'"),
              std::string::npos);
    EXPECT_NE(parse_fdinfo("pos:\t0\nmnt_id:\t1\n").error().message().find("missing 'flags:'"),
              std::string::npos);
    EXPECT_NE(parse_fdinfo("pos:\t0\nflags:\t02\n").error().message().find("missing 'mnt_id:'"),
              std::string::npos);
    EXPECT_NE(parse_fdinfo("pos:\t0\nflags:\t09\nmnt_id:\t1\n").error().message().find("line 2: bad flags"),
              std::string::npos)
        << "flags are octal";
    EXPECT_NE(parse_fdinfo("pos:\tx\nflags:\t0\nmnt_id:\t1\n").error().message().find("bad pos"),
              std::string::npos);
    EXPECT_NE(parse_fdinfo("pos:\t0\nflags:\t0\nmnt_id:\t1\ngarbage\n").error().message().find("line 4"),
              std::string::npos);
}

// Every prefix of every fixture (a read cut short anywhere) and random byte
// damage: the parsers may accept or refuse, but must neither crash nor hang.
template <typename Parse>
void survive_damage(const std::string &good, Parse parse) {
    for (size_t len = 0; len <= good.size(); len += 1 + len / 64)
        (void)parse(std::string_view(good).substr(0, len));
    std::mt19937 rng(1234);
    for (int round = 0; round < 300 && !good.empty(); ++round) {
        std::string damaged = good;
        for (int i = 0; i < 4; ++i) damaged[rng() % damaged.size()] = static_cast<char>(rng() & 0xff);
        (void)parse(damaged);
    }
}

TEST(DamagedFixtures, NeverCrashAnyParser) {
    using testing::fixture;
    survive_damage(fixture("smaps_x86_64_6.18.txt"), parse_smaps);
    survive_damage(fixture("maps_x86_64_6.18.txt"), parse_maps);
    survive_damage(fixture("stat_comm_with_parens.txt"), parse_stat);
    survive_damage(fixture("status_x86_64_6.18.txt"), parse_status);
    survive_damage(fixture("fdinfo_epoll.txt"), parse_fdinfo);
    survive_damage(fixture("fdinfo_inotify.txt"), [](std::string_view t) {
        auto r = parse_fdinfo(t);
        if (r.ok()) {
            for (const auto &e : r->entries) (void)split_fdinfo_entry(e);
        }
        return r.ok();
    });
    survive_damage(fixture("timers.txt"), parse_timers);
    survive_damage(fixture("auxv_x86_64.bin"), [](std::string_view t) { return parse_auxv(t, 8).ok(); });
    survive_damage("1 2 3 4\n", parse_pid_list);
}

TEST(DamagedFixtures, CutShortSmapsFailsOnlyInsideALine) {
    // A prefix that ends at a line boundary is a valid (shorter) smaps; one
    // that ends inside a header line is refused. No third outcome.
    std::string good = testing::fixture("smaps_x86_64_6.18.txt");
    size_t cut = good.find('\n', good.size() / 2) + 1;
    EXPECT_TRUE(parse_smaps(std::string_view(good).substr(0, cut)).ok());
    size_t next_header = good.find("\n7f", cut) + 1;
    EXPECT_FALSE(parse_smaps(std::string_view(good).substr(0, next_header + 20)).ok());
}

}  // namespace
}  // namespace stasis::proc
