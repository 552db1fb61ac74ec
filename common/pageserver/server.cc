// `stasis page-server`: the TCP side. Listens, runs one thread per session
// (session.cc does the protocol) and decides when to stop: on SIGINT or
// SIGTERM, or, with exit_when_finished, once a client said its work is done
// and no session is open. Stopping shuts down the sockets of open sessions
// so that no thread stays blocked in recv(2).
#include "common/pageserver/server.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <list>
#include <mutex>
#include <thread>

#include "common/images/file_io.h"
#include "common/images/format.h"
#include "common/pageserver/session.h"
#include "common/util/log.h"

namespace stasis::pageserver {

namespace {

// More sessions than this at once are refused (each may hold an 8 MiB buffer).
constexpr size_t kMaxSessions = 64;
// A client that does not read its answers for this long loses its session.
constexpr int kSendTimeoutSeconds = 60;

// Signals reach serve() through these: the handler may only touch
// lock-free atomics and write(2).
std::atomic<bool> g_stop{false};
std::atomic<int> g_wake_fd{-1};

void on_stop_signal(int) {
    int saved = errno;
    g_stop = true;
    int fd = g_wake_fd.load();
    if (fd >= 0) {
        char c = 's';
        [[maybe_unused]] ssize_t n = ::write(fd, &c, 1);
    }
    errno = saved;
}

// Installs the SIGINT/SIGTERM handlers for the life of serve() and puts the
// previous ones back.
class StopSignals {
public:
    explicit StopSignals(int wake_fd) {
        g_stop = false;
        g_wake_fd = wake_fd;
        struct sigaction sa {};
        sa.sa_handler = on_stop_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;  // session threads' calls go on; the wake pipe tells the main loop
        ::sigaction(SIGINT, &sa, &old_int_);
        ::sigaction(SIGTERM, &sa, &old_term_);
    }
    ~StopSignals() {
        ::sigaction(SIGINT, &old_int_, nullptr);
        ::sigaction(SIGTERM, &old_term_, nullptr);
        g_wake_fd = -1;
    }
    StopSignals(const StopSignals &) = delete;
    StopSignals &operator=(const StopSignals &) = delete;

private:
    struct sigaction old_int_ {};
    struct sigaction old_term_ {};
};

std::string peer_name(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    char host[NI_MAXHOST], serv[NI_MAXSERV];
    if (::getpeername(fd, reinterpret_cast<sockaddr *>(&ss), &len) != 0 ||
        ::getnameinfo(reinterpret_cast<sockaddr *>(&ss), len, host, sizeof host, serv, sizeof serv,
                      NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        return "unknown peer";
    std::string h = host;
    // IPv4 clients of the dual-stack socket: shown as the address they used.
    if (h.rfind("::ffff:", 0) == 0 && h.find('.') != std::string::npos) h = h.substr(7);
    if (h.find(':') != std::string::npos) h = "[" + h + "]";
    return log::cat(h, ":", serv);
}

Result<images::Fd> listen_at(const std::string &host, uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo *list = nullptr;
    std::string service = std::to_string(port);
    int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &list);
    if (rc != 0) return Error(log::cat("cannot resolve '", host, "': ", ::gai_strerror(rc)));
    Result<images::Fd> result = Error("no address");
    for (addrinfo *ai = list; ai; ai = ai->ai_next) {
        images::Fd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
        if (!fd.valid()) {
            result = Error::from_errno("socket");
            continue;
        }
        int one = 1, zero = 0;
        // A restarted server must not wait for the old one's TIME_WAIT sockets.
        ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        // "::" takes IPv4 clients too (as ::ffff:a.b.c.d).
        if (ai->ai_family == AF_INET6) ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        if (::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
            result = Error::from_errno("bind");
            continue;
        }
        if (::listen(fd.get(), 64) != 0) {
            result = Error::from_errno("listen");
            continue;
        }
        result = std::move(fd);
        break;
    }
    ::freeaddrinfo(list);
    return result;
}

// Every address when none was given: IPv6 and IPv4 on one socket, or IPv4
// alone where the kernel has no IPv6.
Result<images::Fd> listen_on(const Endpoint &e) {
    if (!e.address.empty()) return std::move(listen_at(e.address, e.port)).context(e.text());
    auto dual = listen_at("::", e.port);
    if (dual.ok()) return dual;
    return std::move(listen_at("0.0.0.0", e.port)).context(e.text());
}

uint16_t local_port(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr *>(&ss), &len) != 0) return 0;
    if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6 *>(&ss)->sin6_port);
    return ntohs(reinterpret_cast<sockaddr_in *>(&ss)->sin_port);
}

