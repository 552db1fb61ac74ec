// The restore side of TCP sockets (the dump side: tcp_socket.cc).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <map>
#include <string>

#include "common/files/tcp_repair.h"
#include "common/files/tcp_socket.h"
#include "common/util/log.h"

namespace stasis::files {
namespace {

using images::TcpConnection;
using images::TcpSocketFile;

sockaddr_storage address(const TcpSocketFile &sk, const std::string &addr, uint32_t port, socklen_t *len) {
    sockaddr_storage ss{};
    if (sk.family() == AF_INET) {
        auto &a = reinterpret_cast<sockaddr_in &>(ss);
        a.sin_family = AF_INET;
        a.sin_port = htons(uint16_t(port));
        std::memcpy(&a.sin_addr, addr.data(), 4);
        *len = sizeof a;
    } else {
        auto &a = reinterpret_cast<sockaddr_in6 &>(ss);
        a.sin6_family = AF_INET6;
        a.sin6_port = htons(uint16_t(port));
        std::memcpy(&a.sin6_addr, addr.data(), 16);
        a.sin6_scope_id = sk.ipv6_scope_id();
        *len = sizeof a;
    }
    return ss;
}

int get_int(int fd, int level, int opt) {
    int v = 0;
    socklen_t len = sizeof v;
    return ::getsockopt(fd, level, opt, &v, &len) == 0 ? v : -1;
}

// Sets an option only where the dump found another value than a new
// socket has: an option the process never set keeps following the
// system's defaults (sysctls) after the restore, as before.
Status set_if_changed(int fd, int level, int opt, int want, int fresh, const char *name) {
    if (want == fresh) return ok();
    if (::setsockopt(fd, level, opt, &want, sizeof want) != 0)
        return Error::from_errno(log::cat("setsockopt ", name, " ", want));
    return ok();
}

// Buffer sizes: getsockopt shows twice what was set; the FORCE variants
// pass net.core.[rw]mem_max as the process's own setting did.
Status set_buffer(int fd, int force_opt, uint32_t want, const char *name) {
    int half = int(want / 2);
    if (::setsockopt(fd, SOL_SOCKET, force_opt, &half, sizeof half) != 0)
        return Error::from_errno(log::cat("setsockopt ", name, " ", half));
    return ok();
}

// What a new socket of this family shows for the options restored by
// set_if_changed.
struct Fresh {
    int reuseport, keepalive, keepidle, keepintvl, keepcnt, nodelay, cork, user_timeout, rcvbuf, sndbuf, v6only;
    static Fresh of(int fd, bool ipv6) {
        return Fresh{get_int(fd, SOL_SOCKET, SO_REUSEPORT),    get_int(fd, SOL_SOCKET, SO_KEEPALIVE),
                     get_int(fd, IPPROTO_TCP, TCP_KEEPIDLE),  get_int(fd, IPPROTO_TCP, TCP_KEEPINTVL),
                     get_int(fd, IPPROTO_TCP, TCP_KEEPCNT),   get_int(fd, IPPROTO_TCP, TCP_NODELAY),
                     get_int(fd, IPPROTO_TCP, TCP_CORK),      get_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT),
                     get_int(fd, SOL_SOCKET, SO_RCVBUF),      get_int(fd, SOL_SOCKET, SO_SNDBUF),
                     ipv6 ? get_int(fd, IPPROTO_IPV6, IPV6_V6ONLY) : 0};
    }
};

class Builder {
public:
    explicit Builder(const std::vector<images::FileEntry> &files) {
        for (const auto &f : files)
            if (f.has_tcp_sk()) sk_[f.id()] = &f.tcp_sk();
    }
    ~Builder() {
        for (auto &[id, fd] : fds_) ::close(fd);
    }

    // Listeners first: their ports must be free to bind, and connections
    // bind beside them with repair mode's forced reuse. Every connection
    // leaves repair mode only once all are made: its window probe then
    // finds a peer of the tree there, not a closed port that answers RST.
    Status build() {
        for (auto want : {images::TCP_SK_LISTENING, images::TCP_SK_UNCONNECTED, images::TCP_SK_ESTABLISHED})
            for (const auto &[id, sk] : sk_)
                if (sk->state() == want) STASIS_TRY(std::move(make(id, *sk)).context(tcp_socket_label(*sk)));
        for (const auto &[id, sk] : sk_) STASIS_TRY(std::move(finish(id, *sk)).context(tcp_socket_label(*sk)));
        return ok();
    }

