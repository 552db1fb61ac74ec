#include "common/proc/fdinfo.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

#include <gtest/gtest.h>

#include "tests/unit/proc/test_support.h"

namespace stasis::proc {
namespace {

using testing::fixture;

TEST(ParseFdinfo, EventfdCountStaysTextInExtra) {
    auto info = parse_fdinfo(fixture("fdinfo_eventfd.txt"));
    ASSERT_TRUE(info.ok()) << info.error().message();
    EXPECT_EQ(info->pos, 0u);
    EXPECT_EQ(info->flags, unsigned(O_RDWR | O_NONBLOCK));
    EXPECT_GT(info->mnt_id, 0);
    EXPECT_GT(info->ino, 0u);
    EXPECT_EQ(info->get("eventfd-count"), "5a");
    EXPECT_EQ(info->get("eventfd-id"), "1");
    EXPECT_TRUE(info->entries.empty());
}

TEST(ParseFdinfo, EpollKeepsOneEntryPerTarget) {
    auto info = parse_fdinfo(fixture("fdinfo_epoll.txt"));
    ASSERT_TRUE(info.ok()) << info.error().message();
    EXPECT_EQ(info->flags, unsigned(O_RDWR | O_CLOEXEC));
    ASSERT_EQ(info->entries.size(), 2u);
    auto fields = split_fdinfo_entry(info->entries[0]);
    ASSERT_EQ(fields.size(), 6u);
    EXPECT_EQ(fields[0].first, "tfd");
    EXPECT_EQ(fields[0].second, "4");
    EXPECT_EQ(fields[1].first, "events");
    EXPECT_EQ(fields[1].second, "80000019");  // EPOLLET | EPOLLIN | EPOLLERR | EPOLLHUP
    EXPECT_EQ(fields[2].second, "1122334455667788");
    EXPECT_EQ(fields[5].first, "sdev");
}

TEST(ParseFdinfo, InotifyKeepsOneEntryPerWatch) {
    auto info = parse_fdinfo(fixture("fdinfo_inotify.txt"));
    ASSERT_TRUE(info.ok()) << info.error().message();
    ASSERT_EQ(info->entries.size(), 2u);
    auto fields = split_fdinfo_entry(info->entries[1]);
    ASSERT_GE(fields.size(), 8u);
    EXPECT_EQ(fields[0].first, "wd");
    EXPECT_EQ(fields[0].second, "1");
    EXPECT_EQ(fields[3].first, "mask");
    EXPECT_EQ(fields[3].second, "300");  // IN_CREATE | IN_DELETE
    EXPECT_EQ(fields.back().first, "f_handle");
}

TEST(ParseFdinfo, SignalfdTimerfdPidfdAndLocks) {
    auto sig = parse_fdinfo(fixture("fdinfo_signalfd.txt"));
    ASSERT_TRUE(sig.ok());
    EXPECT_EQ(sig->get("sigmask"), "0000000000004200");  // SIGUSR1 | SIGTERM

    auto timer = parse_fdinfo(fixture("fdinfo_timerfd.txt"));
    ASSERT_TRUE(timer.ok());
    EXPECT_EQ(timer->get("clockid"), "1");
    EXPECT_EQ(timer->get("settime flags"), "00");
    EXPECT_EQ(timer->get("it_interval"), "(1, 0)");
    EXPECT_FALSE(timer->get("it_value").empty());

    auto pidfd = parse_fdinfo(fixture("fdinfo_pidfd.txt"));
    ASSERT_TRUE(pidfd.ok());
    EXPECT_FALSE(pidfd->get("Pid").empty());
    EXPECT_EQ(pidfd->get("Pid"), pidfd->get("NSpid"));

    auto locked = parse_fdinfo(fixture("fdinfo_regular_locked.txt"));
    ASSERT_TRUE(locked.ok());
    EXPECT_EQ(locked->pos, 100u);
    EXPECT_EQ(locked->flags, 0102002u) << "O_LARGEFILE|O_APPEND|O_RDWR as the kernel numbers them";
    ASSERT_EQ(locked->entries.size(), 1u);
    EXPECT_EQ(locked->entries[0].substr(0, 5), "lock:");
}

TEST(ParseFdinfo, NegativePositionKeepsItsBitPattern) {
    auto info = parse_fdinfo("pos:\t-2\nflags:\t0\nmnt_id:\t1\n");
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->pos, static_cast<uint64_t>(-2));
}

TEST(ParseFdName, AcceptsOnlyPlainDescriptorNumbers) {
    int fd = -1;
    EXPECT_TRUE(parse_fd_name("0", fd) && fd == 0);
    EXPECT_TRUE(parse_fd_name("1023", fd) && fd == 1023);
    EXPECT_FALSE(parse_fd_name("-1", fd));
    EXPECT_FALSE(parse_fd_name("+1", fd));
    EXPECT_FALSE(parse_fd_name("1a", fd));
    EXPECT_FALSE(parse_fd_name("99999999999", fd));
    EXPECT_FALSE(parse_fd_name("", fd));
}

// --- live -------------------------------------------------------------------

TEST(ReadFdinfo, EventfdOfThisProcessShowsItsCounter) {
    STASIS_SKIP_IF_EMULATED();
    int efd = eventfd(0x2a, EFD_CLOEXEC);
    ASSERT_GE(efd, 0);
    auto info = read_fdinfo(getpid(), efd);
    auto link = read_fd_link(getpid(), efd);
    auto fds = list_fds(getpid());
    close(efd);
    ASSERT_TRUE(info.ok()) << info.error().message();
    EXPECT_EQ(info->get("eventfd-count"), "2a");
    EXPECT_EQ(info->flags & O_CLOEXEC, unsigned(O_CLOEXEC));
    ASSERT_TRUE(link.ok());
    EXPECT_EQ(*link, "anon_inode:[eventfd]");
    ASSERT_TRUE(fds.ok());
    EXPECT_TRUE(std::is_sorted(fds->begin(), fds->end()));
    EXPECT_NE(std::find(fds->begin(), fds->end(), efd), fds->end());
}

TEST(ReadFdLink, PipesAndFilesShowTheirKernelNames) {
    STASIS_SKIP_IF_EMULATED();
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    auto link = read_fd_link(getpid(), p[0]);
    close(p[0]);
    close(p[1]);
    ASSERT_TRUE(link.ok());
    EXPECT_EQ(link->substr(0, 6), "pipe:[");
    int fd = open("/proc/self/status", O_RDONLY);
    auto file = read_fd_link(getpid(), fd);
    close(fd);
    ASSERT_TRUE(file.ok());
    EXPECT_EQ(*file, "/proc/" + std::to_string(getpid()) + "/status");
}

TEST(ReadFdinfo, ClosedDescriptorIsNotAVanishedProcess) {
    STASIS_SKIP_IF_EMULATED();
    int fd = open("/dev/null", O_RDONLY);
    close(fd);
    auto info = read_fdinfo(getpid(), fd);
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.error().sys_errno(), ENOENT);
    EXPECT_FALSE(is_task_gone(info.error()));
    EXPECT_NE(info.error().message().find("/fdinfo/" + std::to_string(fd)), std::string::npos);
}

}  // namespace
}  // namespace stasis::proc
