// The client side of the page server protocol. Every socket call is bounded
// in time (a connect timeout, then SO_RCVTIMEO/SO_SNDTIMEO), so a server
// that goes silent gives an error naming it rather than a hung dump or
// restore. Sends use MSG_NOSIGNAL: a server that hangs up must be an error,
// not a SIGPIPE.
#include "common/pageserver/client.h"

#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <string_view>
#include <vector>

#include "common/util/log.h"

namespace stasis::pageserver {

namespace {

constexpr int kConnectTimeoutMs = 10'000;
constexpr int kIoTimeoutSeconds = 30;
// An error reply is one line; more than this is not worth showing.
constexpr size_t kMaxErrorText = 4096;

std::string where_prefix(const Endpoint &e) { return log::cat("page server ", e.text(), ": "); }

// Turns a failed send/recv into the error the caller reports.
Error io_error(const Endpoint &e, const char *what, int err) {
    if (err == EAGAIN || err == EWOULDBLOCK)
        return Error(
            log::cat(where_prefix(e), "no answer during ", what, " within ", kIoTimeoutSeconds, " s"), err);
    if (err == EPIPE || err == ECONNRESET)
        return Error(log::cat("page server ", e.text(), " closed the connection during ", what), err);
    return Error::from_errno(log::cat(where_prefix(e), what), err);
}

// send(2) over a window of iovecs until all is sent (partial sends advance
// the window). `iov` is modified.
Status send_iov(int fd, std::vector<iovec> &iov, const Endpoint &e, const char *what) {
    size_t first = 0;
    while (first < iov.size()) {
        msghdr msg{};
        msg.msg_iov = iov.data() + first;
        msg.msg_iovlen = std::min<size_t>(iov.size() - first, IOV_MAX);
        ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return io_error(e, what, errno);
        }
        size_t done = size_t(n);
        while (first < iov.size() && done >= iov[first].iov_len) done -= iov[first++].iov_len;
        if (done > 0) {
            iov[first].iov_base = static_cast<char *>(iov[first].iov_base) + done;
            iov[first].iov_len -= done;
        }
    }
    return ok();
}

Status recv_all(int fd, void *buf, size_t len, const Endpoint &e, const char *what) {
    auto p = static_cast<char *>(buf);
    while (len > 0) {
        ssize_t n = ::recv(fd, p, len, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return io_error(e, what, errno);
        }
        if (n == 0) return io_error(e, what, ECONNRESET);
        p += n;
        len -= size_t(n);
    }
    return ok();
}

Status send_message(int fd, const Header &h, const void *payload, size_t len, const Endpoint &e) {
    unsigned char head[kHeaderSize];
    encode(h, head);
    std::vector<iovec> iov{{head, kHeaderSize}};
    if (len > 0) iov.push_back({const_cast<void *>(payload), len});
    return send_iov(fd, iov, e, op_name(h.op));
}

// The text of an error reply, read whole (decode() bounded it) so that the
// stream stays in step, and shortened for display.
Status recv_error_text(int fd, const Header &h, std::string &text, const Endpoint &e, const char *what) {
    text.assign(size_t(h.length), '\0');
    STASIS_TRY(recv_all(fd, text.data(), text.size(), e, what));
    if (text.size() > kMaxErrorText) text.resize(kMaxErrorText);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    return ok();
}

// Reads the next reply; an error reply becomes an Error with its text, any
// op other than `expect` a protocol error. Leaves a `data` payload unread.
Result<Header> recv_reply(int fd, Op expect, const char *asked, const Endpoint &e) {
    unsigned char head[kHeaderSize];
    STASIS_TRY(recv_all(fd, head, sizeof head, e, asked));
    auto h = decode(head);
    if (!h.ok())
        return std::move(h).error().context(log::cat("page server ", e.text(), ": reply to ", asked));
    if (h->op == Op::error) {
        std::string text;
        STASIS_TRY(recv_error_text(fd, *h, text, e, asked));
        return Error(log::cat(where_prefix(e), asked, ": ", text));
    }
    if (h->op != expect)
        return Error(log::cat(where_prefix(e), "answered ", asked, " with ", op_name(h->op), " instead of ",
                              op_name(expect)));
    if (expect != Op::data && h->length != 0)
        return Error(log::cat(where_prefix(e), op_name(h->op), " reply with an unexpected ", h->length,
                              "-byte payload"));
    return h;
}

// A send failed because the server hung up: it usually said why first
// (an error reply before ending the session). Returns that error when there
// is one, else `failed`.
Error explain_hangup(int fd, Error failed, const Endpoint &e, const char *what) {
    if (failed.sys_errno() != EPIPE && failed.sys_errno() != ECONNRESET) return failed;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 1000) != 1) return failed;
    unsigned char head[kHeaderSize];
    if (!recv_all(fd, head, sizeof head, e, what).ok()) return failed;
    auto h = decode(head);
    if (!h.ok() || h->op != Op::error) return failed;
    std::string text;
    if (!recv_error_text(fd, *h, text, e, what).ok()) return failed;
    return Error(log::cat(where_prefix(e), what, ": ", text));
}

