#include "common/restore/tty_session.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "common/files/tty_restore.h"
#include "common/util/log.h"

namespace stasis::restore {
namespace {

std::string pts(uint32_t index) { return "/dev/pts/" + std::to_string(index); }

// TIOCSPGRP from a process outside the current foreground group would
// raise SIGTTOU; blocked, the kernel lets the call through.
Status set_foreground(int master, pid_t pgid) {
    sigset_t ttou, old;
    sigemptyset(&ttou);
    sigaddset(&ttou, SIGTTOU);
    ::sigprocmask(SIG_BLOCK, &ttou, &old);
    int rc = ::ioctl(master, TIOCSPGRP, &pgid);
    int err = errno;
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    if (rc != 0)
        return Error::from_errno("make process group " + std::to_string(pgid) + " its foreground (TIOCSPGRP)",
                                 err);
    return ok();
}

}  // namespace

Status restore_controlling_tty(ChildArgs &a) {
    const auto &cp = *a.cp;
    const auto &t = cp.tasks[a.index];
    const pid_t pid = t.tree.pid(), sid = t.tree.sid(), pgid = t.tree.pgid();
    for (const auto &f : cp.files) {
        if (!f.has_tty() || f.tty().role() != images::TTY_PTY_MASTER) continue;
        const images::TtyInfo &info = f.tty().info();
        if (info.session() == 0 || info.session() != sid) continue;
        std::string what = "pty " + pts(f.tty().index());
        auto master = a.files.by_file.find(f.id());
        if (master == a.files.by_file.end())
            return Error(what + ": its master was not opened before session " + std::to_string(sid) +
                         " formed");
        if (sid == pid && ::ioctl(master->second, TIOCSCTTY, 0) != 0)
            return Error::from_errno(what + ": make it the controlling terminal of session " +
                                     std::to_string(sid) + " (TIOCSCTTY)");
        if (info.foreground_pgid() == pgid)
            STASIS_TRY(std::move(set_foreground(master->second, pgid)).context(what));
    }

    int base = 3;
    for (const auto &task : cp.tasks)
        for (const auto &fd : task.fds) base = std::max(base, fd.fd() + 1);
    for (const auto &fd : t.fds) {
        if (fd.file_id() == 0 || fd.file_id() > cp.files.size()) continue;  // open_once reports it
        const images::FileEntry &entry = cp.files[fd.file_id() - 1];
        if (!files::is_controlling_tty(entry) || a.files.by_file.count(entry.id())) continue;
        std::string what = "fd " + std::to_string(fd.fd()) + ": /dev/tty";
        const images::FileEntry *m = files::pty_master(cp.files, entry.tty().index());
        if (!m || m->tty().info().session() != sid)
            return Error(what + " was " + pts(entry.tty().index()) +
                         ", which is not the controlling terminal of " + "session " + std::to_string(sid) +
                         " (opened in another session and inherited?)");
        STASIS_ASSIGN(int opened, std::move(files::open_controlling_tty(entry)).context(what));
        int high = ::fcntl(opened, F_DUPFD_CLOEXEC, base);
        int err = errno;
        ::close(opened);
        if (high < 0) return Error::from_errno(what + ": move it out of the way", err);
        a.files.by_file[entry.id()] = high;
    }
    return ok();
}

}  // namespace stasis::restore
