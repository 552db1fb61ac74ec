#include "common/files/restore_files.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/files/build_id.h"
#include "common/files/epoll.h"
#include "common/files/eventfd.h"
#include "common/files/inotify.h"
#include "common/files/signalfd.h"
#include "common/files/timerfd.h"
#include "common/files/tty_restore.h"
#include "common/images/checkpoint.h"
#include "common/util/log.h"
#include "common/util/sha256.h"

namespace stasis::files {
namespace {

bool is_tty_path(const std::string &path) {
    return path.rfind("/dev/pts/", 0) == 0 || path.rfind("/dev/tty", 0) == 0 || path == "/dev/console";
}

Status check_one(const images::RegFile &reg, const RestoreFileOptions &opts) {
    const std::string path = reg.path();
    const auto &want = reg.identity();
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) return Error::from_errno("file " + path);
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0) return Error::from_errno("stat " + path);
    if ((st.st_mode & S_IFMT) != (want.mode() & S_IFMT))
        return Error("file " + path + " changed since the dump: it is no longer the same kind of file");
    if (!S_ISREG(st.st_mode)) return ok();
    if (uint64_t(st.st_size) != want.size())
        return Error("file " + path + " changed since the dump: size " + std::to_string(st.st_size) + ", was " +
                     std::to_string(want.size()));
    if (opts.validation != dump::FileValidation::size && !want.build_id().empty()) {
        STASIS_ASSIGN(std::string bid, read_build_id(fd));
        if (bid != want.build_id()) return Error("file " + path + " changed since the dump: another ELF build-id");
    }
    if (opts.validation == dump::FileValidation::checksum) {
        if (want.checksum().empty())
            return Error("file " + path + ": the dump recorded no checksum (dump with --file-validation=checksum)");
        Sha256 h;
        std::vector<char> buf(1 << 20);
        for (off_t off = 0;;) {
            ssize_t n = ::pread(fd, buf.data(), buf.size(), off);
            if (n < 0) return Error::from_errno("read " + path);
            if (n == 0) break;
            h.update(buf.data(), size_t(n));
            off += n;
        }
        auto d = h.finish();
        if (want.checksum() != std::string(reinterpret_cast<const char *>(d.data()), d.size()))
            return Error("file " + path + " changed since the dump: its content checksum differs");
    }
    return ok();
}

// Copies ghost-<id>.img's data into fd.
Status fill_from_ghost(int fd, uint32_t ghost_id, uint64_t size, const RestoreFileOptions &opts) {
    std::string name = "ghost-" + std::to_string(ghost_id) + ".img";
    STASIS_ASSIGN(images::RawImage img, images::open_raw_image(opts.images_dir, name, images::IMAGE_GHOST,
                                                              opts.page_size));
    if (img.data_size != size)
        return Error(name + " holds " + std::to_string(img.data_size) + " bytes, the file had " + std::to_string(size));
    loff_t in = loff_t(img.data_offset), out = 0;
    uint64_t left = size;
    while (left) {
        ssize_t n = ::copy_file_range(img.fd.get(), &in, fd, &out, left, 0);
        if (n <= 0) {
            std::vector<char> buf(std::min<uint64_t>(left, 1 << 20));
            ssize_t got = ::pread(img.fd.get(), buf.data(), buf.size(), in);
            if (got <= 0) return Error::from_errno("read " + name);
            if (::pwrite(fd, buf.data(), size_t(got), out) != got) return Error::from_errno("write ghost content");
            n = got;
            in += got;
            out += got;
        }
        left -= uint64_t(n);
    }
    return ok();
}

