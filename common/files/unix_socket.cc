// The dump side of unix sockets (the restore side: unix_socket_restore.cc).
#include "common/files/unix_socket.h"

#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "common/files/unix_diag.h"
#include "common/images/file_io.h"
#include "common/util/log.h"

namespace stasis::files {
namespace {

// Larger than any datagram the kernel lets one unix socket send (its
// sndbuf, at most twice net.core.wmem_max, 416 KiB by default).
constexpr size_t kPeekBuffer = 8u << 20;

Result<images::Fd> copy_of_fd(pid_t pid, int fd) {
    images::Fd pidfd(int(::syscall(SYS_pidfd_open, pid, 0)));
    if (!pidfd.valid()) return Error::from_errno("pidfd_open");
    images::Fd copy(int(::syscall(SYS_pidfd_getfd, pidfd.get(), fd, 0)));
    if (!copy.valid()) return Error::from_errno("pidfd_getfd (a copy of the socket to read its queue)");
    return copy;
}

Result<int> int_option(int fd, int opt, const char *name) {
    int v = 0;
    socklen_t len = sizeof v;
    if (::getsockopt(fd, SOL_SOCKET, opt, &v, &len) != 0) return Error::from_errno(std::string("getsockopt ") + name);
    return v;
}

// The descriptors a peek of SCM_RIGHTS data installed in this process, in
// the order they were sent. `truncated`: the control data did not fit.
std::vector<images::Fd> fds_in(msghdr &msg, bool *truncated) {
    std::vector<images::Fd> out;
    *truncated = (msg.msg_flags & MSG_CTRUNC) != 0;
    for (cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n; i++) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            out.emplace_back(fd);
        }
    }
    return out;
}

// Bounds the walk of a queue (a kernel that would not move its peek offset
// past an empty message would have us peek it forever).
constexpr size_t kMaxMessages = 1u << 20;

// Room for SCM_MAX_FD descriptors and the credentials of SO_PASSCRED.
constexpr size_t kControlBytes = 4096;

class Peeker {
public:
    Peeker(int fd, std::string &buf) : fd_(fd), buf_(buf) {}

    Status seek(uint64_t off) {
        int v = int(off);
        if (::setsockopt(fd_, SOL_SOCKET, SO_PEEK_OFF, &v, sizeof v) != 0)
            return Error::from_errno("setsockopt SO_PEEK_OFF");
        return ok();
    }

    // One peek of up to `len` bytes at the peek offset (which it moves).
    // Returns the bytes peeked (in buf), -1 when nothing is queued.
    Result<ssize_t> peek(size_t len, std::vector<images::Fd> *fds, int *flags) {
        for (;;) {
            iovec iov{buf_.data(), len};
            msghdr msg{};
            msg.msg_iov = &iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control_;
            msg.msg_controllen = sizeof control_;
            ssize_t n = ::recvmsg(fd_, &msg, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) return ssize_t(-1);
            if (n < 0) return Error::from_errno("peek at the queued data");
            bool truncated = false;
            *fds = fds_in(msg, &truncated);
            if (truncated) return Error("the descriptors in flight on a queued message do not fit a peek");
            *flags = msg.msg_flags;
            return n;
        }
    }

private:
    int fd_;
    std::string &buf_;
    alignas(cmsghdr) char control_[kControlBytes];
};

// The data queued for reading on `fd`, oldest first, without consuming it,
// with the descriptors in flight each part carries (SCM_RIGHTS, installed
// in this process by the peek). `total`: the bytes sock_diag counts
// (stream and seqpacket). Messages may be empty (the kernel marks an empty
// message peeked and the peek offset then passes it); on a socket whose
// reading side is shut down an empty read is the end of the queue instead,
// and empty messages there are lost.
Result<std::vector<QueuedPart>> peek_queue(int fd, int type, uint32_t total, bool rcv_shutdown) {
    std::vector<QueuedPart> out;
    if (type == SOCK_STREAM && total == 0) return out;
    STASIS_ASSIGN(int old_off, int_option(fd, SO_PEEK_OFF, "SO_PEEK_OFF"));
    std::string buf(kPeekBuffer, '\0');
    Peeker p(fd, buf);
    Status st = std::move(p.seek(0)).context("(to read the queue without consuming it)");
    uint64_t seen = 0;
    bool open_part = false;  // stream: the last part takes more plain bytes
    while (st.ok()) {
        std::vector<images::Fd> fds;
        int flags = 0;
        auto got = p.peek(buf.size(), &fds, &flags);
        if (!got.ok()) {
            st = std::move(got).error();
            break;
        }
        ssize_t n = *got;
        if (n < 0) break;
        if (size_t(n) > buf.size() || (flags & MSG_TRUNC)) {
            st = Error(log::cat("a queued message of ", n, " bytes is larger than ", buf.size()));
            break;
        }
        if (n == 0 && (type == SOCK_STREAM || rcv_shutdown)) {
            if (type != SOCK_STREAM && seen < total)
                st = Error("an empty message is queued before data on a socket whose reading side is shut down: "
                           "not supported");
            break;
        }
        if (out.size() >= kMaxMessages) {
            st = Error(log::cat("more than ", kMaxMessages, " messages queued on it"));
            break;
        }
        std::string data(buf.data(), size_t(n));
        // A stream peek goes on through the queue after its buffer is full
        // (with nothing left to copy) and stops at the first part carrying
        // descriptors, reporting them: they are this stretch's only when
        // the peek ended short of its buffer, at that part's end.
        if (type == SOCK_STREAM && size_t(n) == buf.size()) fds.clear();
        if (type == SOCK_STREAM && fds.empty() && open_part) {
            out.back().data.append(data);
        } else {
            open_part = type == SOCK_STREAM && fds.empty();
            out.push_back(QueuedPart{std::move(data), std::move(fds)});
        }
        seen += uint64_t(n);
        // Stream: all counted bytes seen. Seqpacket: empty messages may
        // follow, until EAGAIN (or the end after a shutdown).
        if (type == SOCK_STREAM && seen >= total) break;
        if (type == SOCK_SEQPACKET && rcv_shutdown && seen >= total) break;
    }
    auto back = p.seek(uint64_t(uint32_t(old_off)));
    if (!back.ok() && st.ok()) st = std::move(back).error().context("set SO_PEEK_OFF back");
    STASIS_TRY(std::move(st));
    if (type != SOCK_DGRAM && seen != total)
        return Error(log::cat("peeked ", seen, " queued bytes, the kernel counts ", total));
    return out;
}