Status set_timeouts(int fd) {
    timeval tv{kIoTimeoutSeconds, 0};
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0)
        return Error::from_errno("setsockopt SO_RCVTIMEO/SO_SNDTIMEO");
    int one = 1;
    // Requests are small and answered one by one: Nagle would only add delay.
    if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
        return Error::from_errno("setsockopt TCP_NODELAY");
    return ok();
}

// Non-blocking connect, waited for until `deadline`.
Result<images::Fd> connect_one(const addrinfo *ai, std::chrono::steady_clock::time_point deadline) {
    images::Fd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol));
    if (!fd.valid()) return Error::from_errno("socket");
    if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS) return Error::from_errno("connect");
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0)
                return Error(log::cat("connect: no answer within ", kConnectTimeoutMs / 1000, " s"),
                             ETIMEDOUT);
            pollfd p{fd.get(), POLLOUT, 0};
            int n = ::poll(&p, 1, int(left.count()));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return Error::from_errno("poll");
            if (n == 1) break;
        }
        int err = 0;
        socklen_t len = sizeof err;
        if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0)
            return Error::from_errno("getsockopt");
        if (err != 0) return Error::from_errno("connect", err);
    }
    int flags = ::fcntl(fd.get(), F_GETFL);
    if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) return Error::from_errno("fcntl");
    STASIS_TRY(set_timeouts(fd.get()));
    return fd;
}

}  // namespace

Result<Client> Client::connect(const Endpoint &where, Role role, uint32_t page_size) {
    Endpoint e = where;
    if (e.address.empty()) e.address = "127.0.0.1";
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo *list = nullptr;
    std::string service = std::to_string(e.port);
    int rc = ::getaddrinfo(e.address.c_str(), service.c_str(), &hints, &list);
    if (rc != 0)
        return Error(log::cat(where_prefix(e), "cannot resolve '", e.address, "': ", ::gai_strerror(rc)));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kConnectTimeoutMs);
    Result<images::Fd> fd = Error("no address");
    // Every address the name resolves to, in the resolver's order.
    for (addrinfo *ai = list; ai; ai = ai->ai_next) {
        fd = connect_one(ai, deadline);
        if (fd.ok() || fd.error().sys_errno() == ETIMEDOUT) break;
    }
    ::freeaddrinfo(list);
    if (!fd.ok()) return std::move(fd).error().context(log::cat("page server ", e.text()));
    Client c(std::move(fd).value(), e);

    Header hello{Op::hello, 0, uint32_t(role), page_size, 0};
    STASIS_TRY(send_message(c.fd(), hello, nullptr, 0, e));
    STASIS_TRY(recv_reply(c.fd(), Op::hello_ok, "hello", e));
    log::debug("page server ", e.text(), ": connected (", role == Role::push ? "push" : "fetch", ")");
    return c;
}