// After a failed session: stop sending, then read what the client still
// sends for a moment, so that closing does not reset the connection before
// the client has read the error reply.
void linger_close(int fd) {
    ::shutdown(fd, SHUT_WR);
    timeval tv{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char sink[4096];
    for (size_t total = 0; total < (1u << 20);) {
        ssize_t n = ::recv(fd, sink, sizeof sink, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        total += size_t(n);
    }
}

struct SessionThread {
    std::thread thread;
    int fd = -1;  // guarded by Server::mu; -1 once the thread closed it
    std::atomic<bool> done{false};
};

class Server {
public:
    // `dirfd` and the wake pipe stay open for the life of the Server.
    Server(const ServerOptions &opts, int dirfd, int wake_read, int wake_write)
        : opts_(opts), wake_read_(wake_read), wake_write_(wake_write) {
        ctx_.dirfd = dirfd;
        ctx_.page_size = opts.page_size;
    }
    Status run(int listen_fd);

private:
    void start_session(int fd);
    void session_main(SessionThread *t, std::string peer);
    void reap(bool all);
    void wake();

    const ServerOptions &opts_;
    int wake_read_, wake_write_;
    SessionContext ctx_;
    std::mutex mu_;
    std::list<SessionThread> sessions_;  // a list: threads keep pointers to their entry
};

void Server::wake() {
    char c = 'w';
    [[maybe_unused]] ssize_t n = ::write(wake_write_, &c, 1);
}

void Server::session_main(SessionThread *t, std::string peer) {
    log::info("page server: session from ", peer);
    Status s = serve_session(t->fd, ctx_, peer);
    if (s.ok()) {
        log::info("page server: session from ", peer, " ended");
    } else {
        log::warn("page server: session from ", peer, " ended: ", s.error().message());
        linger_close(t->fd);
    }
    {
        std::lock_guard lock(mu_);
        ::close(t->fd);
        t->fd = -1;
    }
    t->done = true;
    wake();
}

void Server::start_session(int fd) {
    std::string peer = peer_name(fd);
    int one = 1;
    // Lazy-pages clients may be idle for long: keepalive, not a receive
    // timeout, finds peers that vanished.
    ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    timeval tv{kSendTimeoutSeconds, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    std::lock_guard lock(mu_);
    if (sessions_.size() >= kMaxSessions) {
        log::warn("page server: refused ", peer, ": ", kMaxSessions, " sessions are open");
        std::string text = log::cat("the page server has ", kMaxSessions, " sessions open already");
        unsigned char head[kHeaderSize];
        encode(Header{Op::error, 0, 0, 0, text.size()}, head);
        ::send(fd, head, sizeof head, MSG_NOSIGNAL | MSG_DONTWAIT);
        ::send(fd, text.data(), text.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        ::close(fd);
        return;
    }
    SessionThread &t = sessions_.emplace_back();
    t.fd = fd;
    t.thread = std::thread(&Server::session_main, this, &t, std::move(peer));
}

void Server::reap(bool all) {
    std::list<SessionThread> ended;
    {
        std::lock_guard lock(mu_);
        for (auto it = sessions_.begin(); it != sessions_.end();) {
            auto next = std::next(it);
            if (all || it->done) ended.splice(ended.end(), sessions_, it);
            it = next;
        }
    }
    for (auto &t : ended) t.thread.join();
}

Status Server::run(int listen_fd) {
    for (;;) {
        reap(false);
        if (g_stop) {
            log::info("page server: stopping on a signal");
            break;
        }
        if (opts_.exit_when_finished && ctx_.finished) {
            std::lock_guard lock(mu_);
            if (sessions_.empty()) {
                log::info("page server: the migration is finished and no session is open; exiting");
                break;
            }
        }
        pollfd fds[2] = {{listen_fd, POLLIN, 0}, {wake_read_, POLLIN, 0}};
        // The timeout is only a safety net: signals and ended sessions wake the poll.
        int n = ::poll(fds, 2, 1000);
        if (n < 0 && errno != EINTR) return Error::from_errno("page server: poll");
        if (n <= 0) continue;
        if (fds[1].revents & POLLIN) {
            char sink[64];
            while (::read(wake_read_, sink, sizeof sink) > 0) {
            }
        }
        if (fds[0].revents & POLLIN) {
            int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) {
                // The client may have given up already; EMFILE passes too.
                int err = errno;
                if (err != EINTR && err != EAGAIN && err != ECONNABORTED)
                    log::warn("page server: accept: ", std::strerror(err));
                // Out of fds: give sessions a moment to end rather than spin.
                if (err == EMFILE || err == ENFILE) ::poll(nullptr, 0, 100);
                continue;
            }
            start_session(fd);
        }
    }
    // Wake threads blocked in recv()/send() of open sessions, then wait.
    {
        std::lock_guard lock(mu_);
        for (auto &t : sessions_)
            if (t.fd >= 0) ::shutdown(t.fd, SHUT_RDWR);
    }
    reap(true);
    return ok();
}

}  // namespace

Status serve(const ServerOptions &opts) {
    if (!images::valid_page_size(opts.page_size))
        return Error(log::cat("page server: invalid page size ", opts.page_size));
    STASIS_ASSIGN(images::Fd dir,
                  std::move(images::open_dir(opts.images_dir, true)).context("page server: images dir"));
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) return Error::from_errno("page server: pipe");
    images::Fd wake_read(pipe_fds[0]), wake_write(pipe_fds[1]);
    // Before on_listening: whoever learns the port may signal us at once.
    StopSignals signals(wake_write.get());
    STASIS_ASSIGN(images::Fd listener, std::move(listen_on(opts.listen)).context("page server: listen"));
    uint16_t port = local_port(listener.get());
    log::info("page server: listening on ", Endpoint{opts.listen.address, port}.text(), ", images in ",
              opts.images_dir);
    if (opts.on_listening) opts.on_listening(port);
    Server server(opts, dir.get(), wake_read.get(), wake_write.get());
    return server.run(listener.get());
}

}  // namespace stasis::pageserver
