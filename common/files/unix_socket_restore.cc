// The restore side of unix sockets (the dump side: unix_socket.cc).
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <map>
#include <string>
#include <tuple>

#include "common/files/unix_diag.h"
#include "common/files/unix_socket.h"
#include "common/util/log.h"

namespace stasis::files {
namespace {

using images::UnixSocketFile;

// The sockets being made, by file id, and the fresh peers standing in for
// peers that were closed (closed again once the data is queued).
class Builder {
public:
    Builder(const std::vector<images::FileEntry> &files, const OpenFile &open_file) : open_file_(open_file) {
        for (const auto &f : files)
            if (f.has_unix_sk()) sk_[f.id()] = &f.unix_sk();
    }
    ~Builder() {
        for (auto &[id, fd] : fds_) ::close(fd);
        for (auto &[id, fd] : orphan_of_) ::close(fd);
    }

    Status build() {
        for (const auto &[id, sk] : sk_)
            if (!fds_.count(id)) STASIS_TRY(std::move(make(id, *sk)).context(label(id)));
        for (const auto &[id, sk] : sk_) STASIS_TRY(std::move(connect_dgram(id, *sk)).context(label(id)));
        for (const auto &[id, sk] : sk_) STASIS_TRY(std::move(set_options(id, *sk)).context(label(id)));
        for (const auto &[id, sk] : sk_) STASIS_TRY(std::move(queue_data(id, *sk)).context(label(id)));
        for (const auto &[id, sk] : sk_) STASIS_TRY(std::move(finish(id, *sk)).context(label(id)));
        for (auto &[id, fd] : orphan_of_) ::close(fd);
        orphan_of_.clear();
        return ok();
    }

    std::vector<std::pair<uint32_t, int>> release() {
        std::vector<std::pair<uint32_t, int>> out(fds_.begin(), fds_.end());
        fds_.clear();
        return out;
    }

private:
    std::string label(uint32_t id) const {
        const auto *sk = sk_.at(id);
        return unix_socket_label(sk->ino(), sk->name());
    }

    static bool pair_of_unbound(const UnixSocketFile &a, const UnixSocketFile &b, uint32_t a_id, uint32_t b_id) {
        return a.peer_id() == b_id && b.peer_id() == a_id && a.name().empty() && b.name().empty();
    }

    Status make(uint32_t id, const UnixSocketFile &sk) {
        int type = int(sk.type()) | SOCK_CLOEXEC | SOCK_NONBLOCK;
        bool connection = sk.type() != SOCK_DGRAM && sk.state() == images::UNIX_SK_CONNECTED;
        const UnixSocketFile *peer = sk.peer_id() && sk_.count(sk.peer_id()) ? sk_.at(sk.peer_id()) : nullptr;
        if (connection || (peer && pair_of_unbound(sk, *peer, id, sk.peer_id()))) {
            int sv[2];
            if (::socketpair(AF_UNIX, type, 0, sv) != 0) return Error::from_errno("socketpair");
            fds_[id] = sv[0];
            if (peer) {
                fds_[sk.peer_id()] = sv[1];
            } else {
                orphan_of_[id] = sv[1];  // its peer was closed
            }
            return ok();
        }
        int fd = ::socket(AF_UNIX, type, 0);
        if (fd < 0) return Error::from_errno("socket");
        fds_[id] = fd;
        if (!sk.name().empty()) STASIS_TRY(bind_name(fd, sk));
        if (sk.state() == images::UNIX_SK_LISTENING && ::listen(fd, int(sk.backlog())) != 0)
            return Error::from_errno("listen");
        return ok();
    }

    static socklen_t address(const std::string &name, sockaddr_un *a) {
        std::memset(a, 0, sizeof *a);
        a->sun_family = AF_UNIX;
        std::memcpy(a->sun_path, name.data(), std::min(name.size(), sizeof a->sun_path));
        return socklen_t(offsetof(sockaddr_un, sun_path) + std::min(name.size(), sizeof a->sun_path));
    }

