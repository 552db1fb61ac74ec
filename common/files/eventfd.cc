#include "common/files/eventfd.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <charconv>

#include "common/images/file_io.h"
#include "common/util/log.h"

namespace stasis::files {

Status describe_eventfd(const proc::FdInfo &info, images::EventfdFile *out) {
    std::string_view count = info.get("eventfd-count");
    uint64_t counter = 0;
    auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), counter, 16);
    if (count.empty() || ec != std::errc() || end != count.data() + count.size())
        return Error("eventfd: fdinfo has no readable eventfd-count ('" + std::string(count) + "')");
    out->set_counter(counter);
    out->set_flags(info.flags & (O_ACCMODE | O_NONBLOCK));
    std::string_view sem = info.get("eventfd-semaphore");
    if (sem.empty())
        log::warn("eventfd: this kernel does not show EFD_SEMAPHORE in fdinfo (before 6.5); restored as a plain counter");
    out->set_semaphore(sem == "1");
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
