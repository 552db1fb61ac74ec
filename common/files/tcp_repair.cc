#include "common/files/tcp_repair.h"

#include <linux/sockios.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "common/util/log.h"

namespace stasis::files::tcp {
namespace {

// Reads of a moving queue are retried this many times before giving up.
constexpr int kStableReadAttempts = 20;
// Room past the send queue's counted bytes: its oldest skb may still hold
// bytes the peer has acknowledged (the kernel trims a partly acknowledged
// skb lazily), and a peek into too small a buffer fails.
constexpr size_t kSendPeekSlack = 1u << 20;

Status set_int(int fd, int opt, int v, const char *name) {
    if (::setsockopt(fd, IPPROTO_TCP, opt, &v, sizeof v) != 0)
        return Error::from_errno(log::cat("setsockopt ", name, " ", v));
    return ok();
}

Result<uint32_t> queue_seq(int fd, int queue) {
    STASIS_TRY(select_queue(fd, queue));
    uint32_t seq = 0;
    socklen_t len = sizeof seq;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, &seq, &len) != 0)
        return Error::from_errno("getsockopt TCP_QUEUE_SEQ");
    return seq;
}

Result<uint32_t> ioctl_count(int fd, unsigned long req, const char *name) {
    int n = 0;
    if (::ioctl(fd, req, &n) != 0) return Error::from_errno(name);
    if (n < 0) return Error(log::cat(name, " gave ", n));
    return uint32_t(n);
}

// MSG_PEEK of the selected queue into a buffer of `room` bytes.
Result<std::string> peek(int fd, size_t room) {
    std::string buf(room, '\0');
    if (room == 0) return buf;
    ssize_t n;
    do {
        n = ::recv(fd, buf.data(), buf.size(), MSG_PEEK | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN) n = 0;
    if (n < 0) return Error::from_errno("recv MSG_PEEK");
    buf.resize(size_t(n));
    return buf;
}

}  // namespace

std::string state_name(int state) {
    static const char *const names[] = {"0",          "ESTABLISHED", "SYN_SENT", "SYN_RECV",  "FIN_WAIT1",
                                        "FIN_WAIT2",  "TIME_WAIT",   "CLOSE",    "CLOSE_WAIT", "LAST_ACK",
                                        "LISTEN",     "CLOSING",     "NEW_SYN_RECV"};
    if (state > 0 && size_t(state) < sizeof names / sizeof names[0]) return names[state];
    return log::cat("state ", state);
}

Status set_repair(int fd, int mode) { return set_int(fd, TCP_REPAIR, mode, "TCP_REPAIR"); }

Status select_queue(int fd, int queue) { return set_int(fd, TCP_REPAIR_QUEUE, queue, "TCP_REPAIR_QUEUE"); }

Status set_queue_seq(int fd, int queue, uint32_t seq) {
    STASIS_TRY(select_queue(fd, queue));
    if (::setsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, &seq, sizeof seq) != 0)
        return Error::from_errno(log::cat("setsockopt TCP_QUEUE_SEQ ", seq, " of the ",
                                          queue == TCP_SEND_QUEUE ? "send" : "receive", " queue"));
    return ok();
}

Result<QueueSnapshot> read_send_queue(int fd) {
    for (int attempt = 0; attempt < kStableReadAttempts; attempt++) {
        STASIS_ASSIGN(uint32_t write_seq, queue_seq(fd, TCP_SEND_QUEUE));
        STASIS_ASSIGN(uint32_t outq, ioctl_count(fd, SIOCOUTQ, "SIOCOUTQ"));
        STASIS_ASSIGN(uint32_t unsent, ioctl_count(fd, SIOCOUTQNSD, "SIOCOUTQNSD"));
        STASIS_ASSIGN(std::string data, peek(fd, outq ? outq + kSendPeekSlack : 0));
        STASIS_ASSIGN(uint32_t outq_after, ioctl_count(fd, SIOCOUTQ, "SIOCOUTQ"));
        STASIS_ASSIGN(uint32_t write_seq_after, queue_seq(fd, TCP_SEND_QUEUE));
        STASIS_TRY(select_queue(fd, TCP_NO_QUEUE));
        if (outq != outq_after || write_seq != write_seq_after) continue;  // acknowledged meanwhile
        if (data.size() < outq)
            return Error(log::cat("the send queue holds ", outq, " unacknowledged bytes, a peek gave ", data.size()));
        // Bytes before the oldest unacknowledged one, still in a partly
        // acknowledged skb, are not part of the queue.
        QueueSnapshot q;
        q.data = data.substr(data.size() - outq);
        q.first_seq = write_seq - outq;
        q.unsent = std::min(unsent, outq);
        return q;
    }
    return Error(log::cat("the send queue kept changing over ", kStableReadAttempts, " reads"));
}

Result<QueueSnapshot> read_recv_queue(int fd) {
    for (int attempt = 0; attempt < kStableReadAttempts; attempt++) {
        STASIS_ASSIGN(uint32_t rcv_nxt, queue_seq(fd, TCP_RECV_QUEUE));
        STASIS_ASSIGN(uint32_t inq, ioctl_count(fd, SIOCINQ, "SIOCINQ"));
        // One byte more than counted: a peek that fills the buffer would
        // hide data that arrived after the count.
        STASIS_ASSIGN(std::string data, peek(fd, size_t(inq) + 1));
        STASIS_ASSIGN(uint32_t rcv_nxt_after, queue_seq(fd, TCP_RECV_QUEUE));
        STASIS_TRY(select_queue(fd, TCP_NO_QUEUE));
        if (rcv_nxt != rcv_nxt_after || data.size() != inq) continue;  // data arrived meanwhile
        QueueSnapshot q;
        q.first_seq = rcv_nxt - inq;
        q.data = std::move(data);
        return q;
    }
    return Error(log::cat("the receive queue kept changing over ", kStableReadAttempts, " reads"));
}

Result<size_t> write_queue(int fd, int queue, const std::string &data, size_t from) {
    STASIS_TRY(select_queue(fd, queue));
    size_t done = from;
    while (done < data.size()) {
        ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == ENOMEM)) break;
        if (n < 0)
            return Error::from_errno(log::cat("put ", data.size() - done, " bytes back into the ",
                                              queue == TCP_SEND_QUEUE ? "send" : "receive", " queue"));
        if (n == 0) break;
        done += size_t(n);
    }
    STASIS_TRY(select_queue(fd, TCP_NO_QUEUE));
    return done - from;
}

Result<tcp_repair_window> read_window(int fd) {
    tcp_repair_window w{};
    socklen_t len = sizeof w;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, &len) != 0 || len != sizeof w)
        return Error::from_errno("getsockopt TCP_REPAIR_WINDOW");
    return w;
}

Status set_window(int fd, const tcp_repair_window &w) {
    if (::setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, sizeof w) != 0)
        return Error::from_errno(log::cat("setsockopt TCP_REPAIR_WINDOW (snd_wl1 ", w.snd_wl1, ", snd_wnd ", w.snd_wnd,
                                          ", max_window ", w.max_window, ", rcv_wnd ", w.rcv_wnd, ", rcv_wup ",
                                          w.rcv_wup, ")"));
    return ok();
}

}  // namespace stasis::files::tcp
