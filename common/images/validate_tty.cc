// Checks of the pty entries of files.img (images/files.proto, TtyFile):
// each alone, then each pty as a whole — exactly one master, which alone
// carries the pair's state, and no slave or /dev/tty without it.
#include <fcntl.h>
#include <termios.h>

#include <map>

#include "common/images/validate.h"
#include "common/util/log.h"

namespace stasis::images::validate {
namespace {

// The kernel's NR_UNIX98_PTY_MAX: no pty index reaches it.
constexpr uint32_t kMaxPtyIndex = 1u << 20;
// c_cc of any architecture's libc (NCCS is 32 at most today).
constexpr size_t kMaxCcBytes = 64;

Status tty_alone(const TtyFile &t) {
    if (t.role() != TTY_PTY_MASTER && t.role() != TTY_PTY_SLAVE && t.role() != TTY_CONTROLLING)
        return Error(log::cat("tty of unknown role ", int(t.role())));
    if (t.index() >= kMaxPtyIndex)
        return Error(log::cat("pty index ", t.index(), " (at most ", kMaxPtyIndex - 1, ")"));
    if (t.flags() & ~uint32_t(O_ACCMODE | O_NONBLOCK))
        return Error(log::cat("tty flags ", log::hex(t.flags()), " beyond O_ACCMODE|O_NONBLOCK"));
    if ((t.flags() & O_ACCMODE) == O_ACCMODE)
        return Error(log::cat("tty flags ", log::hex(t.flags()), ": invalid access mode"));
    if (t.role() != TTY_PTY_MASTER) {
        if (t.has_info()) return Error("pty state on an entry other than the master");
        return ok();
    }
    const TtyInfo &i = t.info();
    if (i.cc().size() > kMaxCcBytes) return Error(log::cat("termios c_cc of ", i.cc().size(), " bytes"));
    if (i.line() > 0xff) return Error(log::cat("line discipline ", i.line()));
    if (i.rows() > 0xffff || i.cols() > 0xffff || i.xpixel() > 0xffff || i.ypixel() > 0xffff)
        return Error("window size beyond 16 bits");
    if (i.session() < 0 || i.foreground_pgid() < 0)
        return Error("negative session or foreground process group");
    if (i.foreground_pgid() && !i.session()) return Error("a foreground process group without a session");
    return ok();
}

}  // namespace

Status tty_files(const std::vector<FileEntry> &files) {
    std::map<uint32_t, uint32_t> master_of;  // pty index -> file id of its master
    for (const FileEntry &f : files) {
        if (!f.has_tty()) continue;
        STASIS_TRY(std::move(tty_alone(f.tty())).context(log::cat("file id ", f.id())));
        if (f.tty().role() != TTY_PTY_MASTER) continue;
        auto [it, first] = master_of.emplace(f.tty().index(), f.id());
        if (!first)
            return Error(log::cat("pty ", f.tty().index(), " has two masters (file ids ", it->second, " and ",
                                  f.id(), ")"));
    }
    for (const FileEntry &f : files)
        if (f.has_tty() && !master_of.count(f.tty().index()))
            return Error(
                log::cat("file id ", f.id(), ": pty ", f.tty().index(), " has no master in files.img"));
    return ok();
}

}  // namespace stasis::images::validate
