// The server side of one page server session. Everything the client sends
// is untrusted: names are checked before they touch the file system, payload
// sizes are bounded before anything is read, and write payloads are streamed
// to the file in bounded chunks, never held whole.
//
// Two kinds of failure: a request that cannot be served (a missing file, a
// commit of the wrong size, a full disk) is answered with an error and the
// session goes on; a protocol violation (bad header, an op the role does
// not allow, a payload that does not fit) is answered and ends the session,
// as the two sides can no longer be sure they agree on the stream.
#include "common/pageserver/session.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "common/images/file_io.h"
#include "common/images/format.h"
#include "common/pageserver/protocol.h"
#include "common/util/log.h"

namespace stasis::pageserver {

namespace {

// Files one push session may have open at once (each holds two fds).
constexpr size_t kMaxOpenFiles = 64;
// Chunk in which write payloads go from the socket to the file.
constexpr size_t kStreamChunk = 256 << 10;

// An error reply is one line of printable text, whatever the client sent.
std::string one_line(std::string_view text) {
    std::string out(text.substr(0, 1024));
    for (char &c : out)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    return out;
}

struct PushFile {
    images::TempFile file;
    uint64_t received = 0;        // data bytes after the header
    std::optional<Error> failed;  // the first write error, reported at commit
};

// A committed pages image opened for fetching.
struct PagesFile {
    std::string name;
    images::Fd fd;
    uint64_t size = 0;  // of the whole file
};

enum class Next { message, eof };

class Session {
public:
    Session(int fd, SessionContext &ctx, const std::string &peer) : fd_(fd), ctx_(ctx), peer_(peer) {}
    Status run();

private:
    // Transport: recv/send until done; a disconnect is an error naming `what`.
    Status recv_exact(void *buf, size_t len, const char *what);
    Result<Next> recv_header(Header &h);
    Status send_message(const Header &h, const void *payload, size_t len);

    // Answers a request that failed; the session goes on.
    Status answer_error(std::string_view what);
    // Ends the session for a protocol violation, telling the client why.
    Error violation(std::string message);

    Result<std::string> recv_name(uint64_t len, const char *op);

    // Handlers; ok() also after answer_error(), an Error ends the session.
    Status hello(const Header &h);
    Status open(const Header &h);
    Status write(const Header &h);
    Status commit(const Header &h);
    Status stat(const Header &h);
    Status read(const Header &h);

    Result<PagesFile *> pages_file(const std::string &name, bool refresh);