Result<uint32_t> Client::open(const std::string &name) {
    if (!valid_pages_name(name))
        return Error(log::cat(where_prefix(where_), "open: invalid name '", name, "'"));
    Header h{Op::open, 0, 0, 0, name.size()};
    STASIS_TRY(send_message(fd(), h, name.data(), name.size(), where_));
    STASIS_ASSIGN(Header r, recv_reply(fd(), Op::opened, "open", where_));
    return r.handle;
}

Status Client::write(uint32_t handle, const void *data, size_t len) {
    iovec one{const_cast<void *>(data), len};
    return write_iov(handle, &one, 1);
}

Status Client::write_iov(uint32_t handle, const iovec *iov, int count) {
    // One write message per at most kMaxPayload bytes (and at most IOV_MAX
    // pieces): header and data go out in one sendmsg, without a copy.
    unsigned char head[kHeaderSize];
    std::vector<iovec> chunk;
    size_t chunk_bytes = 0;
    auto flush = [&]() -> Status {
        if (chunk_bytes == 0) return ok();
        encode(Header{Op::write, handle, 0, 0, chunk_bytes}, head);
        chunk.insert(chunk.begin(), iovec{head, kHeaderSize});
        Status s = send_iov(fd(), chunk, where_, "write");
        chunk.clear();
        chunk_bytes = 0;
        if (!s.ok()) return explain_hangup(fd(), std::move(s).error(), where_, "write");
        return ok();
    };
    for (int i = 0; i < count; i++) {
        auto base = static_cast<char *>(iov[i].iov_base);
        size_t left = iov[i].iov_len;
        while (left > 0) {
            size_t take = std::min<uint64_t>(left, kMaxPayload - chunk_bytes);
            chunk.push_back({base, take});
            chunk_bytes += take;
            base += take;
            left -= take;
            if (chunk_bytes == kMaxPayload || chunk.size() + 1 >= IOV_MAX) STASIS_TRY(flush());
        }
    }
    return flush();
}

Status Client::commit(uint32_t handle, uint64_t data_bytes) {
    Header h{Op::commit, handle, 0, data_bytes, 0};
    Status s = send_message(fd(), h, nullptr, 0, where_);
    if (!s.ok()) return explain_hangup(fd(), std::move(s).error(), where_, "commit");
    STASIS_TRY(recv_reply(fd(), Op::committed, "commit", where_));
    return ok();
}

Result<uint64_t> Client::stat(const std::string &name) {
    if (!valid_pages_name(name))
        return Error(log::cat(where_prefix(where_), "stat: invalid name '", name, "'"));
    Header h{Op::stat, 0, 0, 0, name.size()};
    STASIS_TRY(send_message(fd(), h, name.data(), name.size(), where_));
    STASIS_ASSIGN(Header r, recv_reply(fd(), Op::size, "stat", where_));
    return r.offset;
}

Status Client::read(const std::string &name, uint64_t offset, void *buf, size_t len) {
    if (!valid_pages_name(name))
        return Error(log::cat(where_prefix(where_), "read: invalid name '", name, "'"));
    if (len > kMaxPayload)
        return Error(log::cat(where_prefix(where_), "read of ", len, " bytes: more than the ", kMaxPayload,
                              "-byte limit of one read"));
    // `length` is what is asked for, so the name's length travels in flags
    // (the read payload is the name).
    Header h{Op::read, 0, uint32_t(name.size()), offset, len};
    STASIS_TRY(send_message(fd(), h, name.data(), name.size(), where_));
    STASIS_ASSIGN(Header r, recv_reply(fd(), Op::data, "read", where_));
    if (r.length != len)
        return Error(log::cat(where_prefix(where_), "read of ", len, " bytes of ", name, " at ", offset,
                              " answered with ", r.length, " bytes"));
    return recv_all(fd(), buf, len, where_, "read");
}

Status Client::bye(bool finished) {
    Header h{Op::bye, 0, finished ? kByeFinished : 0, 0, 0};
    STASIS_TRY(send_message(fd(), h, nullptr, 0, where_));
    STASIS_TRY(recv_reply(fd(), Op::bye_ok, "bye", where_));
    return ok();
}

}  // namespace stasis::pageserver
