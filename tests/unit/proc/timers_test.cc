#include "common/proc/timers.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/unit/proc/test_support.h"

namespace stasis::proc {
namespace {

TEST(ParseTimers, RecordedTimersOfEveryNotifyKind) {
    auto timers = parse_timers(testing::fixture("timers.txt"));
    ASSERT_TRUE(timers.ok()) << timers.error().message();
    ASSERT_EQ(timers->size(), 3u);
    const PosixTimerInfo &by_tid = (*timers)[0];
    EXPECT_EQ(by_tid.id, 2);
    EXPECT_EQ(by_tid.signal, SIGUSR2);
    EXPECT_EQ(by_tid.notify, "signal");
    EXPECT_TRUE(by_tid.notify_thread_id);
    EXPECT_GT(by_tid.notify_tid, 0);
    EXPECT_EQ(by_tid.clock_id, CLOCK_BOOTTIME);
    const PosixTimerInfo &none = (*timers)[1];
    EXPECT_EQ(none.notify, "none");
    EXPECT_FALSE(none.notify_thread_id);
    EXPECT_EQ(none.clock_id, CLOCK_REALTIME);
    const PosixTimerInfo &by_signal = (*timers)[2];
    EXPECT_EQ(by_signal.signal, SIGALRM);
    EXPECT_EQ(by_signal.sigev_value, 0x7ffd2a1c3e40u);
    EXPECT_EQ(by_signal.clock_id, CLOCK_MONOTONIC);
}

TEST(ParseTimers, NoTimersIsAnEmptyList) {
    auto timers = parse_timers("");
    ASSERT_TRUE(timers.ok());
    EXPECT_TRUE(timers->empty());
}

TEST(ParseTimers, CutShortOrReorderedTimersAreErrors) {
    EXPECT_FALSE(parse_timers("ID: 0\nsignal: 14/0\n").ok());
    EXPECT_FALSE(parse_timers("signal: 14/0\nID: 0\nnotify: signal/pid.1\nClockID: 0\n").ok());
    EXPECT_FALSE(parse_timers("ID: 0\nsignal: 14/0\nnotify: bogus/pid.1\nClockID: 0\n").ok());
    EXPECT_FALSE(parse_timers("ID: 0\nsignal: 14/0\nnotify: signal/gid.1\nClockID: 0\n").ok());
    EXPECT_FALSE(parse_timers("ID: 0\nsignal: 14\nnotify: signal/pid.1\nClockID: 0\n").ok());
    EXPECT_TRUE(parse_timers("ID: 0\nsignal: 14/0x10\nnotify: thread/pid.1\nClockID: 0\n").ok());
}

TEST(ReadTimers, SeesATimerThisProcessCreated) {
    STASIS_SKIP_IF_EMULATED();
    struct sigevent sev {};
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGRTMIN + 2;
    sev.sigev_value.sival_int = 0x5eed;
    timer_t timer;
    ASSERT_EQ(timer_create(CLOCK_MONOTONIC, &sev, &timer), 0);
    auto timers = read_timers(getpid());
    timer_delete(timer);
    if (!timers.ok() && timers.error().sys_errno() == ENOENT) {
        GTEST_SKIP() << "kernel without CONFIG_CHECKPOINT_RESTORE /proc/PID/timers";
    }
    ASSERT_TRUE(timers.ok()) << timers.error().message();
    bool found = false;
    for (const auto &t : *timers) {
        if (t.signal == SIGRTMIN + 2 && t.sigev_value == 0x5eed) {
            found = true;
            EXPECT_EQ(t.clock_id, CLOCK_MONOTONIC);
            EXPECT_EQ(t.notify_tid, getpid());
        }
    }
    EXPECT_TRUE(found);
}

}  // namespace
}  // namespace stasis::proc