    Status bind_name(int fd, const UnixSocketFile &sk) {
        const std::string &name = sk.name();
        bool path = name[0] != '\0';
        if (path) {
            // The socket file the dumped process left behind (it was killed):
            // a socket file is only a name, binding needs the path free.
            struct stat st {};
            if (::lstat(name.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && ::unlink(name.c_str()) != 0)
                return Error::from_errno("unlink the stale socket file " + name);
        }
        sockaddr_un a;
        socklen_t len = address(name, &a);
        if (::bind(fd, reinterpret_cast<sockaddr *>(&a), len) != 0) return Error::from_errno("bind");
        if (path && !sk.name_unlinked() && ::chmod(name.c_str(), sk.name_mode()) != 0)
            return Error::from_errno("chmod " + name);
        return ok();
    }

    // A dgram socket connected to a bound one: by its name (after every
    // socket is bound).
    Status connect_dgram(uint32_t id, const UnixSocketFile &sk) {
        if (sk.type() == SOCK_DGRAM && !sk.external_peer().empty()) {
            sockaddr_un a;
            socklen_t len = address(sk.external_peer(), &a);
            if (::connect(fds_.at(id), reinterpret_cast<sockaddr *>(&a), len) != 0)
                return Error::from_errno("connect to " + unix_name_label(sk.external_peer()) +
                                         " outside the tree (--ext-unix-sk)");
            return ok();
        }
        if (sk.type() != SOCK_DGRAM || !sk.peer_id()) return ok();
        const UnixSocketFile &peer = *sk_.at(sk.peer_id());
        if (pair_of_unbound(sk, peer, id, sk.peer_id())) return ok();
        if (peer.name().empty()) return Error("connected to " + label(sk.peer_id()) + ", which has no name");
        sockaddr_un a;
        socklen_t len = address(peer.name(), &a);
        if (::connect(fds_.at(id), reinterpret_cast<sockaddr *>(&a), len) != 0)
            return Error::from_errno("connect to " + label(sk.peer_id()));
        return ok();
    }

    Status set_options(uint32_t id, const UnixSocketFile &sk) {
        int fd = fds_.at(id);
        // getsockopt shows twice what setsockopt was given.
        for (auto [opt, want, name] : {std::tuple{SO_RCVBUF, sk.rcvbuf(), "SO_RCVBUF"},
                                       std::tuple{SO_SNDBUF, sk.sndbuf(), "SO_SNDBUF"}}) {
            int now = 0;
            socklen_t len = sizeof now;
            if (!want || (::getsockopt(fd, SOL_SOCKET, opt, &now, &len) == 0 && uint32_t(now) == want)) continue;
            int half = int(want / 2);
            if (::setsockopt(fd, SOL_SOCKET, opt, &half, sizeof half) != 0)
                return Error::from_errno(std::string("setsockopt ") + name);
        }
        int one = 1;
        if (sk.passcred() && ::setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) != 0)
            return Error::from_errno("setsockopt SO_PASSCRED");
        return ok();
    }

    // The socket that sends `sk`'s queued data back: its peer (a
    // connection), a dgram socket connected to it, or a socket of our own
    // sending to its name.
    Result<int> sender_for(uint32_t id, const UnixSocketFile &sk, int *own) {
        if (sk.type() != SOCK_DGRAM) {
            if (sk.peer_id()) return fds_.at(sk.peer_id());
            return orphan_of_.at(id);
        }
        for (const auto &[other, o] : sk_)
            if (o->type() == SOCK_DGRAM && o->peer_id() == id) return fds_.at(other);
        if (sk.name().empty() || sk.peer_id())
            return Error("no socket of the tree is connected to it to send its queued datagrams");
        *own = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (*own < 0) return Error::from_errno("socket to send the queued datagrams from");
        sockaddr_un a;
        socklen_t len = address(sk.name(), &a);
        if (::connect(*own, reinterpret_cast<sockaddr *>(&a), len) != 0)
            return Error::from_errno("connect to send the queued datagrams");
        return *own;
    }

