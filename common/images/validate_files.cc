// Checks of files.img: each kind of file alone, the ends of one pipe
// together, unix sockets against their peers, TCP sockets alone (a
// connection's peer may be outside the tree), and epoll watches against
// the fd table that holds them.
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/timerfd.h>
#include <time.h>

#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

#include "common/images/format.h"
#include "common/images/validate.h"
#include "common/util/log.h"

namespace stasis::images::validate {
namespace {

// F_SETPIPE_SZ takes an int; the kernel's ceiling (pipe-max-size) is lower.
constexpr uint32_t kMaxPipeSize = 1u << 30;
// Far beyond any real timer, and far enough from 2^64 that now + value
// cannot wrap when an absolute timer is rearmed.
constexpr uint64_t kMaxTimerNs = 1ull << 62;
constexpr uint32_t kStatusFlags = O_ACCMODE | O_NONBLOCK;

Status status_flags(uint32_t flags) {
    if (flags & ~kStatusFlags) return Error(log::cat("flags ", log::hex(flags), " beyond O_ACCMODE|O_NONBLOCK"));
    if ((flags & O_ACCMODE) == O_ACCMODE) return Error(log::cat("flags ", log::hex(flags), ": invalid access mode"));
    return ok();
}

bool power_of_two(uint64_t v) { return v && !(v & (v - 1)); }

// What the ends of one pipe (same inode, same FIFO path) must agree on.
struct PipeGroup {
    uint32_t first_id = 0;
    uint32_t size = 0;
    uint32_t buffered_on = 0;
};
using PipeGroups = std::map<std::pair<uint64_t, std::string>, PipeGroup>;

// A pipe's buffered data must fit in it (else writing it back blocks the
// restore forever) and be stored on one end only.
Status pipe_file(const FileEntry &f, PipeGroups *groups) {
    const PipeFile &p = f.pipe();
    STASIS_TRY(status_flags(p.flags()));
    if (p.buffered().size() > p.pipe_size())
        return Error(log::cat("pipe holds ", p.buffered().size(), " buffered bytes, more than its pipe_size ",
                              p.pipe_size()));
    if (!power_of_two(p.pipe_size()) || p.pipe_size() < kMinPageSize || p.pipe_size() > kMaxPipeSize)
        return Error(log::cat("pipe_size ", p.pipe_size(), " is not a power of two in ", kMinPageSize, "..",
                              kMaxPipeSize));
    STASIS_TRY(name_bytes("fifo_path", p.fifo_path(), kMaxPathBytes));
    if (!p.fifo_path().empty() && p.fifo_path()[0] != '/') return Error("fifo_path is not absolute");
    std::string name = p.fifo_path().empty() ? log::cat("pipe:[", p.pipe_ino(), "]") : "FIFO " + p.fifo_path();
    PipeGroup &g = (*groups)[{p.pipe_ino(), p.fifo_path()}];
    if (!g.first_id) {
        g.first_id = f.id();
        g.size = p.pipe_size();
    } else if (g.size != p.pipe_size()) {
        return Error(log::cat(name, " has pipe_size ", p.pipe_size(), " here and ", g.size, " on file id ",
                              g.first_id));
    }
    if (!p.buffered().empty()) {
        if (g.buffered_on)
            return Error(log::cat(name, " has buffered data on two ends (file ids ", g.buffered_on, " and ", f.id(),
                                  ")"));
        g.buffered_on = f.id();
    }
    return ok();
}

Status eventfd_file(const EventfdFile &e) {
    if (e.counter() == UINT64_MAX) return Error("eventfd counter 2^64-1 (the kernel's maximum is 2^64-2)");
    return status_flags(e.flags());
}

Status timerfd_file(const TimerfdFile &t) {
    STASIS_TRY(status_flags(t.flags()));
    static const std::set<int32_t> clocks{CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_REALTIME_ALARM,
                                          CLOCK_BOOTTIME_ALARM};
    if (!clocks.count(t.clockid())) return Error(log::cat("timerfd on clock ", t.clockid(), ", not one timerfd uses"));
    if (t.settime_flags() & ~uint32_t(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET))
        return Error(log::cat("timerfd settime_flags ", log::hex(t.settime_flags()), " unknown"));
    if (t.value_ns() > kMaxTimerNs || t.interval_ns() > kMaxTimerNs)
        return Error(log::cat("timerfd value ", t.value_ns(), " ns or interval ", t.interval_ns(), " ns over 2^62"));
    return ok();
}

Status epoll_file(const FileEntry &f, const FileIndex &index) {
    const EpollFile &e = f.epoll();
    STASIS_TRY(status_flags(e.flags()));
    if (uint32_t(e.watches_size()) > kMaxFdsPerTask)
        return Error(log::cat(e.watches_size(), " epoll watches (at most ", kMaxFdsPerTask, ")"));
    std::set<std::pair<int32_t, uint32_t>> seen;
    for (int i = 0; i < e.watches_size(); i++) {
        const EpollWatch &w = e.watches(i);
        if (w.fd() < 0) return Error(log::cat("epoll watch #", i, ": negative fd ", w.fd()));
        if (w.file_id() == f.id()) return Error(log::cat("epoll watch #", i, ": watches itself"));
        if (!index.count(w.file_id()))
            return Error(log::cat("epoll watch #", i, ": file_id ", w.file_id(), " is not in files.img"));
        if (!seen.insert({w.fd(), w.file_id()}).second)
            return Error(log::cat("epoll watch #", i, ": fd ", w.fd(), " watched twice"));
    }
    return ok();
}

// Watches in increasing wd order (the restore adds them so), each a
// number the kernel can hand out, a mask inotify_add_watch accepts, and an
// absolute path.
Status inotify_file(const InotifyFile &in) {
    STASIS_TRY(status_flags(in.flags()));
    if (uint32_t(in.watches_size()) > kMaxFdsPerTask)
        return Error(log::cat(in.watches_size(), " inotify watches (at most ", kMaxFdsPerTask, ")"));
    constexpr uint32_t kMaskBits = IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK;
    int32_t last = 0;
    for (int i = 0; i < in.watches_size(); i++) {
        const InotifyWatch &w = in.watches(i);
        std::string who = log::cat("inotify watch #", i, " (wd ", w.wd(), ")");
        if (w.wd() <= last || w.wd() > kMaxInotifyWd)
            return Error(log::cat(who, ": wd not in ", last + 1, "..", kMaxInotifyWd, " (increasing order)"));
        last = w.wd();
        if (w.mask() & ~kMaskBits) return Error(log::cat(who, ": mask ", log::hex(w.mask()), " has unknown bits"));
        STASIS_TRY(std::move(name_bytes("path", w.path(), kMaxPathBytes)).context(who));
        if (w.path().empty() || w.path()[0] != '/') return Error(who + ": path is not absolute");
        if (w.mode() & ~uint32_t(S_IFMT)) return Error(log::cat(who, ": mode ", log::hex(w.mode()), " beyond S_IFMT"));
        if (w.handle().size() > MAX_HANDLE_SZ)
            return Error(log::cat(who, ": file handle of ", w.handle().size(), " bytes (at most ", MAX_HANDLE_SZ, ")"));
    }
    return ok();
}

// sun_path's size: the longest name a unix socket can be bound to.
constexpr size_t kMaxUnixName = sizeof(sockaddr_un{}.sun_path);
// Far more than a socket's buffers can hold (net.core.rmem_max is 208 KiB by
// default): a bound on what the restore sends back.
constexpr uint64_t kMaxUnixQueuedBytes = 1ull << 30;
constexpr uint32_t kMaxUnixMessages = 1u << 20;
// SCM_MAX_FD: the most descriptors one message carries.
constexpr int kMaxFdsInFlight = 253;

Status unix_address(const char *what, const std::string &name) {
    if (name.size() > kMaxUnixName)
        return Error(log::cat("unix socket ", what, " of ", name.size(), " bytes (at most ", kMaxUnixName, ")"));
    bool path = !name.empty() && name[0] != '\0';
    if (path && name[0] != '/') return Error(log::cat("unix socket ", what, " is a path that is not absolute"));
    if (path && name.find('\0') != std::string::npos) return Error(log::cat("unix socket ", what, " holds a NUL byte"));
    return ok();
}

Status unix_name(const UnixSocketFile &u) {
    const std::string &name = u.name();
    STASIS_TRY(unix_address("name", name));
    STASIS_TRY(unix_address("external_peer", u.external_peer()));
    bool path = !name.empty() && name[0] != '\0';
    if (u.name_unlinked() && !path) return Error("name_unlinked on a socket not bound to a path");
    if (!u.external_peer().empty() &&
        (u.type() != SOCK_DGRAM || u.state() != UNIX_SK_CONNECTED || u.peer_id() || u.queued_size()))
        return Error("external_peer on a socket other than a connected dgram socket without peer_id or queue");
    if (u.name_mode() & ~07777u) return Error(log::cat("unix socket file mode ", log::hex(u.name_mode()), " beyond 07777"));
    return ok();
}

// One unix socket alone.
Status unix_file(const UnixSocketFile &u) {
    if (u.type() != SOCK_STREAM && u.type() != SOCK_DGRAM && u.type() != SOCK_SEQPACKET)
        return Error(log::cat("unix socket type ", u.type(), ", not stream, dgram or seqpacket"));
    STASIS_TRY(status_flags(u.flags()));
    if ((u.flags() & O_ACCMODE) != O_RDWR) return Error(log::cat("unix socket flags ", log::hex(u.flags()), " not O_RDWR"));
    if (!UnixSocketState_IsValid(u.state())) return Error(log::cat("unix socket state ", int(u.state()), " unknown"));
    STASIS_TRY(unix_name(u));
    if (u.shutdown() > 3) return Error(log::cat("unix socket shutdown ", u.shutdown(), " beyond 3"));
    if (u.rcvbuf() > INT32_MAX || u.sndbuf() > INT32_MAX || u.backlog() > INT32_MAX)
        return Error("unix socket rcvbuf, sndbuf or backlog beyond 2^31-1");
    if (u.peer_id() && u.state() != UNIX_SK_CONNECTED) return Error("unix socket has a peer but is not connected");
    if (u.state() == UNIX_SK_LISTENING) {
        if (u.name().empty()) return Error("listening unix socket without a name");
        if (u.type() == SOCK_DGRAM) return Error("listening dgram socket");
        if (u.queued_size()) return Error("listening unix socket with queued data");
    }
    if (uint32_t(u.queued_size()) > kMaxUnixMessages)
        return Error(log::cat(u.queued_size(), " queued messages (at most ", kMaxUnixMessages, ")"));
    std::set<int> carrying;
    int last = -1;
    for (const auto &f : u.in_flight()) {
        if (f.message() >= uint32_t(u.queued_size()) || int(f.message()) <= last)
            return Error(log::cat("descriptors in flight on queued message ", f.message(), " of ", u.queued_size(),
                                  ", not in queued order"));
        last = int(f.message());
        if (f.file_ids().empty() || f.file_ids_size() > kMaxFdsInFlight)
            return Error(log::cat(f.file_ids_size(), " descriptors in flight on one message (1 to ", kMaxFdsInFlight,
                                  ")"));
        carrying.insert(last);
    }
    // A stream's data is split only around the parts that carry descriptors.
    for (int i = 0; u.type() == SOCK_STREAM && i + 1 < u.queued_size(); ++i)
        if (!carrying.count(i) && !carrying.count(i + 1))
            return Error("stream socket with its data in several parts, not split where descriptors are in flight");
    uint64_t total = 0;
    for (const std::string &m : u.queued()) {
        if (m.empty() && u.type() == SOCK_STREAM) return Error("empty queued message on a stream socket");
        total += m.size();
    }
    if (total > kMaxUnixQueuedBytes)
        return Error(log::cat(total, " queued bytes on a unix socket (at most ", kMaxUnixQueuedBytes, ")"));
    return ok();
}

// A unix socket and its peer: an existing socket of the same type; the two
// ends of a connection each other's peers.
Status unix_peer(const FileEntry &f, const FileIndex &index, std::set<uint64_t> *inodes) {
    const UnixSocketFile &u = f.unix_sk();
    if (!inodes->insert(u.ino()).second) return Error(log::cat("socket:[", u.ino(), "] listed twice"));
    for (const auto &f : u.in_flight())
        for (uint32_t id : f.file_ids())
            if (!index.count(id))
                return Error(log::cat("descriptor in flight: file_id ", id, " is not in files.img"));
    if (!u.peer_id()) return ok();
    auto it = index.find(u.peer_id());
    if (it == index.end()) return Error(log::cat("unix socket peer file_id ", u.peer_id(), " is not in files.img"));
    if (u.peer_id() == f.id()) return Error("unix socket is its own peer");
    if (!it->second->has_unix_sk())
        return Error(log::cat("unix socket peer file_id ", u.peer_id(), " is not a unix socket"));
    const UnixSocketFile &p = it->second->unix_sk();
    if (p.type() != u.type())
        return Error(log::cat("unix socket of type ", u.type(), " has a peer (file id ", u.peer_id(), ") of type ",
                              p.type()));
    if (u.type() != SOCK_DGRAM && p.peer_id() != f.id())
        return Error(log::cat("unix socket's peer (file id ", u.peer_id(), ") has peer file id ", p.peer_id(),
                              ": the ends of a connection disagree"));
    if (u.type() == SOCK_DGRAM && p.name().empty() && p.peer_id() != f.id())
        return Error(log::cat("dgram socket connected to file id ", u.peer_id(), ", which has no name"));
    return ok();
}

// A TCP socket alone: addresses of its family, a connection exactly when
// established, queues and negotiated values within what the kernel allows.
constexpr uint64_t kMaxTcpQueueBytes = 1ull << 30;
constexpr uint32_t kMaxTcpWscale = 14;  // RFC 7323

Status tcp_address(const TcpSocketFile &t, const char *what, const std::string &addr, uint32_t port) {
    size_t size = t.family() == AF_INET ? 4 : 16;
    if (!addr.empty() && addr.size() != size)
        return Error(log::cat("TCP socket ", what, " address of ", addr.size(), " bytes (want ", size, ")"));
    if (port > 65535) return Error(log::cat("TCP socket ", what, " port ", port, " beyond 65535"));
    return ok();
}

Status tcp_connection(const TcpSocketFile &t) {
    const TcpConnection &c = t.connection();
    if (t.local_addr().empty() || t.peer_addr().empty() || !t.local_port() || !t.peer_port())
        return Error("established TCP socket without both addresses and ports");
    if (c.send_queue().size() > kMaxTcpQueueBytes || c.recv_queue().size() > kMaxTcpQueueBytes)
        return Error(log::cat("TCP queues of ", c.send_queue().size(), " and ", c.recv_queue().size(),
                              " bytes (at most ", kMaxTcpQueueBytes, " each)"));
    if (c.unsent_bytes() > c.send_queue().size())
        return Error(log::cat(c.unsent_bytes(), " unsent bytes in a send queue of ", c.send_queue().size()));
    if (!c.mss_clamp() || c.mss_clamp() > 65535) return Error(log::cat("TCP mss ", c.mss_clamp(), " not in 1..65535"));
    if (c.snd_wscale() > kMaxTcpWscale || c.rcv_wscale() > kMaxTcpWscale || (!c.wscale_ok() && (c.snd_wscale() || c.rcv_wscale())))
        return Error(log::cat("TCP window scale ", c.snd_wscale(), "/", c.rcv_wscale(), " (at most ", kMaxTcpWscale,
                              ", and only when negotiated)"));
    if (c.max_window() < c.snd_wnd())
        return Error(log::cat("TCP max_window ", c.max_window(), " below snd_wnd ", c.snd_wnd()));
    return ok();
}

Status tcp_file(const TcpSocketFile &t) {
    if (t.family() != AF_INET && t.family() != AF_INET6)
        return Error(log::cat("TCP socket of address family ", t.family(), ", not AF_INET or AF_INET6"));
    STASIS_TRY(status_flags(t.flags()));
    if ((t.flags() & O_ACCMODE) != O_RDWR) return Error(log::cat("TCP socket flags ", log::hex(t.flags()), " not O_RDWR"));
    if (!TcpSocketState_IsValid(t.state())) return Error(log::cat("TCP socket state ", int(t.state()), " unknown"));
    STASIS_TRY(tcp_address(t, "local", t.local_addr(), t.local_port()));
    STASIS_TRY(tcp_address(t, "peer", t.peer_addr(), t.peer_port()));
    if (t.family() == AF_INET && (t.ipv6_scope_id() || t.v6only()))
        return Error("IPv6 scope id or IPV6_V6ONLY on an AF_INET socket");
    if (t.backlog() > INT32_MAX || t.rcvbuf() > INT32_MAX || t.sndbuf() > INT32_MAX || t.keepidle() > INT32_MAX ||
        t.keepintvl() > INT32_MAX || t.keepcnt() > INT32_MAX || t.user_timeout() > INT32_MAX ||
        t.linger_s() > INT32_MAX || t.peek_off() > INT32_MAX)
        return Error("TCP socket backlog, buffer, keepalive, timeout, linger or peek offset beyond 2^31-1");
    bool established = t.state() == TCP_SK_ESTABLISHED;
    if (t.has_connection() != established)
        return Error(established ? "established TCP socket without its connection state"
                                 : "connection state on a TCP socket that is not established");
    if (!established && !t.peer_addr().empty()) return Error("peer address on a TCP socket that is not established");
    if (t.state() == TCP_SK_LISTENING && (t.local_addr().empty() || !t.local_port()))
        return Error("listening TCP socket without its address and port");
    if (t.state() == TCP_SK_UNCONNECTED && t.bound() && t.local_addr().empty())
        return Error("bound TCP socket without its address");
    return established ? tcp_connection(t) : ok();
}

Status file_entry(const FileEntry &f, PipeGroups *groups) {
    switch (f.kind_case()) {
        case FileEntry::kReg: {
            const RegFile &r = f.reg();
            if (r.path().empty()) return Error("empty path");
            STASIS_TRY(name_bytes("path", r.path(), kMaxPathBytes));
            if (r.identity().build_id().size() > kMaxBuildIdBytes)
                return Error(log::cat("build_id of ", r.identity().build_id().size(), " bytes"));
            if (!r.identity().checksum().empty() && r.identity().checksum().size() != 32)
                return Error(log::cat("checksum of ", r.identity().checksum().size(), " bytes (SHA-256 has 32)"));
            return ok();
        }
        case FileEntry::kPipe: return pipe_file(f, groups);
        case FileEntry::kEventfd: return eventfd_file(f.eventfd());
        case FileEntry::kSignalfd: return status_flags(f.signalfd().flags());
        case FileEntry::kTimerfd: return timerfd_file(f.timerfd());
        case FileEntry::kEpoll: return ok();  // after the index is whole: epoll_file
        case FileEntry::kUnixSk: return unix_file(f.unix_sk());  // peers: unix_peer
        case FileEntry::kInotify: return inotify_file(f.inotify());
        case FileEntry::kTcpSk: return tcp_file(f.tcp_sk());
        case FileEntry::kTty: return ok();  // alone and as pairs: tty_files
        // A kind added by a newer stasis leaves the oneof unset here (its
        // field is unknown to this build): refuse it rather than skip a file.
        case FileEntry::KIND_NOT_SET: return Error("no kind this stasis knows (written by a newer stasis?)");
        default: return ok();
    }
}

}  // namespace

Status files(const std::vector<FileEntry> &files, FileIndex *index) {
    if (files.size() > kMaxFiles) return Error(log::cat(files.size(), " files (at most ", kMaxFiles, ")"));
    index->clear();
    PipeGroups groups;
    for (size_t i = 0; i < files.size(); i++) {
        const FileEntry &f = files[i];
        std::string who = log::cat("file #", i, " (id ", f.id(), ")");
        if (f.id() == 0) return Error(log::cat(who, ": id 0 is reserved for 'no file'"));
        if (!index->emplace(f.id(), &f).second) return Error(log::cat(who, ": id listed twice"));
        STASIS_TRY(std::move(file_entry(f, &groups)).context(who));
    }
    STASIS_TRY(tty_files(files));
    std::set<uint64_t> unix_inodes, tcp_inodes;
    for (size_t i = 0; i < files.size(); i++) {
        std::string who = log::cat("file #", i, " (id ", files[i].id(), ")");
        if (files[i].has_tcp_sk() && !tcp_inodes.insert(files[i].tcp_sk().ino()).second)
            return Error(log::cat(who, ": socket:[", files[i].tcp_sk().ino(), "] listed twice"));
        if (files[i].has_epoll()) STASIS_TRY(std::move(epoll_file(files[i], *index)).context(who));
        if (files[i].has_unix_sk()) STASIS_TRY(std::move(unix_peer(files[i], *index, &unix_inodes)).context(who));
    }
    return ok();
}

Status epoll_watches(const std::vector<TaskImages> &tasks, const FileIndex &files) {
    std::set<uint32_t> placed;
    for (const TaskImages &t : tasks) {
        std::unordered_map<int32_t, uint32_t> table;
        for (const FdEntry &fd : t.fds) table.emplace(fd.fd(), fd.file_id());
        for (const FdEntry &fd : t.fds) {
            auto f = files.find(fd.file_id());
            if (f == files.end() || !f->second->has_epoll() || !placed.insert(fd.file_id()).second) continue;
            for (const EpollWatch &w : f->second->epoll().watches()) {
                auto target = table.find(w.fd());
                if (target == table.end() || target->second != w.file_id())
                    return Error(log::cat("epoll file id ", fd.file_id(), " (fd ", fd.fd(), " of pid ", t.tree.pid(),
                                          ") watches fd ", w.fd(), " as file id ", w.file_id(), ", but that fd is ",
                                          target == table.end() ? std::string("not open there")
                                                                : log::cat("file id ", target->second)));
            }
        }
    }
    return ok();
}

}  // namespace stasis::images::validate
