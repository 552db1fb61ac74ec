#include "common/proc/tasks.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "common/proc/read_file.h"
#include "common/proc/stat.h"
#include "tests/unit/proc/test_support.h"

namespace stasis::proc {
namespace {

bool contains(const std::vector<pid_t> &v, pid_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

TEST(ParsePidList, BlankSeparatedWithTrailingBlankOrNewline) {
    auto pids = parse_pid_list("1235 1240 \n");
    ASSERT_TRUE(pids.ok());
    EXPECT_EQ(*pids, (std::vector<pid_t>{1235, 1240}));
    EXPECT_TRUE(parse_pid_list("").ok());
    EXPECT_TRUE(parse_pid_list("")->empty());
}

TEST(ParsePidList, RejectsNonPids) {
    EXPECT_FALSE(parse_pid_list("12 x3").ok());
    EXPECT_FALSE(parse_pid_list("0").ok());
    EXPECT_FALSE(parse_pid_list("-5").ok());
    EXPECT_FALSE(parse_pid_list("99999999999999").ok());
}

// --- live -------------------------------------------------------------------

TEST(ListThreads, SeesAThreadThisProcessStarted) {
    STASIS_SKIP_IF_EMULATED();
    std::atomic<pid_t> tid{0};
    std::atomic<bool> stop{false};
    std::thread worker([&] {
        tid = static_cast<pid_t>(gettid());
        while (!stop) std::this_thread::yield();
    });
    while (tid == 0) std::this_thread::yield();
    auto threads = list_threads(getpid());
    stop = true;
    worker.join();
    ASSERT_TRUE(threads.ok()) << threads.error().message();
    EXPECT_TRUE(std::is_sorted(threads->begin(), threads->end()));
    EXPECT_TRUE(contains(*threads, getpid()));
    EXPECT_TRUE(contains(*threads, tid.load()));
}

TEST(ListChildren, SeesForkedChildrenOfAnyThread) {
    STASIS_SKIP_IF_EMULATED();
    int gate[2];
    ASSERT_EQ(pipe(gate), 0);
    auto spawn = [&] {
        pid_t child = fork();
        if (child == 0) {
            char c;
            close(gate[1]);
            (void)!read(gate[0], &c, 1);
            _exit(0);
        }
        return child;
    };
    pid_t from_main = spawn();
    pid_t from_thread = 0;
    std::thread([&] { from_thread = spawn(); }).join();  // reparented to a live thread when it exits
    auto children = list_children(getpid());
    close(gate[1]);
    close(gate[0]);
    waitpid(from_main, nullptr, 0);
    waitpid(from_thread, nullptr, 0);
    ASSERT_TRUE(children.ok()) << children.error().message();
    EXPECT_TRUE(contains(*children, from_main));
    EXPECT_TRUE(contains(*children, from_thread));
}

TEST(TaskReaders, ReapedProcessIsReportedAsExited) {
    STASIS_SKIP_IF_EMULATED();
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) _exit(0);
    ASSERT_EQ(waitpid(child, nullptr, 0), child);
    auto stat = read_stat(child);
    ASSERT_FALSE(stat.ok());
    EXPECT_TRUE(is_task_gone(stat.error()));
    EXPECT_NE(stat.error().message().find("process " + std::to_string(child) + " exited"), std::string::npos)
        << stat.error().message();
    auto threads = list_threads(child);
    ASSERT_FALSE(threads.ok());
    EXPECT_TRUE(is_task_gone(threads.error()));
    auto children = list_children(child);
    ASSERT_FALSE(children.ok());
    EXPECT_TRUE(is_task_gone(children.error()));
    auto thread_stat = read_stat(getpid(), child);
    ASSERT_FALSE(thread_stat.ok());
    EXPECT_TRUE(is_task_gone(thread_stat.error()));
    EXPECT_NE(thread_stat.error().message().find("thread"), std::string::npos);
}

TEST(TaskReaders, ZombieStillHasStatButNoThreadsChildren) {
    STASIS_SKIP_IF_EMULATED();
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) _exit(3);
    // Wait for it to become a zombie without reaping it.
    siginfo_t info{};
    ASSERT_EQ(waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);
    auto stat = read_stat(child);
    ASSERT_TRUE(stat.ok()) << stat.error().message();
    EXPECT_EQ(stat->state, 'Z');
    EXPECT_EQ(stat->exit_code, 3 << 8);
    waitpid(child, nullptr, 0);
}

}  // namespace
}  // namespace stasis::proc
