#include "common/files/file_table.h"

#include <fcntl.h>
#include <linux/kcmp.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "common/files/build_id.h"
#include "common/files/epoll.h"
#include "common/files/eventfd.h"
#include "common/files/inotify.h"
#include "common/files/pipe.h"
#include "common/files/signalfd.h"
#include "common/files/timerfd.h"
#include "common/files/unix_diag.h"
#include "common/files/unix_socket.h"
#include "common/images/format.h"
#include "common/proc/read_file.h"
#include "common/util/log.h"
#include "common/util/sha256.h"

namespace stasis::files {
namespace {

constexpr const char kDeleted[] = " (deleted)";

bool strip_deleted(std::string &path) {
    size_t n = sizeof kDeleted - 1;
    if (path.size() > n && path.compare(path.size() - n, n, kDeleted) == 0) {
        path.resize(path.size() - n);
        return true;
    }
    return false;
}

bool is_tty_path(const std::string &path) {
    return path.rfind("/dev/pts/", 0) == 0 || path.rfind("/dev/tty", 0) == 0 || path == "/dev/console";
}

class ScopedFd {
public:
    explicit ScopedFd(int fd) : fd_(fd) {}
    ~ScopedFd() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const { return fd_; }

private:
    int fd_;
};

}  // namespace

Status FileTable::fill_identity(int fd, images::FileIdentity *id) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return Error::from_errno("fstat");
    id->set_size(uint64_t(st.st_size));
    id->set_mtime_ns(uint64_t(st.st_mtim.tv_sec) * 1000000000ull + uint64_t(st.st_mtim.tv_nsec));
    id->set_dev(st.st_dev);
    id->set_ino(st.st_ino);
    id->set_mode(st.st_mode);
    if (!S_ISREG(st.st_mode)) return ok();
    if (opts_.validation != dump::FileValidation::size) {
        STASIS_ASSIGN(std::string bid, read_build_id(fd));
        id->set_build_id(bid);
    }
    if (opts_.validation == dump::FileValidation::checksum) {
        Sha256 h;
        std::vector<char> buf(1 << 20);
        off_t off = 0;
        for (;;) {
            ssize_t n = ::pread(fd, buf.data(), buf.size(), off);
            if (n < 0) return Error::from_errno("read for checksum");
            if (n == 0) break;
            h.update(buf.data(), size_t(n));
            off += n;
        }
        auto d = h.finish();
        id->set_checksum(d.data(), d.size());
    }
    return ok();
}

Result<uint32_t> FileTable::save_ghost(int fd, uint64_t size) {
    uint32_t gid = next_ghost_++;
    STASIS_ASSIGN(auto w, images::RawImageWriter::create(opts_.images_dir, "ghost-" + std::to_string(gid) + ".img",
                                                         images::IMAGE_GHOST, opts_.page_size));
    std::vector<char> buf(1 << 20);
    uint64_t off = 0;
    while (off < size) {
        ssize_t n = ::pread(fd, buf.data(), std::min<uint64_t>(buf.size(), size - off), off_t(off));
        if (n < 0) return Error::from_errno("read deleted file content");
        if (n == 0) break;
        STASIS_TRY(w.append(buf.data(), size_t(n)));
        off += uint64_t(n);
    }
    ghosts_.push_back(std::move(w));
    return gid;
}

