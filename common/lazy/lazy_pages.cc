#include "common/lazy/lazy_pages.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "arch/arch.h"
#include "common/images/images.h"
#include "common/images/page_chain.h"
#include "common/lazy/lazy_socket.h"
#include "common/pageserver/client.h"
#include "common/proc/tasks.h"
#include "common/linux/uapi.h"
#include "common/restore/page_sources.h"
#include "common/restore/plan.h"
#include "common/util/log.h"
#include "pie/restorer/plan.h"

namespace stasis::lazy {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kFaultChunk = 64 * 1024;       // copied around a faulting page
constexpr uint64_t kBackgroundChunk = 2ull << 20;  // copied per background step

// Page data not yet copied in: `len` bytes at `off` in pages file `src`
// (an index into Server::sources_).
struct Piece {
    uint64_t len;
    int src;
    uint64_t off;
};

// A pages file: open here (and mapped, when the address space allows), or
// a name on the page server.
struct Source {
    images::Fd fd;
    std::string remote_name;
    const char *map = nullptr;
    uint64_t map_len = 0;
    Source(images::Fd f, std::string name) : fd(std::move(f)), remote_name(std::move(name)) {
        struct stat st;
        if (!fd.valid() || ::fstat(fd.get(), &st) != 0 || st.st_size <= 0) return;
        void *p = ::mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_SHARED, fd.get(), 0);
        if (p == MAP_FAILED) return;  // e.g. larger than a 32-bit address space: pread then
        map = static_cast<const char *>(p);
        map_len = uint64_t(st.st_size);
    }
    Source(Source &&o) noexcept
        : fd(std::move(o.fd)), remote_name(std::move(o.remote_name)), map(o.map), map_len(o.map_len) {
        o.map = nullptr;
    }
    Source(const Source &) = delete;
    ~Source() {
        if (map) ::munmap(const_cast<char *>(map), size_t(map_len));
    }
};

struct Task {
    pid_t pid = 0;  // 0: a child forked after the restore
    images::Fd uffd;
    std::map<uint64_t, Piece> left;  // by address
    uint64_t last_fault = 0;
};

// Removes [start, end) from `left`, splitting pieces at the edges.
void cut(std::map<uint64_t, Piece> &left, uint64_t start, uint64_t end) {
    auto it = left.upper_bound(start);
    if (it != left.begin()) --it;
    while (it != left.end() && it->first < end) {
        uint64_t a = it->first, b = a + it->second.len;
        if (b <= start) {
            ++it;
            continue;
        }
        Piece p = it->second;
        it = left.erase(it);
        if (a < start) left[a] = {start - a, p.src, p.off};
        if (b > end) left[end] = {b - end, p.src, p.off + (end - a)};
    }
}

// The part of `left` in [start, end), cut out and returned.
std::map<uint64_t, Piece> take(std::map<uint64_t, Piece> &left, uint64_t start, uint64_t end) {
    std::map<uint64_t, Piece> out;
    auto it = left.upper_bound(start);
    if (it != left.begin()) --it;
    for (; it != left.end() && it->first < end; ++it) {
        uint64_t a = std::max(it->first, start), b = std::min(it->first + it->second.len, end);
        if (a < b) out[a] = {b - a, it->second.src, it->second.off + (a - it->first)};
    }
    cut(left, start, end);
    return out;
}

class Server {
public:
    explicit Server(const LazyOptions &opts) : opts_(opts) {}