    std::vector<std::pair<uint32_t, int>> release() {
        std::vector<std::pair<uint32_t, int>> out(fds_.begin(), fds_.end());
        fds_.clear();
        return out;
    }

private:
    Status make(uint32_t id, const TcpSocketFile &sk) {
        int fd = ::socket(int(sk.family()), SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
        if (fd < 0) return Error::from_errno("socket");
        fds_[id] = fd;
        fresh_[id] = Fresh::of(fd, sk.family() == AF_INET6);
        const Fresh &f = fresh_[id];
        // What bind() depends on comes first.
        if (sk.family() == AF_INET6)
            STASIS_TRY(set_if_changed(fd, IPPROTO_IPV6, IPV6_V6ONLY, sk.v6only(), f.v6only, "IPV6_V6ONLY"));
        STASIS_TRY(set_if_changed(fd, SOL_SOCKET, SO_REUSEPORT, sk.reuseport(), f.reuseport, "SO_REUSEPORT"));
        if (sk.reuseaddr()) STASIS_TRY(set_if_changed(fd, SOL_SOCKET, SO_REUSEADDR, 1, 0, "SO_REUSEADDR"));
        switch (sk.state()) {
            case images::TCP_SK_UNCONNECTED: return sk.bound() ? bind(fd, sk) : ok();
            case images::TCP_SK_LISTENING:
                STASIS_TRY(bind(fd, sk));
                if (::listen(fd, int(sk.backlog())) != 0) return Error::from_errno(log::cat("listen ", sk.backlog()));
                return ok();
            case images::TCP_SK_ESTABLISHED: return make_connection(id, fd, sk);
            default: return Error(log::cat("state ", int(sk.state()), " unknown"));
        }
    }

    Status bind(int fd, const TcpSocketFile &sk) {
        socklen_t len = 0;
        sockaddr_storage ss = address(sk, sk.local_addr(), sk.local_port(), &len);
        if (::bind(fd, reinterpret_cast<sockaddr *>(&ss), len) != 0) return Error::from_errno("bind");
        return ok();
    }

    Status make_connection(uint32_t id, int fd, const TcpSocketFile &sk) {
        const TcpConnection &c = sk.connection();
        STASIS_TRY(std::move(tcp::set_repair(fd, TCP_REPAIR_ON)).context("repair mode (needs CAP_NET_ADMIN)"));
        STASIS_TRY(tcp::set_queue_seq(fd, TCP_RECV_QUEUE, c.recv_seq()));
        STASIS_TRY(tcp::set_queue_seq(fd, TCP_SEND_QUEUE, c.send_seq()));
        STASIS_TRY(tcp::select_queue(fd, TCP_NO_QUEUE));
        STASIS_TRY(bind(fd, sk));
        socklen_t len = 0;
        sockaddr_storage peer = address(sk, sk.peer_addr(), sk.peer_port(), &len);
        if (::connect(fd, reinterpret_cast<sockaddr *>(&peer), len) != 0)
            return Error::from_errno("connect in repair mode");
        STASIS_TRY(set_negotiated_options(fd, c));
        STASIS_TRY(set_timestamp(fd, c));
        const Fresh &f = fresh_.at(id);
        if (int(sk.rcvbuf()) != f.rcvbuf) STASIS_TRY(set_buffer(fd, SO_RCVBUFFORCE, sk.rcvbuf(), "SO_RCVBUFFORCE"));
        if (int(sk.sndbuf()) != f.sndbuf) STASIS_TRY(set_buffer(fd, SO_SNDBUFFORCE, sk.sndbuf(), "SO_SNDBUFFORCE"));
        bool grew = false;
        // The part of the send queue that was sent goes back as sent (the
        // retransmission timer sends it again); the unsent rest is sent
        // normally once repair mode is off (send_unsent), so that it
        // leaves as soon as the peer's window allows, as before.
        std::string sent = c.send_queue().substr(0, c.send_queue().size() - c.unsent_bytes());
        STASIS_TRY(std::move(fill_queue(fd, TCP_SEND_QUEUE, sent, &grew)).context("send queue"));
        STASIS_TRY(std::move(fill_queue(fd, TCP_RECV_QUEUE, c.recv_queue(), &grew)).context("receive queue"));
        if (grew) {
            // The buffers were raised to take the queues back: to the
            // dumped sizes again (now fixed, not autotuned).
            STASIS_TRY(set_buffer(fd, SO_RCVBUFFORCE, sk.rcvbuf(), "SO_RCVBUFFORCE"));
            STASIS_TRY(set_buffer(fd, SO_SNDBUFFORCE, sk.sndbuf(), "SO_SNDBUFFORCE"));
            log::debug(tcp_socket_label(sk), ": buffers raised for the queues, then set to the dumped sizes");
        }
        tcp_repair_window w{c.snd_wl1(), c.snd_wnd(), c.max_window(), c.rcv_wnd(), c.rcv_wup()};
        return tcp::set_window(fd, w);
    }

    static Status set_negotiated_options(int fd, const TcpConnection &c) {
        tcp_repair_opt opts[4];
        int n = 0;
        opts[n++] = {TCPOPT_MAXSEG, c.mss_clamp()};
        if (c.wscale_ok()) opts[n++] = {TCPOPT_WINDOW, c.snd_wscale() | (c.rcv_wscale() << 16)};
        if (c.sack_ok()) opts[n++] = {TCPOPT_SACK_PERMITTED, 0};
        if (c.timestamps_ok()) opts[n++] = {TCPOPT_TIMESTAMP, 0};
        if (::setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_OPTIONS, opts, socklen_t(n * sizeof opts[0])) != 0)
            return Error::from_errno(log::cat("setsockopt TCP_REPAIR_OPTIONS (mss ", c.mss_clamp(), ", wscale ",
                                              c.wscale_ok() ? log::cat(c.snd_wscale(), "/", c.rcv_wscale()) : "off",
                                              ", sack ", c.sack_ok(), ", timestamps ", c.timestamps_ok(), ")"));
        return ok();
    }

