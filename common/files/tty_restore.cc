#include "common/files/tty_restore.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "common/images/file_io.h"
#include "common/util/log.h"

namespace stasis::files {
namespace {

std::string pts(uint32_t index) { return "/dev/pts/" + std::to_string(index); }

bool same_pty(const images::FileEntry &f, uint32_t index) {
    return f.has_tty() && f.tty().index() == index && f.tty().role() != images::TTY_CONTROLLING;
}

// Opens /dev/ptmx until the kernel hands out `index`. It hands out the
// lowest free index, so the pairs below it are kept open meanwhile and
// closed at the end; an index above it means /dev/pts/<index> is taken.
Result<images::Fd> allocate_pty(uint32_t index, uint32_t flags) {
    std::vector<images::Fd> below;
    for (;;) {
        images::Fd m(::open("/dev/ptmx", int(flags & O_ACCMODE) | O_NOCTTY | O_CLOEXEC));
        if (!m.valid())
            return Error::from_errno(
                log::cat("open /dev/ptmx (", below.size(), " pairs below index ", index, " held meanwhile)"));
        unsigned got = 0;
        if (::ioctl(m.get(), TIOCGPTN, &got) != 0) return Error::from_errno("TIOCGPTN");
        if (got == index) return m;
        if (got > index)
            return Error(log::cat(pts(index), " is in use by another process here (the kernel handed out ",
                                  got, " instead); close it, or restore where that index is free"));
        below.push_back(std::move(m));
    }
}

Status set_termios(int master, const images::TtyInfo &info) {
    struct termios t {};
    t.c_iflag = tcflag_t(info.iflag());
    t.c_oflag = tcflag_t(info.oflag());
    t.c_cflag = tcflag_t(info.cflag());
    t.c_lflag = tcflag_t(info.lflag());
    t.c_line = cc_t(info.line());
    std::memcpy(t.c_cc, info.cc().data(), std::min(info.cc().size(), sizeof t.c_cc));
    if (::cfsetispeed(&t, speed_t(info.ispeed())) != 0 || ::cfsetospeed(&t, speed_t(info.ospeed())) != 0)
        return Error::from_errno(log::cat("speeds ", info.ispeed(), "/", info.ospeed()));
    // On the master, TCSETS sets the slave's termios (the master has no
    // termios of its own that userspace can change).
    if (::tcsetattr(master, TCSANOW, &t) != 0) return Error::from_errno("tcsetattr");
    return ok();
}

Status set_flag(int fd, unsigned long request, int value, const char *name) {
    if (::ioctl(fd, request, &value) != 0) return Error::from_errno(name);
    return ok();
}

// Everything the master carries but its lock, which comes last (a locked
// pty's slave cannot be opened).
Status set_master_state(int master, const images::TtyInfo &info) {
    STASIS_TRY(set_flag(master, TIOCSPTLCK, 0, "unlock (TIOCSPTLCK)"));
    STASIS_TRY(set_termios(master, info));
    struct winsize ws {};
    ws.ws_row = (unsigned short)info.rows();
    ws.ws_col = (unsigned short)info.cols();
    ws.ws_xpixel = (unsigned short)info.xpixel();
    ws.ws_ypixel = (unsigned short)info.ypixel();
    if (::ioctl(master, TIOCSWINSZ, &ws) != 0) return Error::from_errno("TIOCSWINSZ");
    if (info.packet()) STASIS_TRY(set_flag(master, TIOCPKT, 1, "packet mode (TIOCPKT)"));
    if (info.master_exclusive() && ::ioctl(master, TIOCEXCL) != 0)
        return Error::from_errno("TIOCEXCL on the master");
    return ok();
}

}  // namespace

const images::FileEntry *pty_master(const std::vector<images::FileEntry> &files, uint32_t index) {
    for (const auto &f : files)
        if (f.has_tty() && f.tty().index() == index && f.tty().role() == images::TTY_PTY_MASTER) return &f;
    return nullptr;
}

bool is_controlling_tty(const images::FileEntry &entry) {
    return entry.has_tty() && entry.tty().role() == images::TTY_CONTROLLING;
}

Status check_pty_indexes_free(const std::vector<images::FileEntry> &files) {
    for (const auto &f : files) {
        if (!f.has_tty() || f.tty().role() != images::TTY_PTY_MASTER) continue;
        struct stat st {};
        if (::stat(pts(f.tty().index()).c_str(), &st) == 0)
            return Error(
                log::cat(pts(f.tty().index()),
                         " is in use by another process here; the restored tree needs that pty index: "
                         "close it, or restore where it is free"));
    }
    return ok();
}

Result<std::vector<std::pair<uint32_t, int>>> open_pty_ends(const std::vector<images::FileEntry> &files,
                                                            const images::FileEntry &entry) {
    uint32_t index = entry.tty().index();
    std::string what = "pty " + pts(index);
    const images::FileEntry *m = pty_master(files, index);
    if (!m) return Error(what + ": no master in files.img");
    const images::TtyInfo &info = m->tty().info();
    STASIS_ASSIGN(images::Fd master, std::move(allocate_pty(index, m->tty().flags())).context(what));
    STASIS_TRY(std::move(set_master_state(master.get(), info)).context(what));

    std::vector<images::Fd> slaves;
    std::vector<std::pair<uint32_t, int>> ends;
    for (const auto &f : files) {
        if (!same_pty(f, index) || f.tty().role() != images::TTY_PTY_SLAVE) continue;
        // O_NOCTTY: a session leader opening it must not take it as its
        // controlling terminal here; tty_session.cc decides who does.
        int flags = int(f.tty().flags() & (O_ACCMODE | O_NONBLOCK)) | O_NOCTTY | O_CLOEXEC;
        images::Fd s(::ioctl(master.get(), TIOCGPTPEER, flags));
        if (!s.valid())
            return Error::from_errno(log::cat(what, ": open the slave (TIOCGPTPEER) for file id ", f.id()));
        slaves.push_back(std::move(s));
        ends.emplace_back(f.id(), -1);
    }
    if (info.slave_exclusive() && !slaves.empty() && ::ioctl(slaves.front().get(), TIOCEXCL) != 0)
        return Error::from_errno(what + ": TIOCEXCL on the slave");
    if (info.locked())
        STASIS_TRY(std::move(set_flag(master.get(), TIOCSPTLCK, 1, "lock (TIOCSPTLCK)")).context(what));
    if ((m->tty().flags() & O_NONBLOCK) && ::fcntl(master.get(), F_SETFL, O_NONBLOCK) != 0)
        return Error::from_errno(what + ": O_NONBLOCK on the master");
    for (size_t i = 0; i < slaves.size(); ++i) ends[i].second = slaves[i].release();
    ends.emplace_back(m->id(), master.release());
    log::debug(what, ": made again with ", slaves.size(), " slave description(s)");
    return ends;
}

Result<int> open_controlling_tty(const images::FileEntry &entry) {
    int flags = int(entry.tty().flags() & (O_ACCMODE | O_NONBLOCK)) | O_NOCTTY | O_CLOEXEC;
    int fd = ::open("/dev/tty", flags);
    if (fd < 0)
        return Error::from_errno("open /dev/tty (the controlling terminal " + pts(entry.tty().index()) + ")");
    return fd;
}

}  // namespace stasis::files