    int fd_;
    SessionContext &ctx_;
    const std::string &peer_;
    std::optional<Role> role_;
    std::map<uint32_t, PushFile> files_;
    uint32_t next_handle_ = 1;
    std::optional<PagesFile> fetched_;  // the last file read: lazy-pages reads one file at a time
    std::vector<char> buf_;
};

Status Session::recv_exact(void *buf, size_t len, const char *what) {
    auto p = static_cast<char *>(buf);
    while (len > 0) {
        ssize_t n = ::recv(fd_, p, len, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return Error::from_errno(log::cat(peer_, ": recv during ", what));
        }
        if (n == 0) return Error(log::cat(peer_, " closed the connection during ", what));
        p += n;
        len -= size_t(n);
    }
    return ok();
}

Result<Next> Session::recv_header(Header &h) {
    unsigned char head[kHeaderSize];
    // A disconnect before the first byte of a message is a clean end.
    ssize_t n;
    do n = ::recv(fd_, head, sizeof head, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) return Error::from_errno(log::cat(peer_, ": recv"));
    if (n == 0) return Next::eof;
    STASIS_TRY(recv_exact(head + n, sizeof head - size_t(n), "a message header"));
    auto d = decode(head);
    if (!d.ok()) return violation(d.error().message());
    h = *d;
    return Next::message;
}

Status Session::send_message(const Header &h, const void *payload, size_t len) {
    unsigned char head[kHeaderSize];
    encode(h, head);
    iovec iov[2] = {{head, kHeaderSize}, {const_cast<void *>(payload), len}};
    size_t first = 0;
    while (first < 2) {
        msghdr msg{};
        msg.msg_iov = iov + first;
        msg.msg_iovlen = 2 - first;
        // MSG_NOSIGNAL: a client that hung up is a session error, not SIGPIPE.
        ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return Error::from_errno(log::cat(peer_, ": send ", op_name(h.op)));
        }
        size_t done = size_t(n);
        while (first < 2 && done >= iov[first].iov_len) done -= iov[first++].iov_len;
        if (first < 2) {
            iov[first].iov_base = static_cast<char *>(iov[first].iov_base) + done;
            iov[first].iov_len -= done;
        }
    }
    return ok();
}

Status Session::answer_error(std::string_view what) {
    std::string text = one_line(what);
    log::info("page server: ", peer_, ": ", text);
    return send_message(Header{Op::error, 0, 0, 0, text.size()}, text.data(), text.size());
}

Error Session::violation(std::string message) {
    std::string text = one_line(message);
    // The session ends: its uncommitted files go before the client hears so.
    files_.clear();
    // Best effort: the client may be gone already.
    (void)send_message(Header{Op::error, 0, 0, 0, text.size()}, text.data(), text.size());
    return Error(std::move(message));
}

Result<std::string> Session::recv_name(uint64_t len, const char *op) {
    if (len > kMaxName)
        return violation(
            log::cat("page server protocol: ", op, " name of ", len, " bytes (at most ", kMaxName, ")"));
    std::string name(size_t(len), '\0');
    STASIS_TRY(recv_exact(name.data(), name.size(), op));
    return name;
}

Status Session::hello(const Header &h) {
    if (h.length != 0)
        return violation(log::cat("page server protocol: hello with a ", h.length, "-byte payload"));
    if (h.flags != uint32_t(Role::push) && h.flags != uint32_t(Role::fetch))
        return violation(log::cat("page server protocol: hello with unknown role ", h.flags));
    if (h.offset != ctx_.page_size)
        return violation(
            log::cat("page size ", h.offset, " differs from this page server's ", ctx_.page_size));
    role_ = Role(h.flags);
    log::debug("page server: ", peer_, ": hello, ", *role_ == Role::push ? "push" : "fetch");
    return send_message(Header{Op::hello_ok, 0, 0, 0, 0}, nullptr, 0);
}

Status Session::open(const Header &h) {
    STASIS_ASSIGN(std::string name, recv_name(h.length, "open"));
    if (!valid_pages_name(name))
        return answer_error(log::cat("open: '", name, "' is not a pages image name"));
    if (files_.size() >= kMaxOpenFiles)
        return answer_error(
            log::cat("open ", name, ": ", kMaxOpenFiles, " files of this session are open already"));
    // Created 0600 under a hidden temporary name (O_EXCL: never through a
    // symlink, never over another file); renamed into place by commit.
    auto file = images::TempFile::create(ctx_.dirfd, name);
    if (!file.ok()) return answer_error(log::cat("open: ", file.error().message()));
    // The same first page a local RawImageWriter writes: header, zeros.
    std::string first_page(ctx_.page_size, '\0');
    const images::KindInfo *pages = images::kind_info(images::IMAGE_PAGES);
    images::encode_header(
        images::ImageHeader{images::kImageMagic, uint32_t(images::IMAGE_PAGES), pages->version, 0},
        first_page.data());
    Status s = images::write_all(file->fd(), first_page.data(), first_page.size());
    if (!s.ok()) return answer_error(log::cat("open ", name, ": ", s.error().message()));
    uint32_t handle = next_handle_++;
    files_.emplace(handle, PushFile{std::move(file).value(), 0, std::nullopt});
    log::debug("page server: ", peer_, ": open ", name, " as handle ", handle);
    return send_message(Header{Op::opened, handle, 0, 0, 0}, nullptr, 0);
}

Status Session::write(const Header &h) {
    auto it = files_.find(h.handle);
    // Writes are not answered, so an error here could only be reported out
    // of step: the client has lost track of its files.
    if (it == files_.end())
        return violation(log::cat("page server protocol: write to handle ", h.handle, ", which is not open"));
    PushFile &f = it->second;
    buf_.resize(std::max(buf_.size(), kStreamChunk));
    for (uint64_t left = h.length; left > 0;) {
        size_t n = size_t(std::min<uint64_t>(left, kStreamChunk));
        STASIS_TRY(recv_exact(buf_.data(), n, "write"));
        left -= n;
        // After a failed write the data is still read, to stay in step; the
        // error is the answer to commit.
        if (!f.failed) {
            Status s = images::write_all(f.file.fd(), buf_.data(), n);
            if (!s.ok()) f.failed = std::move(s).error().context(f.file.name());
        }
        f.received += n;
    }
    return ok();
}

Status Session::commit(const Header &h) {
    if (h.length != 0)
        return violation(log::cat("page server protocol: commit with a ", h.length, "-byte payload"));
    auto it = files_.find(h.handle);
    if (it == files_.end()) return answer_error(log::cat("commit: handle ", h.handle, " is not open"));
    // Out of the map whatever happens. A refused commit removes the file
    // before it is answered, so the client never sees it linger.
    std::string refused;
    uint64_t received = 0;
    std::string name;
    {
        PushFile f = std::move(it->second);
        files_.erase(it);
        received = f.received;
        name = f.file.name();
        if (f.failed) {
            refused = log::cat("commit ", f.failed->message());
        } else if (f.received != h.offset) {
            refused = log::cat("commit ", name, ": ", f.received, " data bytes were written, not ", h.offset);
        } else if (f.received % ctx_.page_size != 0) {
            refused = log::cat("commit ", name, ": ", f.received, " data bytes are not whole pages of ",
                               ctx_.page_size);
        } else if (Status s = f.file.commit(); !s.ok()) {
            refused = log::cat("commit: ", s.error().message());
        }
    }
    if (!refused.empty()) return answer_error(refused);
    // A file of that name may be open for fetching: show the new one.
    if (fetched_ && fetched_->name == name) fetched_.reset();
    log::info("page server: ", peer_, ": committed ", name, ", ", received, " bytes (",
              received / ctx_.page_size, " pages)");
    return send_message(Header{Op::committed, h.handle, 0, received, 0}, nullptr, 0);
}

Result<PagesFile *> Session::pages_file(const std::string &name, bool refresh) {
    if (fetched_ && fetched_->name == name && !refresh) return &*fetched_;
    fetched_.reset();
    // O_NOFOLLOW: no symlink out of the image directory; O_NONBLOCK: a FIFO
    // planted under the name must not hang the session (fstat refuses it).
    images::Fd fd(
        ::openat(ctx_.dirfd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
    if (!fd.valid()) return Error::from_errno(name);
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return Error::from_errno(log::cat(name, ": fstat"));
    if (!S_ISREG(st.st_mode)) return Error(log::cat(name, ": not a regular file"));
    uint64_t size = uint64_t(st.st_size);
    if (size < ctx_.page_size) return Error(log::cat(name, ": ", size, " bytes, less than its header page"));
    char head[images::kHeaderSize];
    ssize_t n;
    do n = ::pread(fd.get(), head, sizeof head, 0);
    while (n < 0 && errno == EINTR);
    if (n != ssize_t(sizeof head)) return Error(log::cat(name, ": cannot read the header"));
    auto parsed = images::parse_header(std::string_view(head, sizeof head), images::IMAGE_PAGES);
    if (!parsed.ok()) return std::move(parsed).error().context(name);
    if ((size - ctx_.page_size) % ctx_.page_size != 0)
        return Error(log::cat(name, ": ", size - ctx_.page_size, " data bytes are not whole pages"));
    fetched_ = PagesFile{name, std::move(fd), size};
    return &*fetched_;
}

Status Session::stat(const Header &h) {
    STASIS_ASSIGN(std::string name, recv_name(h.length, "stat"));
    if (!valid_pages_name(name))
        return answer_error(log::cat("stat: '", name, "' is not a pages image name"));
    // Refreshed: the file may have been pushed again since it was last read.
    auto f = pages_file(name, true);
    if (!f.ok()) return answer_error(log::cat("stat ", f.error().message()));
    return send_message(Header{Op::size, 0, 0, (*f)->size - ctx_.page_size, 0}, nullptr, 0);
}

Status Session::read(const Header &h) {
    // read: `length` is the size asked for (decode() bounded it); the name
    // is the payload and its length is in flags.
    STASIS_ASSIGN(std::string name, recv_name(h.flags, "read"));
    if (!valid_pages_name(name))
        return answer_error(log::cat("read: '", name, "' is not a pages image name"));
    auto f = pages_file(name, false);
    if (!f.ok()) return answer_error(log::cat("read ", f.error().message()));
    PagesFile &file = **f;
    if (h.offset > file.size || h.length > file.size - h.offset)
        return answer_error(log::cat("read ", name, ": ", h.length, " bytes at ", h.offset,
                                     " are beyond its ", file.size, " bytes"));
    buf_.resize(std::max<size_t>(buf_.size(), size_t(h.length)));
    size_t have = 0;
    while (have < h.length) {
        ssize_t n =
            ::pread(file.fd.get(), buf_.data() + have, size_t(h.length) - have, off_t(h.offset + have));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return answer_error(Error::from_errno(log::cat("read ", name, ": pread")).message());
        if (n == 0) {
            fetched_.reset();
            return answer_error(log::cat("read ", name, ": the file shrank"));
        }
        have += size_t(n);
    }
    return send_message(Header{Op::data, 0, 0, h.offset, h.length}, buf_.data(), size_t(h.length));
}

Status Session::run() {
    for (;;) {
        Header h;
        STASIS_ASSIGN(Next next, recv_header(h));
        if (next == Next::eof) {
            if (!files_.empty())
                return Error(log::cat(peer_, " closed the connection with ", files_.size(),
                                      " files not committed (removed)"));
            return ok();
        }
        if (!role_) {
            if (h.op != Op::hello)
                return violation(log::cat("page server protocol: ", op_name(h.op), " before hello"));
            STASIS_TRY(hello(h));
            continue;
        }
        bool push = *role_ == Role::push;
        switch (h.op) {
            case Op::open:
            case Op::write:
            case Op::commit:
            case Op::stat:
            case Op::read: {
                bool push_op = h.op == Op::open || h.op == Op::write || h.op == Op::commit;
                if (push_op != push)
                    return violation(log::cat("page server protocol: ", op_name(h.op), " in a ",
                                              push ? "push" : "fetch", " session"));
                if (h.op == Op::open) STASIS_TRY(open(h));
                if (h.op == Op::write) STASIS_TRY(write(h));
                if (h.op == Op::commit) STASIS_TRY(commit(h));
                if (h.op == Op::stat) STASIS_TRY(stat(h));
                if (h.op == Op::read) STASIS_TRY(read(h));
                break;
            }
            case Op::bye:
                if (h.length != 0)
                    return violation(
                        log::cat("page server protocol: bye with a ", h.length, "-byte payload"));
                if (h.flags & kByeFinished) ctx_.finished = true;
                if (size_t left = files_.size()) {
                    files_.clear();
                    (void)send_message(Header{Op::bye_ok, 0, 0, 0, 0}, nullptr, 0);
                    return Error(log::cat(peer_, " said bye with ", left, " files not committed (removed)"));
                }
                return send_message(Header{Op::bye_ok, 0, 0, 0, 0}, nullptr, 0);
            default:
                return violation(log::cat("page server protocol: ", op_name(h.op), " is not a request"));
        }
    }
}

}  // namespace

Status serve_session(int fd, SessionContext &ctx, const std::string &peer) {
    return Session(fd, ctx, peer).run();
}

}  // namespace stasis::pageserver
