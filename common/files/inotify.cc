#include "common/files/inotify.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <vector>

#include "common/files/file_handle.h"
#include "common/images/file_io.h"
#include "common/images/format.h"
#include "common/linux/uapi.h"
#include "common/util/log.h"

namespace stasis::files {
namespace {

// What fdinfo's mask may hold (inotify_mark_user_mask in the kernel).
constexpr uint32_t kRecordedMaskBits = IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK;
// Removing a burnt watch queues one IN_IGNORED event: empty the queue this
// often, well before max_queued_events (16384 by default) overflows it.
constexpr int kBurnsPerDrain = 1024;

template <typename T>
bool parse_hex(std::string_view text, T &out) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out, 16);
    return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

bool parse_hex_bytes(std::string_view text, std::string &out) {
    if (text.size() % 2) return false;
    out.clear();
    for (size_t i = 0; i < text.size(); i += 2) {
        uint8_t byte = 0;
        if (!parse_hex(text.substr(i, 2), byte)) return false;
        out += char(byte);
    }
    return true;
}

std::string describe_watch(const images::InotifyWatch &w) {
    return log::cat("inotify watch wd ", w.wd(), " on ", w.path());
}

// "now inode 12 of device 254:0" / the recorded one, for error messages.
std::string inode_text(uint64_t dev, uint64_t ino) {
    return log::cat("inode ", ino, " of device ", major(dev), ":", minor(dev));
}

// The file handle of the file `fd` refers to, as fsnotify encodes it; false
// when this kernel or file system gives none.
bool handle_of(int fd, std::string *bytes, int *type) {
    std::vector<char> buf(sizeof(file_handle) + MAX_HANDLE_SZ);
    auto *fh = reinterpret_cast<file_handle *>(buf.data());
    for (int flags : {AT_EMPTY_PATH | AT_HANDLE_FID, AT_EMPTY_PATH}) {
        fh->handle_bytes = MAX_HANDLE_SZ;
        int mount_id = 0;
        if (::name_to_handle_at(fd, "", fh, &mount_id, flags) == 0) {
            bytes->assign(reinterpret_cast<const char *>(fh->f_handle), fh->handle_bytes);
            *type = fh->handle_type;
            return true;
        }
        if (errno != EINVAL) return false;  // EINVAL: AT_HANDLE_FID unknown (before 6.5)
    }
    return false;
}

// Opens the recorded target without following a last symlink and checks it
// is still the recorded inode (and, where the file system gives handles,
// the same generation of it).
Result<images::Fd> open_target(const images::InotifyWatch &w) {
    images::Fd fd(::open(w.path().c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) {
        int err = errno;
        std::string why = err == ENOENT ? "is gone since the dump" : std::string("cannot be opened: ") + strerror(err);
        return Error(describe_watch(w) + ": the path " + why, err);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return Error::from_errno("fstat " + w.path());
    if (st.st_dev != w.dev() || st.st_ino != w.ino())
        return Error(describe_watch(w) + ": the path now names another file (" + inode_text(st.st_dev, st.st_ino) +
                     "; the dump watched " + inode_text(w.dev(), w.ino()) + ")");
    std::string handle;
    int type = 0;
    if (!w.handle().empty() && handle_of(fd.get(), &handle, &type) && (handle != w.handle() || type != w.handle_type()))
        return Error(describe_watch(w) + ": the path now names another file (" + inode_text(st.st_dev, st.st_ino) +
                     " again, but another file handle: the inode number was reused)");
    return fd;
}

// Reads and drops every queued event; returns how many bytes there were.
Result<size_t> drain(int inotify_fd) {
    alignas(inotify_event) char buf[16384];
    size_t total = 0;
    for (;;) {
        ssize_t n = ::read(inotify_fd, buf, sizeof buf);
        if (n > 0) {
            total += size_t(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != EAGAIN) return Error::from_errno("inotify: empty the queue");
        return total;
    }
}

// Makes the kernel hand out `wd` next, by adding and removing throwaway
// watches on `burn_path` from `*next` up.
Status burn_until(int inotify_fd, const std::string &burn_path, int32_t wd, int32_t *next) {
    for (int count = 1; *next < wd; ++count) {
        int got = ::inotify_add_watch(inotify_fd, burn_path.c_str(), IN_MODIFY);
        if (got < 0) return Error::from_errno(log::cat("inotify: throwaway watch to skip wd ", *next));
        if (got != *next)
            return Error(log::cat("inotify: the kernel handed out wd ", got, " where ", *next,
                                  " was expected (wds are not allocated one after another here)"));
        if (::inotify_rm_watch(inotify_fd, got) != 0)
            return Error::from_errno(log::cat("inotify: remove throwaway watch wd ", got));
        *next = got + 1;
        if (count % kBurnsPerDrain == 0) STASIS_TRY(drain(inotify_fd).status());
    }
    return ok();
}

}  // namespace

Result<InotifyMark> parse_inotify_mark(std::string_view line) {
    InotifyMark m;
    bool have_wd = false, have_ino = false, have_sdev = false, have_mask = false;
    bool have_bytes = false, have_type = false, have_handle = false;
    uint32_t handle_bytes = 0;
    auto bad = [&](std::string_view what) { return Error("unreadable " + std::string(what) + " in '" + std::string(line) + "'"); };
    if (line.rfind("inotify ", 0) != 0) return bad("inotify line");
    for (auto [key, value] : proc::split_fdinfo_entry(line)) {
        if (key == "wd") {
            if (!(have_wd = parse_hex(value, m.wd)) || m.wd <= 0) return bad("wd");
        } else if (key == "ino") {
            if (!(have_ino = parse_hex(value, m.ino))) return bad("ino");
        } else if (key == "sdev") {
            if (!(have_sdev = parse_hex(value, m.sdev))) return bad("sdev");
        } else if (key == "mask") {
            if (!(have_mask = parse_hex(value, m.mask))) return bad("mask");
        } else if (key == "fhandle-bytes") {
            if (!(have_bytes = parse_hex(value, handle_bytes))) return bad("fhandle-bytes");
        } else if (key == "fhandle-type") {
            if (!(have_type = parse_hex(value, m.handle_type))) return bad("fhandle-type");
        } else if (key == "f_handle") {
            if (!(have_handle = parse_hex_bytes(value, m.handle))) return bad("f_handle");
        }
    }
    if (!have_wd || !have_ino || !have_sdev || !have_mask) return bad("watch (wd, ino, sdev or mask missing)");
    // The kernel prints no handle at all when it cannot encode one.
    if (have_bytes != have_type || have_bytes != have_handle) return bad("file handle (part of it missing)");
    if (have_bytes && handle_bytes != m.handle.size()) return bad("file handle (length differs from fhandle-bytes)");
    return m;
}

Status describe_inotify(pid_t pid, int fd, const proc::FdInfo &info, images::InotifyFile *out) {
    out->set_flags(info.flags & (O_ACCMODE | O_NONBLOCK));
    std::vector<images::InotifyWatch> watches;
    for (const auto &line : info.entries) {
        if (line.rfind("inotify ", 0) != 0) continue;
        STASIS_ASSIGN(InotifyMark m, std::move(parse_inotify_mark(line)).context("inotify"));
        std::string who = log::cat("inotify watch wd ", m.wd, " (inode ", m.ino, ")");
        if (m.mask & ~kRecordedMaskBits)
            return Error(log::cat(who, ": mask ", log::hex(m.mask), " has bits this stasis does not know"));
        if (m.wd > images::kMaxInotifyWd)
            return Error(log::cat(who, ": stasis restores wd numbers up to ", images::kMaxInotifyWd,
                                  " (each lower number is skipped by adding and removing a watch)"));
        if (m.handle.empty())
            return Error(who + ": the kernel shows no file handle for its target (its file system cannot encode "
                               "one), so its path cannot be found");
        STASIS_ASSIGN(HandleTarget t, std::move(find_by_handle(m.sdev, m.handle_type, m.handle, m.ino)).context(who));
        images::InotifyWatch w;
        w.set_wd(m.wd);
        w.set_mask(m.mask);
        w.set_path(t.path);
        w.set_dev(t.st.st_dev);
        w.set_ino(t.st.st_ino);
        w.set_mode(t.st.st_mode & S_IFMT);
        w.set_handle(m.handle);
        w.set_handle_type(m.handle_type);
        log::debug("process ", pid, " fd ", fd, ": ", describe_watch(w), " mask ", log::hex(m.mask));
        watches.push_back(std::move(w));
    }
    std::sort(watches.begin(), watches.end(), [](const auto &a, const auto &b) { return a.wd() < b.wd(); });
    for (size_t i = 1; i < watches.size(); ++i)
        if (watches[i].wd() == watches[i - 1].wd()) return Error(log::cat("inotify: wd ", watches[i].wd(), " listed twice"));
    for (auto &w : watches) *out->add_watches() = std::move(w);

    // Queued events: counted through a copy of the descriptor, never read.
    images::Fd pidfd(int(::syscall(SYS_pidfd_open, pid, 0)));
    images::Fd copy(pidfd.valid() ? int(::syscall(SYS_pidfd_getfd, pidfd.get(), fd, 0)) : -1);
    int queued = 0;
    if (!copy.valid() || ::ioctl(copy.get(), FIONREAD, &queued) != 0)
        log::warn("process ", pid, " fd ", fd, ": cannot tell whether inotify events are queued (", strerror(errno),
                  "); any are lost at restore");
    else if (queued > 0)
        log::warn("process ", pid, " fd ", fd, ": ", queued, " bytes of inotify events are queued and not read; "
                  "they are not saved (reading them would take them from the process) and are lost at restore");
    return ok();
}

Status check_inotify_targets(const images::InotifyFile &f) {
    for (const auto &w : f.watches()) STASIS_TRY(open_target(w).status());
    return ok();
}

Result<int> open_inotify(const images::InotifyFile &f) {
    // Non-blocking while the queue is emptied below; the recorded flags last.
    images::Fd in(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (!in.valid()) return Error::from_errno("inotify_init1");
    images::Fd burn;
    std::string burn_path;
    int32_t next = 1;  // a new instance hands out 1 first
    bool burnt = false;
    for (const auto &w : f.watches()) {
        if (w.wd() < next) return Error(log::cat(describe_watch(w), ": watches not in increasing wd order"));
        if (w.wd() > next && !burn.valid()) {
            // A memfd: an inode nobody else watches, so each throwaway watch
            // is a new one (a second watch on one inode would reuse the wd).
            burn = images::Fd(::memfd_create("stasis-inotify-skip", MFD_CLOEXEC));
            if (!burn.valid()) return Error::from_errno("inotify: memfd_create for throwaway watches");
            burn_path = "/proc/self/fd/" + std::to_string(burn.get());
        }
        burnt = burnt || w.wd() > next;
        STASIS_TRY(std::move(burn_until(in.get(), burn_path, w.wd(), &next)).context(describe_watch(w)));
        STASIS_ASSIGN(images::Fd target, open_target(w));
        std::string through = "/proc/self/fd/" + std::to_string(target.get());
        int got = ::inotify_add_watch(in.get(), through.c_str(), w.mask() | IN_MASK_CREATE);
        if (got < 0) return Error::from_errno(describe_watch(w) + ": inotify_add_watch");
        if (got != w.wd())
            return Error(log::cat(describe_watch(w), ": the kernel handed out wd ", got, " instead"));
        next = got + 1;
    }
    if (burnt) {
        STASIS_ASSIGN(size_t dropped, drain(in.get()));
        log::debug("inotify: ", f.watches_size(), " watches at their wd numbers; ", dropped,
                   " bytes of events from skipped numbers dropped");
    }
    if (!(f.flags() & O_NONBLOCK) && ::fcntl(in.get(), F_SETFL, 0) != 0)
        return Error::from_errno("inotify: clear O_NONBLOCK");
    return in.release();
}

}  // namespace stasis::files