    // The timestamp clock goes on from its dumped value plus the time
    // since: the peer drops segments whose timestamp is older than the
    // newest it saw (PAWS), and the dumped socket may have sent a few
    // after its value was read.
    static Status set_timestamp(int fd, const TcpConnection &c) {
        if (!c.timestamps_ok()) return ok();
        auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
        int64_t since = int64_t(now) - int64_t(c.dumped_at_unix_ms());
        uint32_t ts = c.timestamp() + uint32_t(since > 0 && since < INT32_MAX ? since : 0);
        if (::setsockopt(fd, IPPROTO_TCP, TCP_TIMESTAMP, &ts, sizeof ts) != 0)
            return Error::from_errno(log::cat("setsockopt TCP_TIMESTAMP ", ts));
        return ok();
    }

    // Puts the data back into one queue, raising the socket's buffer when
    // it is full before everything is in (the skbs made here need not be
    // the size the original ones had).
    static Status fill_queue(int fd, int queue, const std::string &data, bool *grew) {
        size_t done = 0;
        for (int attempt = 0; done < data.size(); attempt++) {
            STASIS_ASSIGN(size_t n, tcp::write_queue(fd, queue, data, done));
            done += n;
            if (done == data.size()) break;
            if (attempt >= 8) return Error(log::cat("only ", done, " of ", data.size(), " bytes went back in"));
            int opt = queue == TCP_SEND_QUEUE ? SO_SNDBUF : SO_RCVBUF;
            int force = queue == TCP_SEND_QUEUE ? SO_SNDBUFFORCE : SO_RCVBUFFORCE;
            uint64_t bigger = std::max<uint64_t>(uint64_t(std::max(get_int(fd, SOL_SOCKET, opt), 0)) * 2,
                                                 uint64_t(data.size()) * 4 + (1u << 20));
            STASIS_TRY(set_buffer(fd, force, uint32_t(std::min<uint64_t>(bigger, INT_MAX)), "a bigger buffer"));
            *grew = true;
        }
        return ok();
    }

