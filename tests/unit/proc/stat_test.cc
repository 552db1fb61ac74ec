#include "common/proc/stat.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/unit/proc/test_support.h"

namespace stasis::proc {
namespace {

TEST(ParseStat, CommWithBlanksAndParenthesesEndsAtTheLastParenthesis) {
    auto s = parse_stat(testing::fixture("stat_comm_with_parens.txt"));
    ASSERT_TRUE(s.ok()) << s.error().message();
    EXPECT_EQ(s->comm, "a) b (c)");
    EXPECT_EQ(s->state, 'R');
    EXPECT_GT(s->pid, 0);
    EXPECT_GT(s->ppid, 0);
    EXPECT_EQ(s->num_threads, 1);
    EXPECT_EQ(s->nice, 0);
    EXPECT_EQ(s->priority, 20);
    EXPECT_EQ(s->exit_signal, 17);  // SIGCHLD on x86
    EXPECT_EQ(s->rsslim, 18446744073709551615ull) << "RLIM_INFINITY fits";
    EXPECT_LT(s->start_code, s->end_code);
    EXPECT_LT(s->start_data, s->end_data);
    EXPECT_LT(s->arg_start, s->arg_end);
    EXPECT_LE(s->arg_end, s->env_start);
    EXPECT_LT(s->env_start, s->env_end);
    EXPECT_EQ(s->exit_code, 0);
}

TEST(ParseStat, CommMayContainANewline) {
    std::string text = "77 (two\nlines) S 1 77 77 0 -1 4194560";
    for (int i = 0; i < 44; ++i) text += " 0";
    text += '\n';
    auto s = parse_stat(text);
    ASSERT_TRUE(s.ok()) << s.error().message();
    EXPECT_EQ(s->comm, "two\nlines");
    EXPECT_EQ(s->pid, 77);
    EXPECT_EQ(s->session, 77);
    EXPECT_EQ(s->tty_nr, 0);
    EXPECT_EQ(s->tpgid, -1);
    EXPECT_EQ(s->flags, 4194560u);
}

TEST(ParseStat, NewerKernelsExtraFieldsAreIgnored) {
    std::string text = "5 (x) S 1 5 5 0 -1 0";
    for (int i = 0; i < 44 + 3; ++i) text += " 7";
    auto s = parse_stat(text);
    ASSERT_TRUE(s.ok()) << s.error().message();
    EXPECT_EQ(s->exit_code, 7);
}

TEST(ReadStat, ReportsThisProcessAndThisThread) {
    STASIS_SKIP_IF_EMULATED();
    auto s = read_stat(getpid());
    ASSERT_TRUE(s.ok()) << s.error().message();
    EXPECT_EQ(s->pid, getpid());
    EXPECT_EQ(s->ppid, getppid());
    EXPECT_EQ(s->pgrp, getpgrp());
    EXPECT_EQ(s->session, getsid(0));
    EXPECT_EQ(s->state, 'R');
    auto code = reinterpret_cast<uintptr_t>(&read_stat);
    EXPECT_LE(s->start_code, code);
    EXPECT_LT(code, s->end_code);

    auto t = read_stat(getpid(), static_cast<pid_t>(gettid()));
    ASSERT_TRUE(t.ok()) << t.error().message();
    EXPECT_EQ(t->pid, gettid());
    EXPECT_EQ(t->start_code, s->start_code);
}

}  // namespace
}  // namespace stasis::proc
