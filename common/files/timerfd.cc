#include "common/files/timerfd.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>

#include "common/images/file_io.h"
#include "common/util/log.h"

#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif

namespace stasis::files {
namespace {

constexpr uint64_t kNsPerSec = 1000000000ull;

Result<uint64_t> parse_number(const proc::FdInfo &info, std::string_view key, int base) {
    std::string_view text = info.get(key);
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v, base);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size())
        return Error("timerfd: fdinfo has no readable '" + std::string(key) + "' ('" + std::string(text) + "')");
    return v;
}

// "(12, 345)": seconds and nanoseconds.
Result<uint64_t> parse_time(const proc::FdInfo &info, std::string_view key) {
    std::string text(info.get(key));
    unsigned long long sec = 0, nsec = 0;
    if (std::sscanf(text.c_str(), "(%llu, %llu)", &sec, &nsec) != 2 || nsec >= kNsPerSec)
        return Error("timerfd: fdinfo has no readable '" + std::string(key) + "' ('" + text + "')");
    return uint64_t(sec) * kNsPerSec + nsec;
}

uint64_t to_ns(const timespec &t) { return uint64_t(t.tv_sec) * kNsPerSec + uint64_t(t.tv_nsec); }
timespec from_ns(uint64_t ns) { return timespec{time_t(ns / kNsPerSec), long(ns % kNsPerSec)}; }

// timerfd_gettime on a copy of pid's fd: exact time left, and the ticks
// of missed periods counted. False when the kernel has no pidfd_getfd.
Result<bool> gettime_through_copy(pid_t pid, int fd, images::TimerfdFile *out) {
    images::Fd pidfd(int(::syscall(SYS_pidfd_open, pid, 0)));
    if (!pidfd.valid() && errno == ENOSYS) return false;
    if (!pidfd.valid()) return Error::from_errno("pidfd_open");
    images::Fd copy(int(::syscall(SYS_pidfd_getfd, pidfd.get(), fd, 0)));
    if (!copy.valid() && errno == ENOSYS) return false;
    if (!copy.valid()) return Error::from_errno("pidfd_getfd");
    itimerspec its {};
    if (::timerfd_gettime(copy.get(), &its) != 0) return Error::from_errno("timerfd_gettime");
    out->set_value_ns(to_ns(its.it_value));
    out->set_interval_ns(to_ns(its.it_interval));
    return true;
}

clockid_t reading_clock(clockid_t c) {
    if (c == CLOCK_REALTIME_ALARM) return CLOCK_REALTIME;
    if (c == CLOCK_BOOTTIME_ALARM) return CLOCK_BOOTTIME;
    return c;
}

}  // namespace

Status describe_timerfd(pid_t pid, int fd, const proc::FdInfo &info, images::TimerfdFile *out) {
    STASIS_ASSIGN(uint64_t clock, parse_number(info, "clockid", 10));
    STASIS_ASSIGN(uint64_t settime, parse_number(info, "settime flags", 8));
    out->set_clockid(int32_t(clock));
    out->set_settime_flags(uint32_t(settime));
    out->set_flags(info.flags & (O_ACCMODE | O_NONBLOCK));
    STASIS_ASSIGN(bool exact, gettime_through_copy(pid, fd, out));
    STASIS_ASSIGN(proc::FdInfo now, proc::read_fdinfo(pid, fd));  // ticks after gettime caught up
    STASIS_ASSIGN(uint64_t ticks, parse_number(now, "ticks", 10));
    out->set_ticks(ticks);
    if (!exact) {
        STASIS_ASSIGN(uint64_t value, parse_time(info, "it_value"));
        STASIS_ASSIGN(uint64_t interval, parse_time(info, "it_interval"));
        if (value == 0 && ticks && interval) value = interval;
        out->set_value_ns(value);
        out->set_interval_ns(interval);
        log::warn("timerfd: no pidfd_getfd on this kernel; an interval timer's missed periods may be lost");
    }
    return ok();
}

Result<int> open_timerfd(const images::TimerfdFile &t) {
    clockid_t clock = clockid_t(t.clockid());
    int flags = TFD_CLOEXEC | ((t.flags() & O_NONBLOCK) ? TFD_NONBLOCK : 0);
    images::Fd fd(::timerfd_create(clock, flags));
    if (!fd.valid()) return Error::from_errno("timerfd_create on clock " + std::to_string(clock));
    if (t.value_ns()) {
        itimerspec its {};
        its.it_interval = from_ns(t.interval_ns());
        uint64_t value = t.value_ns();
        int settime = 0;
        if (t.settime_flags() & TFD_TIMER_ABSTIME) {
            timespec now {};
            if (::clock_gettime(reading_clock(clock), &now) != 0) return Error::from_errno("clock_gettime");
            value += to_ns(now);
            settime = int(t.settime_flags());
        }
        its.it_value = from_ns(value);
        if (::timerfd_settime(fd.get(), settime, &its, nullptr) != 0) return Error::from_errno("timerfd_settime");
    }
    uint64_t ticks = t.ticks();
    if (ticks && ::ioctl(fd.get(), TFD_IOC_SET_TICKS, &ticks) != 0)
        return Error::from_errno("timerfd: put back " + std::to_string(ticks) +
                                 " unread expirations (TFD_IOC_SET_TICKS needs CONFIG_CHECKPOINT_RESTORE)");
    return fd.release();
}

}  // namespace stasis::files