    // The unsent tail of the send queue, through the ordinary send path
    // (the connection is live again). The socket's buffer is raised, not
    // waited on, if the data does not fit; then set to the dumped size.
    Status send_unsent(int fd, const TcpSocketFile &sk) {
        const std::string &q = sk.connection().send_queue();
        size_t done = q.size() - sk.connection().unsent_bytes();
        bool grew = false;
        for (int attempt = 0; done < q.size(); attempt++) {
            ssize_t n = ::send(fd, q.data() + done, q.size() - done, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0) {
                done += size_t(n);
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno != EAGAIN) return Error::from_errno("send");
            if (attempt >= 8) return Error(log::cat(q.size() - done, " bytes did not fit into the send buffer"));
            uint64_t bigger = std::max<uint64_t>(uint64_t(std::max(get_int(fd, SOL_SOCKET, SO_SNDBUF), 0)) * 2,
                                                 uint64_t(q.size()) * 4 + (1u << 20));
            STASIS_TRY(set_buffer(fd, SO_SNDBUFFORCE, uint32_t(std::min<uint64_t>(bigger, INT_MAX)), "a bigger buffer"));
            grew = true;
        }
        if (grew) STASIS_TRY(set_buffer(fd, SO_SNDBUFFORCE, sk.sndbuf(), "SO_SNDBUFFORCE"));
        return ok();
    }

    Status finish(uint32_t id, const TcpSocketFile &sk) {
        int fd = fds_.at(id);
        const Fresh &f = fresh_.at(id);
        if (sk.state() == images::TCP_SK_ESTABLISHED) {
            // Leaving repair mode resets SO_REUSEADDR: options follow.
            STASIS_TRY(tcp::set_repair(fd, TCP_REPAIR_OFF));
            STASIS_TRY(std::move(send_unsent(fd, sk)).context("unsent data"));
            if (sk.reuseaddr()) STASIS_TRY(set_if_changed(fd, SOL_SOCKET, SO_REUSEADDR, 1, 0, "SO_REUSEADDR"));
            if (sk.connection().rcv_shutdown() && ::shutdown(fd, SHUT_RD) != 0)
                return Error::from_errno("shutdown SHUT_RD");
        } else {
            if (int(sk.rcvbuf()) != f.rcvbuf) STASIS_TRY(set_buffer(fd, SO_RCVBUFFORCE, sk.rcvbuf(), "SO_RCVBUFFORCE"));
            if (int(sk.sndbuf()) != f.sndbuf) STASIS_TRY(set_buffer(fd, SO_SNDBUFFORCE, sk.sndbuf(), "SO_SNDBUFFORCE"));
        }
        STASIS_TRY(set_if_changed(fd, SOL_SOCKET, SO_KEEPALIVE, sk.keepalive(), f.keepalive, "SO_KEEPALIVE"));
        STASIS_TRY(set_if_changed(fd, IPPROTO_TCP, TCP_KEEPIDLE, int(sk.keepidle()), f.keepidle, "TCP_KEEPIDLE"));
        STASIS_TRY(set_if_changed(fd, IPPROTO_TCP, TCP_KEEPINTVL, int(sk.keepintvl()), f.keepintvl, "TCP_KEEPINTVL"));
        STASIS_TRY(set_if_changed(fd, IPPROTO_TCP, TCP_KEEPCNT, int(sk.keepcnt()), f.keepcnt, "TCP_KEEPCNT"));
        STASIS_TRY(set_if_changed(fd, IPPROTO_TCP, TCP_NODELAY, sk.nodelay(), f.nodelay, "TCP_NODELAY"));
        STASIS_TRY(set_if_changed(fd, IPPROTO_TCP, TCP_CORK, sk.cork(), f.cork, "TCP_CORK"));
        STASIS_TRY(set_if_changed(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, int(sk.user_timeout()), f.user_timeout,
                                  "TCP_USER_TIMEOUT"));
        if (sk.linger_on()) {
            linger lg{1, int(sk.linger_s())};
            if (::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) != 0)
                return Error::from_errno("setsockopt SO_LINGER");
        }
        if (sk.peek_off_on()) {
            int off = int(sk.peek_off());
            if (::setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof off) != 0)
                return Error::from_errno("setsockopt SO_PEEK_OFF");
        }
        if (::fcntl(fd, F_SETFL, int(sk.flags() & O_NONBLOCK)) != 0) return Error::from_errno("set its flags");
        return ok();
    }

    std::map<uint32_t, const TcpSocketFile *> sk_;
    std::map<uint32_t, int> fds_;
    std::map<uint32_t, Fresh> fresh_;
};

}  // namespace

Result<std::vector<std::pair<uint32_t, int>>> open_tcp_sockets(const std::vector<images::FileEntry> &files) {
    Builder b(files);
    STASIS_TRY(b.build());
    auto out = b.release();
    log::debug(out.size(), " TCP sockets made");
    return out;
}

}  // namespace stasis::files
