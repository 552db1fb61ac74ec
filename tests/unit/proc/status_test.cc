#include "common/proc/status.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/unit/proc/test_support.h"

namespace stasis::proc {
namespace {

TEST(ParseStatus, RecordedStatusGivesIdsSignalsAndCapabilities) {
    auto s = parse_status(testing::fixture("status_x86_64_6.18.txt"));
    ASSERT_TRUE(s.ok()) << s.error().message();
    EXPECT_EQ(s->name, "a) b (c)");
    EXPECT_EQ(s->umask, 022u);
    EXPECT_EQ(s->state, 'R');
    EXPECT_EQ(s->tgid, s->pid);
    EXPECT_GT(s->ppid, 0);
    EXPECT_EQ(s->tracer_pid, 0);
    EXPECT_EQ(s->uid, (std::array<uint32_t, 4>{0, 0, 0, 0}));
    EXPECT_TRUE(s->groups.empty());
    ASSERT_EQ(s->ns_pid.size(), 1u);
    EXPECT_EQ(s->ns_pid[0], s->pid);
    EXPECT_EQ(s->ns_tgid, s->ns_pid);
    EXPECT_EQ(s->threads, 1);
    EXPECT_GT(s->sigq_limit, 0u);
    EXPECT_EQ(s->cap_effective, s->cap_permitted);
    EXPECT_NE(s->cap_bounding, 0u);
    EXPECT_EQ(s->cap_ambient, 0u);
    EXPECT_EQ(s->no_new_privs, false);
    EXPECT_EQ(s->seccomp, 0);
    EXPECT_EQ(s->seccomp_filters, 0);
    EXPECT_TRUE(s->thp_enabled.has_value());
    EXPECT_EQ(s->kernel_thread, false);
    EXPECT_FALSE(s->speculation_store_bypass.empty());
}

TEST(ParseStatus, OldKernelWithoutNewerKeysLeavesThemUnset) {
    auto s = parse_status(
        "Name:\tdaemon\nState:\tS (sleeping)\nTgid:\t10\nPid:\t11\nPPid:\t1\nTracerPid:\t0\n"
        "Uid:\t1000\t1001\t1002\t1003\nGid:\t5\t6\t7\t8\nGroups:\t5 27 100 \nSigBlk:\t0000000000010000\n");
    ASSERT_TRUE(s.ok()) << s.error().message();
    EXPECT_EQ(s->pid, 11);
    EXPECT_EQ(s->uid[3], 1003u);
    EXPECT_EQ(s->gid[1], 6u);
    EXPECT_EQ(s->groups, (std::vector<uint32_t>{5, 27, 100}));
    EXPECT_EQ(s->sig_blocked, 1ull << 16);
    EXPECT_FALSE(s->umask.has_value());
    EXPECT_FALSE(s->cap_ambient.has_value());
    EXPECT_FALSE(s->seccomp.has_value());
    EXPECT_FALSE(s->core_dumping.has_value());
    EXPECT_TRUE(s->ns_pid.empty());
}

TEST(ParseStatus, EscapedNameIsRestoredAndUnknownKeysIgnored) {
    auto s = parse_status(
        "Name:\t a\\nb\\\\c \nFuture_key:\twhatever: with colons\nState:\tI (idle)\nTgid:\t2\nPid:\t2\n"
        "PPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nNSpid:\t300\t1\n");
    ASSERT_TRUE(s.ok()) << s.error().message();
    EXPECT_EQ(s->name, " a\nb\\c ");
    EXPECT_EQ(s->state, 'I');
    EXPECT_EQ(s->ns_pid, (std::vector<pid_t>{300, 1}));
}

TEST(ReadStatus, SeesTheSignalThisThreadBlocks) {
    STASIS_SKIP_IF_EMULATED();
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &block, &old), 0);
    auto s = read_status(getpid(), static_cast<pid_t>(gettid()));
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    ASSERT_TRUE(s.ok()) << s.error().message();
    EXPECT_TRUE(s->sig_blocked & (1ull << (SIGUSR2 - 1)));
    EXPECT_EQ(s->pid, gettid());
    EXPECT_EQ(s->tgid, getpid());
    EXPECT_EQ(s->uid[0], getuid());
    EXPECT_EQ(s->gid[1], getegid());
}

}  // namespace
}  // namespace stasis::proc