Result<uint32_t> FileTable::add_reg(pid_t pid, const std::string &proc_link, const std::string &shown_path, int fd,
                                    uint32_t flags, uint64_t pos) {
    ScopedFd f(::open(proc_link.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
    if (f.get() < 0) return Error::from_errno("open " + proc_link);
    struct stat st {};
    if (::fstat(f.get(), &st) != 0) return Error::from_errno("fstat " + proc_link);

    // The same description shared by several fds of the tree: one entry.
    if (fd >= 0) {
        for (const auto &k : known_) {
            if (k.fd < 0 || k.dev != st.st_dev || k.ino != st.st_ino) continue;
            if (::syscall(SYS_kcmp, k.pid, pid, KCMP_FILE, k.fd, fd) == 0) return k.id;
        }
    } else {
        // Mappings of one file share one entry (no offset to keep).
        for (const auto &k : known_)
            if (k.fd < 0 && k.dev == st.st_dev && k.ino == st.st_ino &&
                entries_[k.id - 1].reg().flags() == flags)
                return k.id;
    }

    std::string path = shown_path;
    bool deleted = strip_deleted(path);
    if (is_tty_path(path) && !opts_.shell_job)
        return Error(proc_link + " is the terminal " + path +
                     "; run the process detached from the terminal or pass --shell-job");
    images::FileEntry e;
    e.set_id(uint32_t(entries_.size() + 1));
    auto *reg = e.mutable_reg();
    reg->set_path(path);
    reg->set_flags(flags);
    reg->set_pos(pos);
    reg->set_uid(st.st_uid);
    reg->set_gid(st.st_gid);
    STASIS_TRY(std::move(fill_identity(f.get(), reg->mutable_identity())).context(proc_link));
    bool memfd = path.rfind("/memfd:", 0) == 0;
    if (deleted || memfd || st.st_nlink == 0) {
        if (!S_ISREG(st.st_mode)) return Error(proc_link + ": deleted non-regular file " + path + " cannot be restored");
        uint32_t ghost = ghost_of(st.st_dev, st.st_ino);
        if (!ghost) {
            STASIS_ASSIGN(ghost, save_ghost(f.get(), uint64_t(st.st_size)));
        }
        reg->set_ghost_id(ghost);
        if (memfd) {
            int seals = ::fcntl(f.get(), F_GET_SEALS);
            if (seals > 0) reg->set_memfd_seals(uint32_t(seals));
        }
        log::debug("saved content of deleted file ", path, " (", st.st_size, " bytes) as ghost ", ghost);
    }
    entries_.push_back(std::move(e));
    known_.push_back(Known{uint32_t(entries_.size()), pid, fd, st.st_dev, st.st_ino});
    return uint32_t(entries_.size());
}

uint32_t FileTable::ghost_of(uint64_t dev, uint64_t ino) const {
    for (const auto &k : known_) {
        const auto &e = entries_[k.id - 1];
        if (k.dev == dev && k.ino == ino && e.has_reg() && e.reg().ghost_id()) return e.reg().ghost_id();
    }
    return 0;
}

Result<uint32_t> FileTable::add_sysv_shm(pid_t pid, const proc::Mapping &m) {
    int shmid = int(m.inode);  // the maps inode column of a SysV attachment is its id
    for (const auto &e : entries_)
        if (e.has_sysv_shm() && e.sysv_shm().id() == shmid) return e.id();
    struct shmid_ds ds {};
    if (::shmctl(shmid, IPC_STAT, &ds) != 0) return Error::from_errno("SysV shm segment " + std::to_string(shmid));
    char name[64];
    std::snprintf(name, sizeof name, "%llx-%llx", (unsigned long long)m.start, (unsigned long long)m.end);
    std::string link = proc::proc_path(pid, std::string("map_files/") + name);
    ScopedFd f(::open(link.c_str(), O_RDONLY | O_CLOEXEC));
    if (f.get() < 0) return Error::from_errno("open " + link);
    images::FileEntry e;
    e.set_id(uint32_t(entries_.size() + 1));
    auto *seg = e.mutable_sysv_shm();
    seg->set_id(shmid);
    seg->set_key(ds.shm_perm.__key);
    seg->set_size(ds.shm_segsz);
    seg->set_mode(ds.shm_perm.mode & 0777);
    seg->set_uid(ds.shm_perm.uid);
    seg->set_gid(ds.shm_perm.gid);
    seg->set_removed((ds.shm_perm.mode & SHM_DEST) != 0);
    STASIS_ASSIGN(uint32_t ghost, save_ghost(f.get(), ds.shm_segsz));
    seg->set_ghost_id(ghost);
    entries_.push_back(std::move(e));
    return uint32_t(entries_.size());
}

Result<uint32_t> FileTable::add_mapping(pid_t pid, const proc::Mapping &m) {
    char name[64];
    std::snprintf(name, sizeof name, "%llx-%llx", (unsigned long long)m.start, (unsigned long long)m.end);
    std::string link = proc::proc_path(pid, std::string("map_files/") + name);
    STASIS_ASSIGN(std::string target, proc::read_link(link));
    uint32_t flags = (m.shared && (m.prot & 0x2)) ? O_RDWR : O_RDONLY;
    return std::move(add_reg(pid, link, target, -1, flags, 0)).context("mapping " + std::string(name));
}

Result<uint32_t> FileTable::add_exe(pid_t pid) {
    std::string link = proc::proc_path(pid, "exe");
    STASIS_ASSIGN(std::string target, proc::read_link(link));
    return add_reg(pid, link, target, -1, O_RDONLY, 0);
}

Result<uint32_t> FileTable::add_fd(pid_t pid, int fd) {
    std::string ctx = "fd " + std::to_string(fd);
    STASIS_ASSIGN(std::string target, std::move(proc::read_fd_link(pid, fd)).context(ctx));
    STASIS_ASSIGN(proc::FdInfo info, std::move(proc::read_fdinfo(pid, fd)).context(ctx));
    std::string link = proc::proc_path(pid, "fd/" + std::to_string(fd));
    return std::move(add_fd_of_kind(pid, fd, link, target, info)).context(ctx);
}

Result<uint32_t> FileTable::add_fd_of_kind(pid_t pid, int fd, const std::string &link, const std::string &target,
                                           const proc::FdInfo &info) {
    if (!target.empty() && target[0] == '/') {
        struct stat st {};
        bool found = ::stat(link.c_str(), &st) == 0;
        if (found && tty_kind(st) != TtyKind::other) {
            STASIS_ASSIGN(uint32_t id, add_tty(pid, fd, target, st, info));
            if (id) return id;  // else a terminal outside the tree: --shell-job
        }
        if (found && S_ISFIFO(st.st_mode)) {
            std::string path = target;
            if (strip_deleted(path) || st.st_nlink == 0)
                return Error("the FIFO " + path + " was deleted while open; it cannot be reopened by path");
            return add_pipe(pid, fd, link, info, path);
        }
        return add_reg(pid, link, target, fd, info.flags, info.pos);
    }
    if (target.rfind("pipe:[", 0) == 0) return add_pipe(pid, fd, link, info, "");
    for (const char *kind : {"eventfd", "signalfd", "timerfd", "eventpoll"})
        if (target == std::string("anon_inode:[") + kind + "]") return add_anon(pid, fd, link, kind, info);
    if (target == "anon_inode:inotify") return add_anon(pid, fd, link, "inotify", info);
    if (target == "anon_inode:[fanotify]")
        return Error("is a fanotify instance (" + target + "): not supported (its marks, and permission events "
                     "a process may be answering, cannot be restored)");
    if (target.rfind("socket:[", 0) == 0) return add_socket(pid, fd, link, info);
    return Error("is " + target + ": this kind of file is not supported yet");
}

uint32_t FileTable::known_description(pid_t pid, int fd, uint64_t dev, uint64_t ino) const {
    for (const auto &k : known_) {
        if (k.fd < 0 || k.dev != dev || k.ino != ino) continue;
        if (::syscall(SYS_kcmp, k.pid, pid, KCMP_FILE, k.fd, fd) == 0) return k.id;
    }
    return 0;
}

uint32_t FileTable::push(images::FileEntry e, pid_t pid, int fd, uint64_t dev, uint64_t ino) {
    uint32_t id = uint32_t(entries_.size() + 1);
    e.set_id(id);
    entries_.push_back(std::move(e));
    known_.push_back(Known{id, pid, fd, dev, ino});
    return id;
}

Result<uint32_t> FileTable::add_pipe(pid_t pid, int fd, const std::string &link, const proc::FdInfo &info,
                                     const std::string &fifo_path) {
    struct stat st {};
    if (::stat(link.c_str(), &st) != 0) return Error::from_errno("stat " + link);
    if (uint32_t id = known_description(pid, fd, st.st_dev, st.st_ino)) return id;
    bool first_end = pipes_with_data_.insert({st.st_dev, st.st_ino}).second;
    images::FileEntry e;
    STASIS_TRY(describe_pipe(link, info, fifo_path, first_end, e.mutable_pipe()));
    if (!e.pipe().buffered().empty())
        log::debug(link, ": ", e.pipe().buffered().size(), " bytes queued in the pipe, saved");
    return push(std::move(e), pid, fd, st.st_dev, st.st_ino);
}

Result<uint32_t> FileTable::add_anon(pid_t pid, int fd, const std::string &link, const std::string &kind,
                                     const proc::FdInfo &info) {
    struct stat st {};
    if (::stat(link.c_str(), &st) != 0) return Error::from_errno("stat " + link);
    if (uint32_t id = known_description(pid, fd, st.st_dev, st.st_ino)) return id;
    images::FileEntry e;
    if (kind == "eventfd") {
        STASIS_TRY(describe_eventfd(pid, fd, info, e.mutable_eventfd()));
    } else if (kind == "signalfd") {
        STASIS_TRY(describe_signalfd(info, e.mutable_signalfd()));
    } else if (kind == "timerfd") {
        STASIS_TRY(describe_timerfd(pid, fd, info, e.mutable_timerfd()));
    } else if (kind == "inotify") {
        STASIS_TRY(describe_inotify(pid, fd, info, e.mutable_inotify()));
    } else {
        // Its watch list names fds of whoever added them, not of this process.
        if (in_flight_depth_ > 0) return Error("an epoll instance in flight (SCM_RIGHTS): not supported");
        STASIS_ASSIGN(auto watches, list_epoll_watches(pid, fd, info));
        auto *ep = e.mutable_epoll();
        ep->set_flags(info.flags & (O_ACCMODE | O_NONBLOCK));
        for (auto &w : watches) {
            // The watched file gets its entry first (a nested epoll, a pipe
            // at a higher fd number): the watch refers to it by id.
            STASIS_ASSIGN(uint32_t target, std::move(add_fd(pid, w.fd())).context("epoll watch"));
            w.set_file_id(target);
            *ep->add_watches() = std::move(w);
        }
    }
    return push(std::move(e), pid, fd, st.st_dev, st.st_ino);
}

Result<uint32_t> FileTable::add_socket(pid_t pid, int fd, const std::string &link, const proc::FdInfo &info) {
    struct stat st {};
    if (::stat(link.c_str(), &st) != 0) return Error::from_errno("stat " + link);
    if (uint32_t id = known_description(pid, fd, st.st_dev, st.st_ino)) return id;
    images::FileEntry e;
    std::string sock = "socket:[" + std::to_string(st.st_ino) + "]";
    STASIS_ASSIGN(images::Fd copy, std::move(copy_of_socket(pid, fd)).context(sock));
    STASIS_ASSIGN(int family, std::move(socket_family(copy.get())).context(sock));
    if (family == AF_INET || family == AF_INET6) {
        STASIS_TRY(TcpSockets::describe(st.st_ino, info, copy, e.mutable_tcp_sk()));
        images::TcpSocketFile sk = e.tcp_sk();
        uint32_t id = push(std::move(e), pid, fd, st.st_dev, st.st_ino);
        STASIS_TRY(tcp_.hold(id, pid, fd, std::move(copy), sk));
        return id;
    }
    uint64_t peer_ino = 0;
    std::vector<InFlight> in_flight;
    STASIS_TRY(describe_unix_socket(pid, fd, st.st_ino, info, e.mutable_unix_sk(), &peer_ino, &in_flight));
    uint32_t id = push(std::move(e), pid, fd, st.st_dev, st.st_ino);
    unix_by_ino_[st.st_ino] = id;
    if (peer_ino) unix_peer_ino_[id] = peer_ino;
    STASIS_TRY(add_in_flight(id, std::move(in_flight)));
    return id;
}

// Descriptors in flight on socket `id`'s queue: descriptors of this
// process now, described like the tree's own (a description the tree also
// holds is found by kcmp and shared). They stay open as long as the table,
// so that kcmp can compare later fds with them.
Status FileTable::add_in_flight(uint32_t id, std::vector<InFlight> in_flight) {
    if (in_flight.empty()) return ok();
    if (in_flight_depth_ >= kMaxInFlightDepth)
        return Error(log::cat("descriptors in flight nested ", kMaxInFlightDepth,
                              " deep (sockets sent over sockets that carry descriptors)"));
    ++in_flight_depth_;
    Status st = ok();
    size_t count = 0;
    for (auto &f : in_flight) {
        images::UnixInFlight rec;
        rec.set_message(f.message);
        for (auto &d : f.fds) {
            int mine = d.get();
            in_flight_fds_.push_back(std::move(d));
            auto target = add_fd(::getpid(), mine);
            if (!target.ok()) {
                st = std::move(target).error().context(log::cat("a descriptor in flight on queued message ", f.message));
                break;
            }
            rec.add_file_ids(*target);
            ++count;
        }
        if (!st.ok()) break;
        *entries_[id - 1].mutable_unix_sk()->add_in_flight() = std::move(rec);
    }
    --in_flight_depth_;
    STASIS_TRY(std::move(st));
    log::debug(unix_socket_label(entries_[id - 1].unix_sk().ino(), entries_[id - 1].unix_sk().name()), ": ", count,
               " descriptor(s) in flight, saved");
    return ok();
}

Status FileTable::link_unix_peers() {
    for (const auto &[id, peer_ino] : unix_peer_ino_) {
        auto *sk = entries_[id - 1].mutable_unix_sk();
        auto peer = unix_by_ino_.find(peer_ino);
        if (peer != unix_by_ino_.end()) {
            sk->set_peer_id(peer->second);
            continue;
        }
        const Known *k = nullptr;
        for (const auto &kn : known_)
            if (kn.id == id) k = &kn;
        auto d = unix_diag(peer_ino);
        std::string peer_name = d.ok() ? d->name : std::string();
        std::string who = log::cat("process ", k ? k->pid : 0, ": fd ", k ? k->fd : -1, ": ",
                                   unix_socket_label(sk->ino(), sk->name()), " is connected to ",
                                   unix_socket_label(peer_ino, peer_name), ", which no process of the dumped tree holds");
        bool reconnectable = sk->type() == SOCK_DGRAM && !peer_name.empty();
        if (!reconnectable)
            return Error(who + " (a server or client outside the tree, or a connection not accepted yet); such "
                               "sockets cannot be restored");
        if (!opts_.ext_unix_sk)
            return Error(who + "; pass --ext-unix-sk to have the restore connect it to that name again");
        if (sk->queued_size())
            return Error(who + ", and datagrams from it are queued: they cannot be sent again from outside");
        sk->set_external_peer(peer_name);
        log::info(who, ": --ext-unix-sk: the restore connects it to that name again");
    }
    return ok();
}

// A pipe end nobody in the tree holds is closed at restore: say so now.
void FileTable::warn_about_half_pipes() const {
    std::map<std::pair<uint64_t, std::string>, std::pair<bool, bool>> ends;  // -> (read, write)
    for (const auto &e : entries_) {
        if (!e.has_pipe()) continue;
        auto &[rd, wr] = ends[{e.pipe().pipe_ino(), e.pipe().fifo_path()}];
        uint32_t mode = e.pipe().flags() & O_ACCMODE;
        rd = rd || mode != O_WRONLY;
        wr = wr || mode != O_RDONLY;
    }
    for (const auto &[pipe, has] : ends) {
        if (has.first && has.second) continue;
        std::string name = pipe.second.empty() ? "pipe:[" + std::to_string(pipe.first) + "]" : "FIFO " + pipe.second;
        if (has.first)
            log::warn(name, ": no process of the tree holds its write end; after restore readers see end of file "
                            "once the queued data is read");
        else
            log::warn(name, ": no process of the tree holds its read end; after restore writers get EPIPE");
    }
}

Status FileTable::commit() {
    warn_about_half_pipes();
    for (auto &g : ghosts_) STASIS_TRY(g.commit());
    ghosts_.clear();
    return ok();
}

}  // namespace stasis::files
