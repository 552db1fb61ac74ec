#include "common/files/signalfd.h"

#include <fcntl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <charconv>

namespace stasis::files {

Status describe_signalfd(const proc::FdInfo &info, images::SignalfdFile *out) {
    // The kernel prints the set as _NSIG/4 hex digits, highest signal
    // first: 16 digits, 64 signals, on every architecture stasis supports.
    std::string_view text = info.get("sigmask");
    uint64_t mask = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), mask, 16);
    if (text.empty() || text.size() > 16 || ec != std::errc() || end != text.data() + text.size())
        return Error("signalfd: fdinfo has no readable 64-signal sigmask ('" + std::string(text) + "')");
    out->set_mask(mask);
    out->set_flags(info.flags & (O_ACCMODE | O_NONBLOCK));
    return ok();
}

Result<int> open_signalfd(const images::SignalfdFile &s) {
    // The raw call takes the kernel's 64-bit set as is (glibc's sigaddset
    // refuses the signals it keeps for itself, which a mask may still hold).
    uint64_t mask = s.mask();
    int flags = SFD_CLOEXEC | ((s.flags() & O_NONBLOCK) ? SFD_NONBLOCK : 0);
    int fd = int(::syscall(SYS_signalfd4, -1, &mask, sizeof mask, flags));
    if (fd < 0) return Error::from_errno("signalfd");
    return fd;
}

}  // namespace stasis::files
