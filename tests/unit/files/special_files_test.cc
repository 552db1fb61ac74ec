// The per-kind file code against this process's own descriptors: what the
// dump reads from /proc/self gives back, through the restore side, a
// descriptor in the same state; and fdinfo text the parsers cannot trust is
// refused by name.
#include <fcntl.h>
#include <linux/kcmp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/files/epoll.h"
#include "common/files/eventfd.h"
#include "common/files/pipe.h"
#include "common/files/signalfd.h"
#include "common/files/timerfd.h"
#include "common/proc/fdinfo.h"

namespace stasis::files {
namespace {

struct Fd {
    int fd;
    explicit Fd(int f) : fd(f) {}
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

proc::FdInfo fdinfo_of(int fd) {
    auto info = proc::read_fdinfo(::getpid(), fd);
    EXPECT_TRUE(info.ok());
    return info.ok() ? std::move(info).value() : proc::FdInfo{};
}

// qemu-user, which runs these tests for cross builds, lacks some calls.
bool have_kcmp() {
    return ::syscall(SYS_kcmp, ::getpid(), ::getpid(), KCMP_FILE, 0, 0) >= 0 || errno != ENOSYS;
}
bool have_pidfd_getfd() {
    return ::syscall(SYS_pidfd_getfd, -1, 0, 0) >= 0 || errno != ENOSYS;
}

std::string self_link(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

TEST(Eventfd, CounterBeyond32BitsAndSemaphoreComeBack) {
    Fd ev(::eventfd(0, EFD_SEMAPHORE | EFD_NONBLOCK));
    uint64_t v = (1ull << 40) + 3;
    ASSERT_EQ(::write(ev.fd, &v, sizeof v), ssize_t(sizeof v));
    images::EventfdFile e;
    ASSERT_TRUE(describe_eventfd(::getpid(), ev.fd, fdinfo_of(ev.fd), &e).ok());
    EXPECT_EQ(e.counter(), v);
    EXPECT_TRUE(e.semaphore());
    EXPECT_TRUE(e.flags() & O_NONBLOCK);
    auto fd = open_eventfd(e);
    ASSERT_TRUE(fd.ok());
    Fd again(fd.value());
    images::EventfdFile back;
    ASSERT_TRUE(describe_eventfd(::getpid(), again.fd, fdinfo_of(again.fd), &back).ok());
    EXPECT_EQ(back.SerializeAsString(), e.SerializeAsString());
}

// Kernels before 6.5 show no eventfd-semaphore line: the flag is probed
// through a copy of the descriptor, and the counter is left as it was.
TEST(Eventfd, SemaphoreIsProbedWhereFdinfoDoesNotShowIt) {
    if (!have_pidfd_getfd()) GTEST_SKIP() << "no pidfd_getfd here (qemu-user?)";
    for (int flags : {0, int(EFD_SEMAPHORE)}) {
        for (uint64_t start : {uint64_t(0), uint64_t(1), uint64_t(5)}) {
            Fd ev(::eventfd(0, flags | EFD_NONBLOCK));
            if (start) {
                ASSERT_EQ(::write(ev.fd, &start, sizeof start), ssize_t(sizeof start));
            }
            auto info = proc::parse_fdinfo("pos:\t0\nflags:\t04002\nmnt_id:\t15\neventfd-count: " +
                                           std::to_string(start) + "\n");
            ASSERT_TRUE(info.ok());
            images::EventfdFile e;
            auto st = describe_eventfd(::getpid(), ev.fd, info.value(), &e);
            ASSERT_TRUE(st.ok()) << st.error().message();
            EXPECT_EQ(e.semaphore(), flags == EFD_SEMAPHORE) << "start " << start;
            EXPECT_EQ(e.counter(), start);
            auto again = proc::read_fdinfo(::getpid(), ev.fd);
            ASSERT_TRUE(again.ok());
            EXPECT_EQ(std::stoull(std::string(again->get("eventfd-count")), nullptr, 16), start)
                << "the probe moved the counter";
        }
    }
}

TEST(Eventfd, FdinfoWithoutCountIsRefused) {
    auto info = proc::parse_fdinfo("pos:\t0\nflags:\t02\nmnt_id:\t15\neventfd-count: zz\n");
    ASSERT_TRUE(info.ok());
    images::EventfdFile e;
    auto st = describe_eventfd(::getpid(), -1, info.value(), &e);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().message(), "eventfd: fdinfo has no readable eventfd-count ('zz')");
}

TEST(Signalfd, SignalSetComesBack) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGRTMIN + 3);
    Fd sfd(::signalfd(-1, &set, SFD_NONBLOCK));
    images::SignalfdFile s;
    ASSERT_TRUE(describe_signalfd(fdinfo_of(sfd.fd), &s).ok());
    EXPECT_EQ(s.mask(), (1ull << (SIGUSR2 - 1)) | (1ull << (SIGRTMIN + 3 - 1)));
    auto fd = open_signalfd(s);
    ASSERT_TRUE(fd.ok());
    Fd again(fd.value());
    EXPECT_EQ(fdinfo_of(again.fd).get("sigmask"), fdinfo_of(sfd.fd).get("sigmask"));
}

TEST(Signalfd, MaskOfMoreThan64SignalsIsRefused) {
    auto info = proc::parse_fdinfo("pos:\t0\nflags:\t02\nmnt_id:\t15\nsigmask:\t10000000000000000\n");
    ASSERT_TRUE(info.ok());
    images::SignalfdFile s;
    EXPECT_FALSE(describe_signalfd(info.value(), &s).ok());
}

TEST(Timerfd, IntervalTimerKeepsMissedPeriodsAsTicks) {
    if (!have_pidfd_getfd()) GTEST_SKIP() << "no pidfd_getfd (emulated?): missed periods are not counted";
    Fd t(::timerfd_create(CLOCK_MONOTONIC, 0));
    itimerspec its{{0, 10000000}, {0, 10000000}};  // 10 ms
    ASSERT_EQ(::timerfd_settime(t.fd, 0, &its, nullptr), 0);
    ::usleep(55000);
    images::TimerfdFile d;
    ASSERT_TRUE(describe_timerfd(::getpid(), t.fd, fdinfo_of(t.fd), &d).ok());
    EXPECT_EQ(d.clockid(), CLOCK_MONOTONIC);
    EXPECT_EQ(d.interval_ns(), 10000000u);
    EXPECT_GE(d.ticks(), 5u);
    EXPECT_GT(d.value_ns(), 0u);
    EXPECT_LE(d.value_ns(), 10000000u);
    auto fd = open_timerfd(d);
    ASSERT_TRUE(fd.ok());
    Fd again(fd.value());
    uint64_t ticks = 0;
    ASSERT_EQ(::read(again.fd, &ticks, sizeof ticks), ssize_t(sizeof ticks));
    EXPECT_GE(ticks, d.ticks());
}

TEST(Pipe, QueuedDataIsCopiedNotConsumed) {
    int p[2];
    ASSERT_EQ(::pipe2(p, O_NONBLOCK), 0);
    Fd r(p[0]), w(p[1]);
    ASSERT_EQ(::write(w.fd, "queued", 6), 6);
    images::PipeFile d;
    ASSERT_TRUE(describe_pipe(self_link(w.fd), fdinfo_of(w.fd), "", true, &d).ok());
    EXPECT_EQ(d.buffered(), "queued");
    EXPECT_EQ(d.flags() & O_ACCMODE, uint32_t(O_WRONLY));
    char buf[16];
    EXPECT_EQ(::read(r.fd, buf, sizeof buf), 6);  // still in the pipe
}

TEST(Pipe, EndsReopenOnOnePipeWithTheData) {
    std::vector<images::FileEntry> files(2);
    files[0].set_id(1);
    files[0].mutable_pipe()->set_pipe_ino(7);
    files[0].mutable_pipe()->set_flags(O_RDONLY | O_NONBLOCK);
    files[0].mutable_pipe()->set_pipe_size(8192);
    files[0].mutable_pipe()->set_buffered("abc");
    files[1].set_id(2);
    files[1].mutable_pipe()->set_pipe_ino(7);
    files[1].mutable_pipe()->set_flags(O_WRONLY);
    files[1].mutable_pipe()->set_pipe_size(8192);
    auto ends = open_pipe_ends(files, files[1]);
    ASSERT_TRUE(ends.ok()) << ends.error().message();
    ASSERT_EQ(ends.value().size(), 2u);
    Fd r(ends.value()[0].second), w(ends.value()[1].second);
    EXPECT_EQ(::fcntl(w.fd, F_GETPIPE_SZ), 8192);
    EXPECT_EQ(::fcntl(r.fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDONLY | O_NONBLOCK);
    EXPECT_EQ(::fcntl(w.fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_WRONLY);
    ASSERT_EQ(::write(w.fd, "de", 2), 2);
    char buf[16];
    EXPECT_EQ(::read(r.fd, buf, sizeof buf), 5);
    EXPECT_EQ(std::string(buf, 5), "abcde");
}

TEST(Epoll, WatchListIsReadWithFdEventsAndData) {
    if (!have_kcmp()) GTEST_SKIP() << "no kcmp (emulated?)";
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    Fd r(p[0]), w(p[1]), ep(::epoll_create1(0));
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLET;
    ev.data.u64 = 0x1122334455667788ull;
    ASSERT_EQ(::epoll_ctl(ep.fd, EPOLL_CTL_ADD, r.fd, &ev), 0);
    auto watches = list_epoll_watches(::getpid(), ep.fd, fdinfo_of(ep.fd));
    ASSERT_TRUE(watches.ok()) << watches.error().message();
    ASSERT_EQ(watches.value().size(), 1u);
    EXPECT_EQ(watches.value()[0].fd(), r.fd);
    EXPECT_EQ(watches.value()[0].events(), uint32_t(EPOLLIN | EPOLLET | EPOLLERR | EPOLLHUP));
    EXPECT_EQ(watches.value()[0].data(), 0x1122334455667788ull);
}

TEST(Epoll, WatchOfAClosedFdIsRefused) {
    if (!have_kcmp()) GTEST_SKIP() << "no kcmp (emulated?)";
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    Fd w(p[1]), ep(::epoll_create1(0));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ASSERT_EQ(::epoll_ctl(ep.fd, EPOLL_CTL_ADD, p[0], &ev), 0);
    Fd keep(::dup(p[0]));
    int closed = p[0];
    ::close(p[0]);
    auto watches = list_epoll_watches(::getpid(), ep.fd, fdinfo_of(ep.fd));
    ASSERT_FALSE(watches.ok());
    EXPECT_NE(watches.error().message().find("watches fd " + std::to_string(closed) + ", which is not open any more"),
              std::string::npos)
        << watches.error().message();
}

}  // namespace
}  // namespace stasis::files
