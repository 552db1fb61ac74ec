// The dump side of TCP sockets (the restore side: tcp_socket_restore.cc).
#include "common/files/tcp_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <tuple>

#include "common/files/tcp_repair.h"
#include "common/util/log.h"

namespace stasis::files {
namespace {

Result<int> get_int(int fd, int level, int opt, const char *name) {
    int v = 0;
    socklen_t len = sizeof v;
    if (::getsockopt(fd, level, opt, &v, &len) != 0) return Error::from_errno(std::string("getsockopt ") + name);
    return v;
}

// Address and port of a sockaddr_in / sockaddr_in6 into the image's form.
void put_address(const sockaddr_storage &ss, std::string *addr, uint32_t *port, uint32_t *scope_id) {
    if (ss.ss_family == AF_INET) {
        const auto &a = reinterpret_cast<const sockaddr_in &>(ss);
        addr->assign(reinterpret_cast<const char *>(&a.sin_addr), 4);
        *port = ntohs(a.sin_port);
    } else if (ss.ss_family == AF_INET6) {
        const auto &a = reinterpret_cast<const sockaddr_in6 &>(ss);
        addr->assign(reinterpret_cast<const char *>(&a.sin6_addr), 16);
        *port = ntohs(a.sin6_port);
        if (scope_id && a.sin6_scope_id) *scope_id = a.sin6_scope_id;
    }
}

std::string endpoint(uint32_t family, const std::string &addr, uint32_t port) {
    char text[INET6_ADDRSTRLEN] = "?";
    if (addr.size() == (family == AF_INET ? 4u : 16u)) ::inet_ntop(int(family), addr.data(), text, sizeof text);
    return family == AF_INET6 ? log::cat("[", text, "]:", port) : log::cat(text, ":", port);
}

// Why a state cannot be dumped, in the user's words.
const char *state_hint(int state) {
    switch (state) {
        case TCP_SYN_SENT: return "a connect() still in progress";
        case TCP_SYN_RECV: return "a connection being accepted";
        case TCP_FIN_WAIT1:
        case TCP_FIN_WAIT2:
        case TCP_CLOSING:
        case TCP_LAST_ACK: return "shut down for writing, or closing";
        case TCP_CLOSE_WAIT: return "the peer has closed its end";
        case TCP_TIME_WAIT: return "closed, waiting out stray segments";
        default: return "unknown";
    }
}

// SOL_SOCKET, IPPROTO_TCP and IPPROTO_IPV6 options worth keeping.
Status describe_options(int fd, images::TcpSocketFile *out) {
    STASIS_ASSIGN(int reuseaddr, get_int(fd, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR"));
    STASIS_ASSIGN(int reuseport, get_int(fd, SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT"));
    STASIS_ASSIGN(int keepalive, get_int(fd, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE"));
    STASIS_ASSIGN(int keepidle, get_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE"));
    STASIS_ASSIGN(int keepintvl, get_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL"));
    STASIS_ASSIGN(int keepcnt, get_int(fd, IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT"));
    STASIS_ASSIGN(int nodelay, get_int(fd, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY"));
    STASIS_ASSIGN(int cork, get_int(fd, IPPROTO_TCP, TCP_CORK, "TCP_CORK"));
    STASIS_ASSIGN(int user_timeout, get_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT"));
    STASIS_ASSIGN(int rcvbuf, get_int(fd, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF"));
    STASIS_ASSIGN(int sndbuf, get_int(fd, SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF"));
    // TCP has SO_PEEK_OFF since Linux 6.10; before, nothing to keep.
    int peek_off = -1;
    socklen_t peek_len = sizeof peek_off;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &peek_off, &peek_len) != 0) {
        if (errno != EOPNOTSUPP) return Error::from_errno("getsockopt SO_PEEK_OFF");
        peek_off = -1;
    }
    linger lg{};
    socklen_t len = sizeof lg;
    if (::getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &len) != 0) return Error::from_errno("getsockopt SO_LINGER");
    if (out->family() == AF_INET6) {
        STASIS_ASSIGN(int v6only, get_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY"));
        out->set_v6only(v6only != 0);
    }
    out->set_reuseaddr(reuseaddr != 0);
    out->set_reuseport(reuseport != 0);
    out->set_keepalive(keepalive != 0);
    out->set_keepidle(uint32_t(keepidle));
    out->set_keepintvl(uint32_t(keepintvl));
    out->set_keepcnt(uint32_t(keepcnt));
    out->set_nodelay(nodelay != 0);
    out->set_cork(cork != 0);
    out->set_user_timeout(uint32_t(user_timeout));
    out->set_rcvbuf(uint32_t(rcvbuf));
    out->set_sndbuf(uint32_t(sndbuf));
    out->set_linger_on(lg.l_onoff != 0);
    out->set_linger_s(uint32_t(lg.l_linger));
    out->set_peek_off_on(peek_off >= 0);
    out->set_peek_off(peek_off >= 0 ? uint32_t(peek_off) : 0);
    return ok();
}

// What repair mode tells of a connection besides its queues: negotiated
// options, timestamp clock, window.
Status describe_connection(int fd, images::TcpConnection *c) {
    tcp_info ti{};
    socklen_t len = sizeof ti;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) return Error::from_errno("getsockopt TCP_INFO");
    STASIS_ASSIGN(int mss, get_int(fd, IPPROTO_TCP, TCP_MAXSEG, "TCP_MAXSEG"));  // the clamp, in repair mode
    STASIS_ASSIGN(int timestamp, get_int(fd, IPPROTO_TCP, TCP_TIMESTAMP, "TCP_TIMESTAMP"));
    auto now = std::chrono::system_clock::now().time_since_epoch();
    STASIS_ASSIGN(tcp_repair_window w, tcp::read_window(fd));
    c->set_mss_clamp(uint32_t(mss));
    c->set_wscale_ok((ti.tcpi_options & TCPI_OPT_WSCALE) != 0);
    if (c->wscale_ok()) {
        c->set_snd_wscale(ti.tcpi_snd_wscale);
        c->set_rcv_wscale(ti.tcpi_rcv_wscale);
    }
    c->set_sack_ok((ti.tcpi_options & TCPI_OPT_SACK) != 0);
    c->set_timestamps_ok((ti.tcpi_options & TCPI_OPT_TIMESTAMPS) != 0);
    c->set_timestamp(uint32_t(timestamp));
    c->set_dumped_at_unix_ms(uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(now).count()));
    c->set_snd_wl1(w.snd_wl1);
    c->set_snd_wnd(w.snd_wnd);
    c->set_max_window(w.max_window);
    c->set_rcv_wnd(w.rcv_wnd);
    c->set_rcv_wup(w.rcv_wup);
    return ok();
}

// The receive queue, with the process's SO_PEEK_OFF out of the way (a peek
// starts at the peek offset when one is set) and put back after.
Result<tcp::QueueSnapshot> read_recv_queue(int fd, const images::TcpSocketFile &sk) {
    int off = -1;
    if (sk.peek_off_on() && ::setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof off) != 0)
        return Error::from_errno("setsockopt SO_PEEK_OFF -1 (to read the queue from its start)");
    auto q = tcp::read_recv_queue(fd);
    off = int(sk.peek_off());
    if (sk.peek_off_on() && ::setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof off) != 0 && q.ok())
        return Error::from_errno("set SO_PEEK_OFF back");
    return q;
}

using Endpoints = std::tuple<std::string, uint32_t, std::string, uint32_t>;

}  // namespace

Result<images::Fd> copy_of_socket(pid_t pid, int fd) {
    images::Fd pidfd(int(::syscall(SYS_pidfd_open, pid, 0)));
    if (!pidfd.valid()) return Error::from_errno("pidfd_open");
    images::Fd copy(int(::syscall(SYS_pidfd_getfd, pidfd.get(), fd, 0)));
    if (!copy.valid()) return Error::from_errno("pidfd_getfd (a copy of the socket to read its state)");
    return copy;
}

Result<int> socket_family(int sock) { return get_int(sock, SOL_SOCKET, SO_DOMAIN, "SO_DOMAIN"); }

std::string tcp_socket_label(const images::TcpSocketFile &sk) {
    std::string s = log::cat("TCP socket socket:[", sk.ino(), "] ", endpoint(sk.family(), sk.local_addr(), sk.local_port()));
    if (!sk.peer_addr().empty()) s += " -> " + endpoint(sk.family(), sk.peer_addr(), sk.peer_port());
    return s;
}

Status TcpSockets::describe(uint64_t ino, const proc::FdInfo &info, const images::Fd &copy,
                            images::TcpSocketFile *out) {
    int sock = copy.get();
    STASIS_ASSIGN(int family, socket_family(sock));
    STASIS_ASSIGN(int type, get_int(sock, SOL_SOCKET, SO_TYPE, "SO_TYPE"));
    STASIS_ASSIGN(int protocol, get_int(sock, SOL_SOCKET, SO_PROTOCOL, "SO_PROTOCOL"));
    const char *fam = family == AF_INET ? "AF_INET" : "AF_INET6";
    if (type != SOCK_STREAM || protocol != IPPROTO_TCP) {
        const char *what = protocol == IPPROTO_UDP ? "UDP" : protocol == IPPROTO_MPTCP ? "MPTCP" : nullptr;
        std::string kind = what ? what : log::cat("type ", type, " protocol ", protocol);
        return Error(log::cat("socket:[", ino, "] is a ", kind, " socket (", fam,
                              "); of AF_INET/AF_INET6 sockets only TCP is supported"));
    }
    out->set_ino(ino);
    out->set_family(uint32_t(family));
    out->set_flags(info.flags & (O_ACCMODE | O_NONBLOCK));
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(sock, reinterpret_cast<sockaddr *>(&ss), &len) != 0)
        return Error::from_errno(log::cat("socket:[", ino, "]: getsockname"));
    uint32_t port = 0, scope = 0;
    put_address(ss, out->mutable_local_addr(), &port, &scope);
    out->set_local_port(port);
    out->set_ipv6_scope_id(scope);
    tcp_info ti{};
    len = sizeof ti;
    if (::getsockopt(sock, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
        return Error::from_errno(log::cat(tcp_socket_label(*out), ": getsockopt TCP_INFO"));
    int state = ti.tcpi_state;
    if (state != TCP_LISTEN && state != TCP_CLOSE) {
        ss = {};
        len = sizeof ss;
        if (::getpeername(sock, reinterpret_cast<sockaddr *>(&ss), &len) == 0) {
            put_address(ss, out->mutable_peer_addr(), &port, nullptr);
            out->set_peer_port(port);
        }
    }
    std::string label = tcp_socket_label(*out);
    switch (state) {
        case TCP_CLOSE:
            out->set_state(images::TCP_SK_UNCONNECTED);
            out->set_bound(out->local_port() != 0);
            break;
        case TCP_LISTEN:
            // For a listener TCP_INFO counts the connections waiting to be
            // accepted (unacked) and the backlog (sacked).
            if (ti.tcpi_unacked)
                return Error(log::cat(label, " is listening with ", ti.tcpi_unacked,
                                      " connection(s) not accepted yet: not supported (they would be reset)"));
            out->set_state(images::TCP_SK_LISTENING);
            out->set_backlog(ti.tcpi_sacked);
            break;
        case TCP_ESTABLISHED: {
            out->set_state(images::TCP_SK_ESTABLISHED);
            // Reading shut down keeps ESTABLISHED; poll tells it (RDHUP
            // without a FIN from the peer, which would be CLOSE_WAIT).
            pollfd p{sock, POLLRDHUP, 0};
            bool rdhup = ::poll(&p, 1, 0) == 1 && (p.revents & POLLRDHUP);
            out->mutable_connection()->set_rcv_shutdown(rdhup);
            break;
        }
        default:
            return Error(log::cat(label, " is in state ", tcp::state_name(state), " (", state_hint(state),
                                  "): only LISTEN, ESTABLISHED and unconnected TCP sockets can be dumped"));
    }
    return std::move(describe_options(sock, out)).context(label);
}

Status TcpSockets::hold(uint32_t file_id, pid_t pid, int fd, images::Fd copy, const images::TcpSocketFile &sk) {
    std::string label = tcp_socket_label(sk);
    bool repair = sk.state() == images::TCP_SK_ESTABLISHED;
    if (repair) {
        auto st = tcp::set_repair(copy.get(), TCP_REPAIR_ON);
        if (!st.ok())
            return std::move(st).context(label + ": repair mode (needs CAP_NET_ADMIN)");
    }
    held_.push_back(Held{file_id, pid, fd, std::move(copy), repair, sk.reuseaddr(), label});
    return ok();
}

Status TcpSockets::read_connections(std::vector<images::FileEntry> &entries) {
    // The send queues of all, then the receive queues of all (see tcp_socket.h).
    for (auto &h : held_) {
        if (!h.in_repair) continue;
        auto *c = entries[h.file_id - 1].mutable_tcp_sk()->mutable_connection();
        STASIS_TRY(std::move(describe_connection(h.copy.get(), c)).context(h.label));
        STASIS_ASSIGN(tcp::QueueSnapshot q, std::move(tcp::read_send_queue(h.copy.get())).context(h.label));
        c->set_send_seq(q.first_seq);
        c->set_unsent_bytes(q.unsent);
        c->set_send_queue(std::move(q.data));
    }
    std::map<Endpoints, uint32_t> by_endpoints;
    for (auto &h : held_) {
        if (!h.in_repair) continue;
        auto *sk = entries[h.file_id - 1].mutable_tcp_sk();
        STASIS_ASSIGN(tcp::QueueSnapshot q, std::move(read_recv_queue(h.copy.get(), *sk)).context(h.label));
        auto *c = sk->mutable_connection();
        c->set_recv_seq(q.first_seq);
        c->set_recv_queue(std::move(q.data));
        log::debug("process ", h.pid, ": fd ", h.fd, ": ", h.label, ": ", c->send_queue().size(),
                   " bytes unacknowledged (", c->unsent_bytes(), " not sent), ", c->recv_queue().size(),
                   " bytes not read");
        by_endpoints[{sk->local_addr(), sk->local_port(), sk->peer_addr(), sk->peer_port()}] = h.file_id;
    }
    for (auto &h : held_) {
        if (!h.in_repair) continue;
        const auto &sk = entries[h.file_id - 1].tcp_sk();
        if (by_endpoints.count({sk.peer_addr(), sk.peer_port(), sk.local_addr(), sk.local_port()})) continue;
        log::info("process ", h.pid, ": fd ", h.fd, ": ", h.label,
                  ": its peer is outside the dumped tree; it is kept silent (no FIN, no RST) until the restore, "
                  "and must send nothing meanwhile");
    }
    return ok();
}

Status TcpSockets::leave_repair() {
    Status result = ok();
    for (auto &h : held_) {
        if (!h.in_repair || !h.copy.valid()) continue;
        // Without a window probe: nothing was held back while in repair mode.
        Status st = tcp::set_repair(h.copy.get(), TCP_REPAIR_OFF_NO_WP);
        int one = 1;
        if (st.ok() && h.reuseaddr && ::setsockopt(h.copy.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
            st = Error::from_errno("put SO_REUSEADDR back");
        if (st.ok()) {
            h.in_repair = false;
        } else if (result.ok()) {
            result = std::move(st).context(log::cat("process ", h.pid, ": fd ", h.fd, ": ", h.label));
        }
    }
    return result;
}

void TcpSockets::close_silently() { held_.clear(); }

TcpSockets::~TcpSockets() {
    if (auto st = leave_repair(); !st.ok()) log::error(st.error().message());
}

}  // namespace stasis::files
