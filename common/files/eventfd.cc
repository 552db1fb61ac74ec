#include "common/files/eventfd.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <charconv>

#include "common/images/file_io.h"
#include "common/util/log.h"

namespace stasis::files {

namespace {

// Kernels before 6.5 do not show EFD_SEMAPHORE in fdinfo: ask the eventfd
// itself, through a copy of the descriptor (the tree is frozen). Add 2 and
// read once: a semaphore gives 1, a plain counter everything; then put the
// counter back where it was. Pollers of the eventfd may see it readable for
// a moment (a spurious wake-up if the dump then fails).
Result<bool> probe_semaphore(pid_t pid, int fd, uint64_t counter) {
    constexpr uint64_t kMax = 0xfffffffffffffffeull;
    if (counter > kMax - 2) return Error("eventfd: counter too close to its maximum to probe for EFD_SEMAPHORE");
    images::Fd pidfd(int(::syscall(SYS_pidfd_open, pid, 0)));
    if (!pidfd.valid()) return Error::from_errno("eventfd: pidfd_open to probe for EFD_SEMAPHORE");
    images::Fd copy(int(::syscall(SYS_pidfd_getfd, pidfd.get(), fd, 0)));
    if (!copy.valid()) return Error::from_errno("eventfd: pidfd_getfd to probe for EFD_SEMAPHORE");
    uint64_t two = 2, got = 0;
    if (::write(copy.get(), &two, sizeof two) != ssize_t(sizeof two))
        return Error::from_errno("eventfd: probe write");
    if (::read(copy.get(), &got, sizeof got) != ssize_t(sizeof got)) return Error::from_errno("eventfd: probe read");
    bool semaphore = got == 1;  // a plain counter gives counter + 2 >= 2
    if (semaphore) {
        // counter + 1 left: one more read takes it back to counter.
        if (::read(copy.get(), &got, sizeof got) != ssize_t(sizeof got))
            return Error::from_errno("eventfd: probe read back");
    } else if (counter && ::write(copy.get(), &counter, sizeof counter) != ssize_t(sizeof counter)) {
        return Error::from_errno("eventfd: put the counter back");
    }
    return semaphore;
}

}  // namespace

Status describe_eventfd(pid_t pid, int fd, const proc::FdInfo &info, images::EventfdFile *out) {
    std::string_view count = info.get("eventfd-count");
    uint64_t counter = 0;
    auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), counter, 16);
    if (count.empty() || ec != std::errc() || end != count.data() + count.size())
        return Error("eventfd: fdinfo has no readable eventfd-count ('" + std::string(count) + "')");
    out->set_counter(counter);
    out->set_flags(info.flags & (O_ACCMODE | O_NONBLOCK));
    std::string_view sem = info.get("eventfd-semaphore");
    if (!sem.empty()) {
        out->set_semaphore(sem == "1");
        return ok();
    }
    STASIS_ASSIGN(bool semaphore, probe_semaphore(pid, fd, counter));
    log::debug("eventfd: EFD_SEMAPHORE ", semaphore ? "set" : "clear", " (probed: fdinfo predates 6.5)");
    out->set_semaphore(semaphore);
    return ok();
}

Result<int> open_eventfd(const images::EventfdFile &e) {
    int flags = EFD_CLOEXEC | (e.semaphore() ? EFD_SEMAPHORE : 0) | ((e.flags() & O_NONBLOCK) ? EFD_NONBLOCK : 0);
    // The initial value of eventfd(2) is 32 bits; a write adds all 64.
    images::Fd fd(::eventfd(0, flags));
    if (!fd.valid()) return Error::from_errno("eventfd");
    uint64_t counter = e.counter();
    if (counter && ::write(fd.get(), &counter, sizeof counter) != ssize_t(sizeof counter))
        return Error::from_errno("eventfd: set the counter to " + std::to_string(counter));
    return fd.release();
}

}  // namespace stasis::files