Result<int> recreate_ghost(const images::RegFile &reg, const RestoreFileOptions &opts) {
    const std::string path = reg.path();
    uint64_t size = reg.identity().size();
    int flags = int(reg.flags()) & ~(O_CREAT | O_EXCL | O_TRUNC);
    if (path.rfind("/memfd:", 0) == 0) {
        int fd = ::memfd_create(path.substr(7).c_str(), MFD_ALLOW_SEALING);
        if (fd < 0) return Error::from_errno("memfd_create for " + path);
        STASIS_TRY(fill_from_ghost(fd, reg.ghost_id(), size, opts));
        ::fchmod(fd, reg.identity().mode() & 07777);
        if (reg.memfd_seals() && ::fcntl(fd, F_ADD_SEALS, int(reg.memfd_seals())) < 0)
            return Error::from_errno("seal memfd " + path);
        return fd;
    }
    // A file deleted while open: recreate it at its path (or next to it if
    // that name is taken now), open it as the process had, unlink it again.
    std::string tmp = path;
    int create = -1;
    for (int attempt = 0; attempt < 100 && create < 0; ++attempt) {
        if (attempt) tmp = path + ".stasis-ghost-" + std::to_string(attempt);
        create = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, reg.identity().mode() & 07777);
        if (create < 0 && errno != EEXIST) return Error::from_errno("recreate deleted file " + path);
    }
    if (create < 0) return Error("recreate deleted file " + path + ": no free name next to it");
    auto st = fill_from_ghost(create, reg.ghost_id(), size, opts);
    // The owner is restored where this restore may set it (as root); the
    // content and the open file matter more than its owner.
    if (::fchown(create, reg.uid(), reg.gid()) != 0)
        log::warn("recreated deleted file ", path, " keeps owner ", ::geteuid(), " instead of ", reg.uid(), ":",
                  reg.gid(), ": ", std::strerror(errno));
    int fd = st.ok() ? ::open(tmp.c_str(), flags | O_NOCTTY) : -1;
    int err = errno;
    ::unlink(tmp.c_str());
    ::close(create);
    if (!st.ok()) return std::move(st).error();
    if (fd < 0) return Error::from_errno("open recreated " + path, err);
    return fd;
}

}  // namespace

Status validate_files(const std::vector<images::FileEntry> &files, const RestoreFileOptions &opts) {
    for (const auto &f : files) {
        if (f.has_inotify()) STASIS_TRY(check_inotify_targets(f.inotify()));
        if (f.kind_case() != images::FileEntry::kReg) continue;
        const auto &reg = f.reg();
        if (reg.ghost_id()) continue;  // content comes from the image
        if (opts.shell_job && is_tty_path(reg.path())) continue;
        STASIS_TRY(check_one(reg, opts));
    }
    return check_pty_indexes_free(files);
}

namespace {
Result<int> set_position(int fd, const images::RegFile &reg) {
    struct stat st {};
    if (::fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
        if (::lseek(fd, off_t(reg.pos()), SEEK_SET) < 0) {
            int err = errno;
            ::close(fd);
            return Error::from_errno("seek " + std::string(reg.path()), err);
        }
    }
    return fd;
}
}  // namespace

Result<int> reopen_file(int existing, const images::FileEntry &entry) {
    const auto &reg = entry.reg();
    std::string self = "/proc/self/fd/" + std::to_string(existing);
    int flags = int(reg.flags()) & ~(O_CREAT | O_EXCL | O_TRUNC);
    int fd = ::open(self.c_str(), flags | O_NOCTTY);
    if (fd < 0) return Error::from_errno("reopen " + std::string(reg.path()));
    return set_position(fd, reg);
}

Result<int> open_file(const images::FileEntry &entry, const RestoreFileOptions &opts) {
    switch (entry.kind_case()) {
        case images::FileEntry::kReg: break;
        case images::FileEntry::kEventfd: return open_eventfd(entry.eventfd());
        case images::FileEntry::kSignalfd: return open_signalfd(entry.signalfd());
        case images::FileEntry::kTimerfd: return open_timerfd(entry.timerfd());
        case images::FileEntry::kEpoll: return open_epoll(entry.epoll());
        case images::FileEntry::kInotify:
            return std::move(open_inotify(entry.inotify())).context("file #" + std::to_string(entry.id()));
        default: return Error("file #" + std::to_string(entry.id()) + ": this kind of file cannot be opened alone");
    }
    const auto &reg = entry.reg();
    int fd;
    if (reg.ghost_id()) {
        STASIS_ASSIGN(fd, recreate_ghost(reg, opts));
    } else if (is_tty_path(reg.path()) && opts.shell_job) {
        // --shell-job: the process gets the terminal stasis runs on.
        fd = ::open("/dev/tty", int(reg.flags() & (O_ACCMODE | O_NONBLOCK | O_APPEND)) | O_NOCTTY);
        if (fd < 0) return Error::from_errno("--shell-job: open our terminal /dev/tty");
    } else {
        int flags = int(reg.flags()) & ~(O_CREAT | O_EXCL | O_TRUNC);
        fd = ::open(reg.path().c_str(), flags | O_NOCTTY);
        if (fd < 0) return Error::from_errno("open " + reg.path());
    }
    // Status flags the open above cannot set (O_APPEND/O_NONBLOCK are there;
    // ghost memfds need them too).
    ::fcntl(fd, F_SETFL, int(reg.flags()) & (O_APPEND | O_NONBLOCK | O_ASYNC | O_NOATIME | O_DIRECT));
    return set_position(fd, reg);
}

}  // namespace stasis::files