    Status queue_data(uint32_t id, const UnixSocketFile &sk) {
        if (sk.queued().empty()) return ok();
        int own = -1;
        auto from = sender_for(id, sk, &own);
        Status st = from.ok() ? send_all(*from, sk) : Status(std::move(from).error());
        if (own >= 0) ::close(own);
        return st;
    }

    // The descriptors in flight on each queued message, by message index.
    Result<std::map<uint32_t, std::vector<int>>> in_flight_fds(const UnixSocketFile &sk) {
        std::map<uint32_t, std::vector<int>> out;
        for (const auto &f : sk.in_flight()) {
            auto &fds = out[f.message()];
            for (uint32_t id : f.file_ids()) {
                if (fds_.count(id)) {
                    fds.push_back(fds_.at(id));
                    continue;
                }
                STASIS_ASSIGN(int fd, std::move(open_file_(id)).context("a descriptor in flight"));
                fds.push_back(fd);
            }
        }
        return out;
    }

    // One send of m[done..], with `fds` attached (SCM_RIGHTS) when given.
    static ssize_t send_part(int from, const std::string &m, size_t done, const std::vector<int> *fds) {
        iovec iov{const_cast<char *>(m.data()) + done, m.size() - done};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        std::vector<char> control;
        if (fds && !fds->empty()) {
            control.resize(CMSG_SPACE(fds->size() * sizeof(int)));
            msg.msg_control = control.data();
            msg.msg_controllen = control.size();
            cmsghdr *c = CMSG_FIRSTHDR(&msg);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(fds->size() * sizeof(int));
            std::memcpy(CMSG_DATA(c), fds->data(), fds->size() * sizeof(int));
        }
        return ::sendmsg(from, &msg, MSG_NOSIGNAL);
    }

    Status send_all(int from, const UnixSocketFile &sk) {
        STASIS_ASSIGN(auto in_flight, in_flight_fds(sk));
        size_t total = 0;
        for (int i = 0; i < sk.queued_size(); ++i) {
            const std::string &m = sk.queued(i);
            auto carried = in_flight.find(uint32_t(i));
            const std::vector<int> *fds = carried == in_flight.end() ? nullptr : &carried->second;
            size_t done = 0;
            do {
                // Descriptors go with the first send of their part only.
                ssize_t n = send_part(from, m, done, done == 0 ? fds : nullptr);
                if (n < 0 && errno == EINTR) continue;
                if (n < 0)
                    return Error::from_errno(log::cat("queue its data again (", total + done, " bytes sent)"));
                if (sk.type() != SOCK_STREAM && size_t(n) != m.size())
                    return Error(log::cat("a message of ", m.size(), " bytes went out as ", n));
                done += size_t(n);
            } while (done < m.size());
            total += done;
        }
        log::debug(unix_socket_label(sk.ino(), sk.name()), ": ", sk.queued_size(), " message(s), ", total,
                   " bytes queued again, ", sk.in_flight_size(), " of them with descriptors in flight");
        return ok();
    }

    Status finish(uint32_t id, const UnixSocketFile &sk) {
        int fd = fds_.at(id);
        if (sk.shutdown() && ::shutdown(fd, int(sk.shutdown()) - 1) != 0) return Error::from_errno("shutdown");
        if (sk.name_unlinked() && ::unlink(sk.name().c_str()) != 0 && errno != ENOENT)
            return Error::from_errno("unlink " + sk.name() + " (removed before the dump)");
        if (::fcntl(fd, F_SETFL, int(sk.flags() & O_NONBLOCK)) != 0) return Error::from_errno("set its flags");
        return ok();
    }

    const OpenFile &open_file_;
    std::map<uint32_t, const UnixSocketFile *> sk_;
    std::map<uint32_t, int> fds_;
    std::map<uint32_t, int> orphan_of_;
};

}  // namespace

Result<std::vector<std::pair<uint32_t, int>>> open_unix_sockets(const std::vector<images::FileEntry> &files,
                                                                const OpenFile &open_file) {
    Builder b(files, open_file);
    STASIS_TRY(b.build());
    auto out = b.release();
    log::debug(out.size(), " unix sockets made");
    return out;
}

}  // namespace stasis::files