images::UnixSocketState state_of(const UnixDiag &d) {
    if (d.state == TCP_LISTEN) return images::UNIX_SK_LISTENING;
    if (d.peer_ino) return images::UNIX_SK_CONNECTED;
    // A stream or seqpacket connection whose peer was closed: still
    // connected, reads the queued data, then end of file.
    if (d.type != SOCK_DGRAM && d.state == TCP_ESTABLISHED) return images::UNIX_SK_CONNECTED;
    return images::UNIX_SK_UNCONNECTED;
}

Status describe_name(const UnixDiag &d, images::UnixSocketFile *out) {
    out->set_name(d.name);
    if (d.name.empty() || d.name[0] == '\0') return ok();
    if (d.name[0] != '/') return Error("bound to the relative path '" + d.name + "': not supported");
    struct stat st {};
    if (::stat(d.name.c_str(), &st) != 0) {
        if (errno != ENOENT) return Error::from_errno("stat its socket file " + d.name);
        out->set_name_unlinked(true);
        return ok();
    }
    if (!S_ISSOCK(st.st_mode) || st.st_ino != d.vfs_ino)
        return Error("bound to " + d.name + ", which now names another file: its socket file was replaced");
    out->set_name_mode(st.st_mode & 07777);
    return ok();
}

}  // namespace

Status describe_unix_socket(pid_t pid, int fd, uint64_t ino, const proc::FdInfo &info, images::UnixSocketFile *out,
                            uint64_t *peer_ino, std::vector<InFlight> *in_flight) {
    std::string sock = "socket:[" + std::to_string(ino) + "]";
    STASIS_ASSIGN(images::Fd copy, std::move(copy_of_fd(pid, fd)).context(sock));
    STASIS_ASSIGN(int domain, std::move(int_option(copy.get(), SO_DOMAIN, "SO_DOMAIN")).context(sock));
    if (domain != AF_UNIX)
        return Error(log::cat(sock, ": a socket of address family ", domain,
                              "; only AF_UNIX sockets are supported (and TCP over AF_INET/AF_INET6)"));
    STASIS_ASSIGN(UnixDiag d, unix_diag(ino));
    if (d.type != SOCK_STREAM && d.type != SOCK_DGRAM && d.type != SOCK_SEQPACKET)
        return Error(log::cat(unix_socket_label(ino, d.name), ": socket type ", int(d.type), " not supported"));
    std::string label = unix_socket_label(ino, d.name);
    out->set_ino(ino);
    out->set_type(d.type);
    out->set_flags(info.flags & (O_ACCMODE | O_NONBLOCK));
    out->set_state(state_of(d));
    out->set_shutdown(d.shutdown & 3);
    *peer_ino = d.peer_ino;
    bool connection = d.type != SOCK_DGRAM && out->state() == images::UNIX_SK_CONNECTED;
    if (!connection) STASIS_TRY(std::move(describe_name(d, out)).context(label));
    if (out->state() == images::UNIX_SK_LISTENING) {
        if (d.rqueue)
            return Error(log::cat(label, ": listening with ", d.rqueue,
                                  " connection(s) not accepted yet: not supported"));
        out->set_backlog(d.wqueue);
    }
    STASIS_ASSIGN(int rcvbuf, int_option(copy.get(), SO_RCVBUF, "SO_RCVBUF"));
    STASIS_ASSIGN(int sndbuf, int_option(copy.get(), SO_SNDBUF, "SO_SNDBUF"));
    STASIS_ASSIGN(int passcred, int_option(copy.get(), SO_PASSCRED, "SO_PASSCRED"));
    out->set_rcvbuf(uint32_t(rcvbuf));
    out->set_sndbuf(uint32_t(sndbuf));
    out->set_passcred(passcred != 0);
    if (out->state() != images::UNIX_SK_LISTENING) {
        STASIS_ASSIGN(auto queued, std::move(peek_queue(copy.get(), d.type, d.rqueue, (d.shutdown & 1) != 0)).context(label));
        for (auto &m : queued) {
            if (!m.fds.empty()) in_flight->push_back(InFlight{uint32_t(out->queued_size()), std::move(m.fds)});
            out->add_queued(std::move(m.data));
        }
    }
    return ok();
}

}  // namespace stasis::files
