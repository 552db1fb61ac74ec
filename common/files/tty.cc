#include "common/files/tty.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/files/file_table.h"
#include "common/images/file_io.h"
#include "common/proc/read_file.h"
#include "common/proc/stat.h"
#include "common/util/log.h"

namespace stasis::files {
namespace {

// Linux's device numbers: TTYAUX_MAJOR 5 (/dev/tty 5:0, /dev/ptmx 5:2) and
// UNIX98_PTY_SLAVE_MAJOR 136. The kernel numbers slave N as 136:N (minors
// have 20 bits, as many as it allows ptys), so one major is enough.
constexpr unsigned kTtyAuxMajor = 5;
constexpr unsigned kPtySlaveMajor = 136;

std::string pts(uint32_t index) { return "/dev/pts/" + std::to_string(index); }

// A copy of fd `fd` of pid (frozen, traced by us): the same open
// description, so asking it changes nothing a reopen would (reopening
// /dev/ptmx through /proc makes a new pair).
Result<images::Fd> copy_fd(pid_t pid, int fd) {
    images::Fd pidfd(int(::syscall(SYS_pidfd_open, pid, 0)));
    if (!pidfd.valid()) return Error::from_errno(log::cat("pidfd_open ", pid));
    images::Fd copy(int(::syscall(SYS_pidfd_getfd, pidfd.get(), fd, 0)));
    if (!copy.valid()) return Error::from_errno(log::cat("pidfd_getfd fd ", fd, " of ", pid));
    return copy;
}

Result<uint32_t> master_index(int master) {
    unsigned n = 0;
    if (::ioctl(master, TIOCGPTN, &n) != 0) return Error::from_errno("TIOCGPTN");
    return uint32_t(n);
}

Result<int> int_ioctl(int fd, unsigned long request, const char *name) {
    int v = 0;
    if (::ioctl(fd, request, &v) != 0) return Error::from_errno(name);
    return v;
}

Result<dev_t> devpts_dev() {
    struct stat st {};
    if (::stat("/dev/pts", &st) != 0) return Error::from_errno("stat /dev/pts");
    return st.st_dev;
}

// The devpts instance a master's slave lives in: opened as a path only
// (O_PATH runs no open of the tty, so no side effect on the pair).
Result<dev_t> slave_devpts(int master) {
    images::Fd peer(::ioctl(master, TIOCGPTPEER, O_PATH | O_NOCTTY | O_CLOEXEC));
    if (!peer.valid()) return Error::from_errno("TIOCGPTPEER");
    struct stat st {};
    if (::fstat(peer.get(), &st) != 0) return Error::from_errno("fstat the slave");
    return st.st_dev;
}

bool in_tree(const std::vector<pid_t> &tree, pid_t pid) {
    return std::find(tree.begin(), tree.end(), pid) != tree.end();
}

}  // namespace

TtyKind tty_kind(const struct stat &st) {
    if (!S_ISCHR(st.st_mode)) return TtyKind::other;
    unsigned ma = major(st.st_rdev), mi = minor(st.st_rdev);
    if (ma == kTtyAuxMajor && mi == 2) return TtyKind::pty_master;
    if (ma == kTtyAuxMajor && mi == 0) return TtyKind::controlling;
    if (ma == kPtySlaveMajor) return TtyKind::pty_slave;
    return TtyKind::other;
}

uint32_t pty_slave_index(dev_t rdev) { return minor(rdev); }

std::optional<uint32_t> controlling_pty_index(pid_t pid) {
    auto st = proc::read_stat(pid);
    if (!st.ok() || st->tty_nr == 0) return std::nullopt;
    dev_t dev = dev_t(unsigned(st->tty_nr));
    if (major(dev) != kPtySlaveMajor) return std::nullopt;
    return uint32_t(minor(dev));
}

Result<PtyHolders> find_pty_holders(const std::vector<pid_t> &tree) {
    PtyHolders h;
    STASIS_ASSIGN(h.devpts, devpts_dev());
    for (pid_t pid : tree) {
        auto fds = proc::list_fds(pid);
        if (!fds.ok()) continue;  // a zombie has none
        for (int fd : *fds) {
            struct stat st {};
            if (::stat(proc::proc_path(pid, "fd/" + std::to_string(fd)).c_str(), &st) != 0) continue;
            TtyKind kind = tty_kind(st);
            if (kind == TtyKind::pty_slave && st.st_dev == h.devpts) {
                h.slave.emplace(pty_slave_index(st.st_rdev), PtyHolders::At{pid, fd});
            } else if (kind == TtyKind::pty_master) {
                std::string who = log::cat("process ", pid, ": fd ", fd, " (a pty master)");
                STASIS_ASSIGN(images::Fd copy, std::move(copy_fd(pid, fd)).context(who));
                STASIS_ASSIGN(uint32_t index, std::move(master_index(copy.get())).context(who));
                STASIS_ASSIGN(dev_t dev, std::move(slave_devpts(copy.get())).context(who));
                if (dev != h.devpts)
                    return Error(who +
                                 ": its pty belongs to a devpts instance other than the one at /dev/pts; "
                                 "only ptys of /dev/pts can be restored");
                h.master.emplace(index, PtyHolders::At{pid, fd});
            }
        }
    }
    return h;
}

Status check_no_outside_holder(uint32_t index, const PtyHolders &holders, const std::vector<pid_t> &tree) {
    DIR *proc = ::opendir("/proc");
    if (!proc) return Error::from_errno("opendir /proc");
    const dev_t slave = makedev(kPtySlaveMajor, index);
    pid_t self = ::getpid();
    std::string found;
    while (dirent *d = ::readdir(proc)) {
        char *end = nullptr;
        long pid = std::strtol(d->d_name, &end, 10);
        if (pid <= 0 || *end || pid == self || in_tree(tree, pid_t(pid))) continue;
        auto fds = proc::list_fds(pid_t(pid));
        if (!fds.ok()) continue;  // gone, or a kernel thread
        for (int fd : *fds) {
            struct stat st {};
            if (::stat(proc::proc_path(pid_t(pid), "fd/" + std::to_string(fd)).c_str(), &st) != 0) continue;
            if (S_ISCHR(st.st_mode) && st.st_rdev == slave && st.st_dev == holders.devpts) {
                auto stat = proc::read_stat(pid_t(pid));
                found = log::cat("process ", pid, stat.ok() ? " (" + stat->comm + ")" : std::string(), " fd ",
                                 fd);
                break;
            }
        }
        if (!found.empty()) break;
    }
    ::closedir(proc);
    if (!found.empty())
        return Error(
            log::cat("its slave ", pts(index), " is also open in ", found,
                     ", outside the dumped tree; a pty is restored only when the tree holds both ends"));
    return ok();
}

Result<images::TtyInfo> describe_pty(uint32_t index, const PtyHolders &holders,
                                     const std::vector<pid_t> &tree) {
    const auto &m = holders.master.at(index);
    STASIS_ASSIGN(images::Fd master, copy_fd(m.pid, m.fd));
    images::Fd slave;
    auto held = holders.slave.find(index);
    if (held != holders.slave.end()) {
        STASIS_ASSIGN(slave, copy_fd(held->second.pid, held->second.fd));
    }

    // Queued data cannot be read without consuming it: a dump that failed
    // afterwards, or --leave-running, would have lost it. Refused instead.
    // TIOCINQ in canonical mode counts complete lines only: a line being
    // typed (no newline yet) is not seen, and not saved (docs/design.md).
    STASIS_ASSIGN(int to_master, int_ioctl(master.get(), TIOCINQ, "TIOCINQ on the master"));
    if (to_master > 0)
        return Error(log::cat(to_master, " bytes written to ", pts(index),
                              " are not read yet from its master (fd ", m.fd, " of process ", m.pid,
                              "); stasis cannot save data queued in a pty: let it be "
                              "read, then dump again"));
    if (slave.valid()) {
        STASIS_ASSIGN(int to_slave, int_ioctl(slave.get(), TIOCINQ, "TIOCINQ on the slave"));
        if (to_slave > 0)
            return Error(
                log::cat(to_slave, " bytes written to the master of ", pts(index),
                         " are not read yet from the slave; stasis cannot save data queued in a pty: let "
                         "it be read, then dump again"));
    }

    images::TtyInfo info;
    struct termios t {};
    if (::tcgetattr(master.get(), &t) != 0) return Error::from_errno("tcgetattr");
    info.set_iflag(t.c_iflag);
    info.set_oflag(t.c_oflag);
    info.set_cflag(t.c_cflag);
    info.set_lflag(t.c_lflag);
    info.set_line(t.c_line);
    info.set_cc(reinterpret_cast<const char *>(t.c_cc), sizeof t.c_cc);
    info.set_ispeed(uint32_t(::cfgetispeed(&t)));
    info.set_ospeed(uint32_t(::cfgetospeed(&t)));
    struct winsize ws {};
    if (::ioctl(master.get(), TIOCGWINSZ, &ws) != 0) return Error::from_errno("TIOCGWINSZ");
    info.set_rows(ws.ws_row);
    info.set_cols(ws.ws_col);
    info.set_xpixel(ws.ws_xpixel);
    info.set_ypixel(ws.ws_ypixel);
    STASIS_ASSIGN(int locked, int_ioctl(master.get(), TIOCGPTLCK, "TIOCGPTLCK"));
    STASIS_ASSIGN(int packet, int_ioctl(master.get(), TIOCGPKT, "TIOCGPKT"));
    STASIS_ASSIGN(int master_excl, int_ioctl(master.get(), TIOCGEXCL, "TIOCGEXCL on the master"));
    info.set_locked(locked != 0);
    info.set_packet(packet != 0);
    info.set_master_exclusive(master_excl != 0);
    if (slave.valid()) {
        STASIS_ASSIGN(int slave_excl, int_ioctl(slave.get(), TIOCGEXCL, "TIOCGEXCL on the slave"));
        info.set_slave_exclusive(slave_excl != 0);
    }

    // Asked through the master, these need no controlling terminal.
    pid_t sid = 0;
    if (::ioctl(master.get(), TIOCGSID, &sid) != 0) {
        if (errno != ENOTTY) return Error::from_errno("TIOCGSID");
        sid = 0;  // the controlling terminal of no session
    }
    if (sid > 0) {
        if (!in_tree(tree, sid))
            return Error(log::cat(pts(index), " is the controlling terminal of session ", sid,
                                  ", whose leader is not in the dumped tree"));
        info.set_session(sid);
        pid_t fg = 0;
        if (::ioctl(master.get(), TIOCGPGRP, &fg) != 0) return Error::from_errno("TIOCGPGRP");
        bool member = false;
        for (pid_t pid : tree) {
            auto st = proc::read_stat(pid);
            if (st.ok() && st->pgrp == fg && st->session == sid) member = true;
        }
        if (member)
            info.set_foreground_pgid(fg);
        else if (fg > 0)
            log::warn(
                pts(index), ": its foreground process group ", fg,
                " has no process in the dumped tree; after restore the session leader's group is in the "
                "foreground");
    }
    return info;
}

// fd `fd` of pid is a pty master, a pty slave or /dev/tty (st: the device
// node it opened). 0: not a pty of the tree (a terminal outside: the
// caller goes on as for any terminal path).
Result<uint32_t> FileTable::add_tty(pid_t pid, int fd, const std::string &target, const struct stat &st,
                                    const proc::FdInfo &info) {
    if (!ptys_) {
        STASIS_ASSIGN(PtyHolders h, find_pty_holders(opts_.tree_pids));
        ptys_ = std::move(h);
    }
    TtyKind kind = tty_kind(st);
    uint32_t index = 0;
    images::TtyRole role = images::TTY_PTY_MASTER;
    if (kind == TtyKind::pty_master) {
        STASIS_ASSIGN(images::Fd copy, copy_fd(pid, fd));
        STASIS_ASSIGN(index, master_index(copy.get()));
    } else if (kind == TtyKind::pty_slave) {
        if (st.st_dev != ptys_->devpts) return 0;
        index = pty_slave_index(st.st_rdev);
        role = images::TTY_PTY_SLAVE;
    } else {
        auto ctty = controlling_pty_index(pid);
        if (!ctty) return 0;
        index = *ctty;
        role = images::TTY_CONTROLLING;
    }
    if (!ptys_->master.count(index)) {
        // Reopening /dev/ptmx by path would make a new, unrelated pair.
        if (kind == TtyKind::pty_master)
            return Error("is the master of " + pts(index) + ", held where no process of the dumped tree holds it " +
                         "(a descriptor in flight?): such a pty cannot be restored");
        if (kind == TtyKind::pty_slave && !opts_.shell_job)
            return Error(
                "is " + target + ", a pseudo-terminal whose master no process of the dumped tree holds " +
                "(a terminal emulator's, sshd's?); run the process detached from it or pass --shell-job");
        return 0;
    }
    if (uint32_t id = known_description(pid, fd, st.st_dev, st.st_ino)) return id;
    images::FileEntry e;
    auto *tty = e.mutable_tty();
    tty->set_index(index);
    tty->set_role(role);
    tty->set_flags(info.flags & (O_ACCMODE | O_NONBLOCK));
    if (role == images::TTY_PTY_MASTER) {
        std::string what = "the pty master of " + pts(index);
        if (ptys_->checked_outside.insert(index).second)
            STASIS_TRY(std::move(check_no_outside_holder(index, *ptys_, opts_.tree_pids)).context(what));
        STASIS_ASSIGN(*tty->mutable_info(),
                      std::move(describe_pty(index, *ptys_, opts_.tree_pids)).context(what));
        log::debug(what, ": session ", tty->info().session(), ", foreground group ",
                   tty->info().foreground_pgid(), ", ", tty->info().rows(), "x", tty->info().cols());
    }
    return push(std::move(e), pid, fd, st.st_dev, st.st_ino);
}

}  // namespace stasis::files