    Status run() {
        page_ = uint64_t(sysconf(_SC_PAGESIZE));
        images::ReadOptions ro;
        ro.expect_arch = arch::kImageArch;
        ro.expect_page_size = uint32_t(page_);
        ro.check_pages = !opts_.page_server;  // checked on the page server below
        STASIS_ASSIGN(cp_, images::read_checkpoint(opts_.images_dir, ro));
        if (cp_.inventory.dump_kind() == "pre-dump")
            return Error(opts_.images_dir + " is a pre-dump: restore (and serve) the dump made on top of it");
        STASIS_ASSIGN(parents_, images::read_parents(opts_.images_dir, cp_.inventory, ro));
        STASIS_ASSIGN(pages_, restore::resolve_tree_pages(opts_.images_dir, cp_, parents_, page_));
        if (opts_.page_server) {
            if (!parents_.empty())
                return Error("--page-server with parent images is not supported: the page server holds one level");
            STASIS_ASSIGN(page_server_, pageserver::Client::connect(*opts_.page_server, pageserver::Role::fetch,
                                                                    uint32_t(page_)));
        }
        level_src_.resize(cp_.tasks.size());
        for (size_t i = 0; i < cp_.tasks.size(); ++i) {
            if (cp_.tasks[i].tree.zombie()) continue;
            ++expected_;
            STASIS_TRY(open_sources(i));
        }
        STASIS_ASSIGN(listen_, listen_socket(opts_.images_dir));
        log::info("lazy-pages: serving ", expected_, " process(es) of ", opts_.images_dir,
                  opts_.page_server ? " from the page server " + opts_.page_server->text() : std::string());
        started_ = Clock::now();
        Status st = loop();
        ::unlinkat(AT_FDCWD, (opts_.images_dir + "/" + kSocketName).c_str(), 0);
        if (!st.ok()) {
            if (size_t killed = kill_served())
                return Error(log::cat(st.error().message(), "; killed the ", killed, " restored process(es) it served"));
            return st;
        }
        // Every page delivered: the page server's work for this migration
        // is done too.
        if (st.ok() && page_server_) STASIS_TRY(page_server_->bye(true));
        return st;
    }

private:
    Status loop() {
        for (;;) {
            if (connected_.size() == expected_ && tasks_.empty()) break;
            if (connected_.empty() && Clock::now() - started_ > std::chrono::seconds(opts_.connect_timeout_s))
                return Error(log::cat("no restored process connected in ", opts_.connect_timeout_s, " s"));
            std::vector<pollfd> pfds;
            pfds.push_back({listen_.get(), POLLIN, 0});
            const size_t nconns = conns_.size(), ntasks = tasks_.size();
            for (const auto &c : conns_) pfds.push_back({c.get(), POLLIN, 0});
            for (const auto &t : tasks_) pfds.push_back({t->uffd.get(), POLLIN, 0});
            bool background = Clock::now() >= background_from_ &&
                              std::any_of(tasks_.begin(), tasks_.end(), [](const auto &t) { return !t->left.empty(); });
            int n = ::poll(pfds.data(), pfds.size(), background ? 0 : 1000);
            if (n < 0 && errno != EINTR) return Error::from_errno("poll");
            if (n > 0) {
                // Faults first (they hold a thread), then hellos, then
                // new connections; indexes are those of the poll above.
                for (size_t i = 0; i < ntasks; ++i)
                    if (pfds[1 + nconns + i].revents) STASIS_TRY(events(*tasks_[i]));
                for (size_t i = nconns; i-- > 0;) {
                    if (!pfds[1 + i].revents) continue;
                    STASIS_TRY(receive(conns_[i]));
                    conns_.erase(conns_.begin() + long(i));
                }
                if (pfds[0].revents) STASIS_TRY(accept_one());
            }
            if (n == 0 && background) STASIS_TRY(background_step());
            finish_tasks();
        }
        auto ms = [](Clock::duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
        log::info("lazy-pages: all memory served: ", fault_pages_, " page(s) on faults, ", background_pages_,
                  " in the background, ", zero_pages_, " zero page(s); ", ms(Clock::now() - started_),
                  " ms in all, ", ms(read_time_), " ms reading pages, ", ms(copy_time_), " ms in UFFDIO_COPY");
        return ok();
    }

    Status accept_one() {
        images::Fd c(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (c.valid()) conns_.push_back(std::move(c));
        return ok();
    }

    // A restored task's hello and its userfaultfd; a connection that only
    // checks we are here sends nothing.
    Status receive(images::Fd &conn) {
        restore_lazy_hello hello{};
        iovec iov{&hello, sizeof hello};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        ssize_t n = ::recvmsg(conn.get(), &msg, MSG_CMSG_CLOEXEC);
        if (n <= 0) return ok();
        images::Fd uffd;
        for (cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                int fd;
                std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
                uffd = images::Fd(fd);
            }
        ucred cred{};
        socklen_t len = sizeof cred;
        ::getsockopt(conn.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len);
        if (size_t(n) != sizeof hello || hello.magic != RESTORE_LAZY_MAGIC || !uffd.valid() || cred.pid != hello.pid) {
            log::warn("lazy-pages: ignored a connection that is not a restored process's (pid ", cred.pid, ")");
            return ok();
        }
        size_t index = cp_.tasks.size();
        for (size_t i = 0; i < cp_.tasks.size(); ++i)
            if (cp_.tasks[i].tree.pid() == hello.pid && !cp_.tasks[i].tree.zombie()) index = i;
        if (index == cp_.tasks.size() || connected_.count(hello.pid)) {
            log::warn("lazy-pages: process ", hello.pid, " is not a task of this checkpoint waiting for memory");
            return ok();
        }
        connected_.insert(hello.pid);
        auto t = std::make_unique<Task>();
        t->pid = hello.pid;
        t->uffd = std::move(uffd);
        ::fcntl(t->uffd.get(), F_SETFL, O_NONBLOCK);
        const auto &vmas = cp_.tasks[index].vmas;
        STASIS_ASSIGN(auto pieces, restore::split_by_vma(pages_[index].sources, vmas));
        for (const auto &p : pieces) {
            // What a restorer registers: data in lazy-candidate VMAs.
            if (p.level < 0 || level_src_[index][size_t(p.level)] < 0 || !restore::lazy_candidate(vmas[p.vma]))
                continue;
            t->left[p.vaddr] = {p.len, level_src_[index][size_t(p.level)], p.file_off};
        }
        uint64_t bytes = 0;
        for (const auto &[a, p] : t->left) bytes += p.len;
        log::info("lazy-pages: process ", hello.pid, " connected: ", bytes / page_, " page(s) to serve");
        // Other processes read the command line and environment through
        // /proc (ps, top, our own checks), and the kernel does not wait for
        // us on such remote reads: they would see zeros. Those pages first,
        // before the restorer (waiting for this byte) goes on.
        const auto &mm = cp_.tasks[index].mm;
        for (auto [from, to] : {std::pair{mm.arg_start(), mm.arg_end()}, std::pair{mm.env_start(), mm.env_end()}}) {
            for (uint64_t a = from & ~(page_ - 1); a < to; a += page_) {
                auto it = t->left.upper_bound(a);
                if (it == t->left.begin() || std::prev(it)->first + std::prev(it)->second.len <= a) continue;
                STASIS_TRY(copy(*t, a, a + page_, &fault_pages_));
            }
        }
        char ack = 1;
        if (::write(conn.get(), &ack, 1) != 1)
            return Error::from_errno(log::cat("lazy-pages: answer process ", hello.pid));
        background_from_ = Clock::now() + std::chrono::milliseconds(opts_.background_delay_ms);
        tasks_.push_back(std::move(t));
        return ok();
    }

    Status events(Task &t) {
        uffd_msg msgs[16];
        for (;;) {
            ssize_t n = ::read(t.uffd.get(), msgs, sizeof msgs);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) return ok();
            if (n <= 0) {
                gone(t);
                return ok();
            }
            for (size_t i = 0; i < size_t(n) / sizeof msgs[0]; ++i) STASIS_TRY(event(t, msgs[i]));
        }
    }

    Status event(Task &t, const uffd_msg &m) {
        switch (m.event) {
            case UFFD_EVENT_PAGEFAULT: return fault(t, m.arg.pagefault.address);
            case UFFD_EVENT_FORK: {
                // The child has what its parent had at the fork: the pages
                // not served yet are missing in both.
                auto child = std::make_unique<Task>();
                child->uffd = images::Fd(int(m.arg.fork.ufd));
                ::fcntl(child->uffd.get(), F_SETFD, FD_CLOEXEC);
                ::fcntl(child->uffd.get(), F_SETFL, O_NONBLOCK);
                child->left = t.left;
                child->last_fault = t.last_fault;
                log::debug("lazy-pages: a child of ", describe(t), " forked");
                forked_.push_back(std::move(child));
                return ok();
            }
            case UFFD_EVENT_REMAP: {
                auto moved = take(t.left, m.arg.remap.from, m.arg.remap.from + m.arg.remap.len);
                for (const auto &[a, p] : moved) t.left[a - m.arg.remap.from + m.arg.remap.to] = p;
                return ok();
            }
            case UFFD_EVENT_REMOVE:
            case UFFD_EVENT_UNMAP:
                // Dropped by the program: zero from now on, never the old data.
                cut(t.left, m.arg.remove.start, m.arg.remove.end);
                return ok();
            default: return Error(log::cat("lazy-pages: unexpected userfaultfd event ", int(m.event)));
        }
    }

    Status fault(Task &t, uint64_t addr) {
        uint64_t at = addr & ~(page_ - 1);
        t.last_fault = at;
        auto it = t.left.upper_bound(at);
        if (it != t.left.begin() && std::prev(it)->first + std::prev(it)->second.len > at) {
            --it;
            uint64_t end = std::min(it->first + it->second.len, (at + kFaultChunk) & ~(kFaultChunk - 1));
            if (end <= at) end = at + page_;
            uint64_t n = 0;
            STASIS_TRY(copy(t, at, end, &n));
            fault_pages_ += n;
            return ok();
        }
        // Never saved (or dropped since): a zero page.
        uffdio_zeropage z{};
        z.range.start = at;
        z.range.len = page_;
        if (::ioctl(t.uffd.get(), UFFDIO_ZEROPAGE, &z) != 0) {
            if (errno == ESRCH) gone(t);
            else if (errno != EEXIST && errno != EAGAIN)
                return Error::from_errno(log::cat("lazy-pages: zero page at ", log::hex(at), " of ", describe(t)));
        } else {
            ++zero_pages_;
        }
        return ok();
    }

    // Copies [start, end) (inside one piece of `left`) in; `pages` counts them.
    Status copy(Task &t, uint64_t start, uint64_t end, uint64_t *pages) {
        auto it = std::prev(t.left.upper_bound(start));
        const Piece p = it->second;
        uint64_t len = end - start;
        buf_.resize(std::max<uint64_t>(buf_.size(), len));
        auto t0 = Clock::now();
        STASIS_ASSIGN(const char *data, std::move(source_data(p.src, p.off + (start - it->first), len))
                                            .context(log::cat("lazy-pages: read pages for ", describe(t))));
        auto t1 = Clock::now();
        uffdio_copy c{};
        c.dst = start;
        c.src = uint64_t(uintptr_t(data));
        c.len = len;
        int rc = ::ioctl(t.uffd.get(), UFFDIO_COPY, &c);
        int err = errno;
        read_time_ += t1 - t0;
        copy_time_ += Clock::now() - t1;
        if (rc != 0) {
            if (err == EAGAIN) return ok();  // the layout is changing: events come first, then again
            if (err == ESRCH) {
                gone(t);
                return ok();
            }
            if (err == EEXIST && len > page_) {
                // Some page is there already: page by page.
                for (uint64_t a = start; a < end; a += page_) STASIS_TRY(copy(t, a, a + page_, pages));
                return ok();
            }
            if (err != EEXIST && err != ENOENT && err != EINVAL)
                return Error::from_errno(log::cat("lazy-pages: UFFDIO_COPY at ", log::hex(start), " of ", describe(t)),
                                         err);
            // Present already, or not registered (memory filled eagerly).
        } else if (pages) {
            *pages += len / page_;
        }
        cut(t.left, start, end);
        return ok();
    }

    // Fills one chunk of one task, nearest to where it last faulted.
    Status background_step() {
        for (size_t tries = 0; tries < tasks_.size(); ++tries) {
            Task &t = *tasks_[next_++ % tasks_.size()];
            if (t.left.empty() || !t.uffd.valid()) continue;
            auto it = t.left.lower_bound(t.last_fault);
            if (it == t.left.end()) it = std::prev(it);
            uint64_t start = it->first, end = start + std::min(it->second.len, kBackgroundChunk);
            t.last_fault = end;
            return copy(t, start, end, &background_pages_);
        }
        return ok();
    }

    void gone(Task &t) {
        log::debug("lazy-pages: ", describe(t), " is gone");
        t.left.clear();
    }

    // Done tasks let go of their userfaultfd: the kernel unregisters their
    // memory, and pages never saved read as zero without asking us.
    void finish_tasks() {
        for (auto &c : forked_) tasks_.push_back(std::move(c));
        forked_.clear();
        for (auto it = tasks_.begin(); it != tasks_.end();) {
            if ((*it)->left.empty()) {
                log::debug("lazy-pages: ", describe(**it), " has all its memory");
                it = tasks_.erase(it);
            } else {
                ++it;
            }
        }
    }

    // One source per pages file of task `index`'s levels: opened here, or
    // checked on the page server.
    Status open_sources(size_t index) {
        const restore::TaskPages &tp = pages_[index];
        if (!page_server_) {
            STASIS_ASSIGN(std::vector<int> fds, restore::open_levels(tp, uint32_t(page_)));
            for (int fd : fds) {
                level_src_[index].push_back(fd < 0 ? -1 : int(sources_.size()));
                if (fd >= 0) sources_.emplace_back(images::Fd(fd), std::string());
            }
            return ok();
        }
        for (const auto &l : tp.levels) {
            if (!l.pages) {
                level_src_[index].push_back(-1);
                continue;
            }
            std::string name = images::pages_file_name(l.pages_id);
            STASIS_ASSIGN(uint64_t bytes, page_server_->stat(name));
            if (bytes < l.pages * page_)
                return Error(log::cat(name, " on the page server ", page_server_->endpoint().text(), " holds ",
                                      bytes / page_, " pages; the pagemap needs ", l.pages));
            level_src_[index].push_back(int(sources_.size()));
            sources_.emplace_back(images::Fd(), name);
        }
        return ok();
    }

    // `len` bytes at `off` of source `src`: in its mapping, else read into
    // buf_. From the mapping UFFDIO_COPY copies straight out of the page
    // cache: the background fill of 1 GiB on tmpfs took 0.5-0.6 s instead
    // of 1.0 s (0.6 s pread + 0.4 s UFFDIO_COPY). Populating the source
    // range first (MADV_POPULATE_READ) gained nothing.
    Result<const char *> source_data(int src, uint64_t off, uint64_t len) {
        const Source &s = sources_[size_t(src)];
        if (s.map) {
            if (off > s.map_len || len > s.map_len - off) return Error("the pages file is shorter than its pagemap");
            return s.map + off;
        }
        if (!s.fd.valid()) {
            STASIS_TRY(page_server_->read(s.remote_name, off, buf_.data(), len));
            return static_cast<const char *>(buf_.data());
        }
        ssize_t got = ::pread(s.fd.get(), buf_.data(), len, off_t(off));
        if (got != ssize_t(len)) return Error::from_errno("read the pages file", got < 0 ? errno : EIO);
        return static_cast<const char *>(buf_.data());
    }

    // Serving failed (the page server went away, a pages file could not be
    // read): the processes waiting for memory must not run on with holes
    // (once our userfaultfds close, untouched pages would read as zeros).
    // Kills every connected task and whatever it forked since; returns how
    // many were still there.
    size_t kill_served() {
        std::vector<pid_t> todo(connected_.begin(), connected_.end());
        for (size_t i = 0; i < todo.size(); ++i) {
            if (auto kids = proc::list_children(todo[i]); kids.ok())
                todo.insert(todo.end(), kids->begin(), kids->end());
        }
        size_t killed = 0;
        for (pid_t pid : todo) killed += ::kill(pid, SIGKILL) == 0;
        return killed;
    }

    static std::string describe(const Task &t) {
        return t.pid ? log::cat("process ", t.pid) : std::string("a forked child");
    }

    LazyOptions opts_;
    uint64_t page_ = 4096;
    images::Checkpoint cp_;
    std::vector<images::ChainLevel> parents_;
    std::vector<restore::TaskPages> pages_;
    std::optional<pageserver::Client> page_server_;
    std::vector<Source> sources_;
    std::vector<std::vector<int>> level_src_;  // per task and level: index into sources_, -1 none
    size_t expected_ = 0;
    std::set<pid_t> connected_;
    images::Fd listen_;
    std::vector<images::Fd> conns_;
    std::vector<std::unique_ptr<Task>> tasks_, forked_;
    std::vector<char> buf_;
    size_t next_ = 0;
    uint64_t fault_pages_ = 0, background_pages_ = 0, zero_pages_ = 0;
    Clock::time_point started_;
    Clock::duration read_time_{}, copy_time_{};
    Clock::time_point background_from_;
};

}  // namespace

Status serve(const LazyOptions &opts) {
    Server s(opts);
    return s.run();
}

}  // namespace stasis::lazy
