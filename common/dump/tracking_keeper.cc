#include "common/dump/tracking_keeper.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <set>

#include "common/proc/stat.h"
#include "common/util/log.h"

namespace stasis::dump {
namespace {

constexpr const char *kKeeperName = "stasis-track";

[[noreturn]] void keeper_main(const std::vector<std::pair<pid_t, int>> &uffds, const std::vector<pid_t> &tasks,
                              int report) {
    ::prctl(PR_SET_NAME, kKeeperName, 0, 0, 0);
    if (::chdir("/") != 0) _exit(1);
    std::vector<pollfd> watch;
    for (pid_t t : tasks) {
        int fd = int(::syscall(SYS_pidfd_open, t, 0));
        if (fd >= 0) watch.push_back({fd, POLLIN, 0});
    }
    pid_t me = ::getpid();
    if (::write(report, &me, sizeof me) != ssize_t(sizeof me)) _exit(1);
    // Nothing but the userfaultfds and the pidfds: never the caller's
    // terminal, pipes or log file.
    std::set<int> keep;
    for (const auto &u : uffds) keep.insert(u.second);
    for (const auto &w : watch) keep.insert(w.fd);
    int prev = -1;
    for (int fd : keep) {
        if (fd > prev + 1) ::syscall(SYS_close_range, prev + 1, fd - 1, 0);
        prev = fd;
    }
    ::syscall(SYS_close_range, prev + 1, ~0u, 0);
    while (!watch.empty()) {
        int n = ::poll(watch.data(), watch.size(), -1);
        if (n < 0 && errno != EINTR) break;
        for (size_t i = 0; i < watch.size();) {
            if (watch[i].revents) {
                ::close(watch[i].fd);
                watch.erase(watch.begin() + long(i));
            } else {
                ++i;
            }
        }
    }
    _exit(0);
}

}  // namespace

Result<images::TrackingKeeper> start_keeper(const std::vector<std::pair<pid_t, int>> &uffds,
                                            const std::vector<pid_t> &tasks) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return Error::from_errno("pipe for the tracking keeper");
    pid_t middle = ::fork();
    if (middle < 0) {
        ::close(p[0]);
        ::close(p[1]);
        return Error::from_errno("fork the tracking keeper");
    }
    if (middle == 0) {
        // A new session, and a grandchild: the keeper belongs to no
        // terminal and is nobody's child but init's (or a subreaper's).
        ::setsid();
        signal(SIGHUP, SIG_IGN);
        pid_t keeper = ::fork();
        if (keeper == 0) keeper_main(uffds, tasks, p[1]);
        _exit(keeper < 0 ? 1 : 0);
    }
    ::close(p[1]);
    int st = 0;
    while (::waitpid(middle, &st, 0) < 0 && errno == EINTR) {
    }
    pid_t keeper = 0;
    ssize_t n = ::read(p[0], &keeper, sizeof keeper);
    ::close(p[0]);
    if (n != ssize_t(sizeof keeper) || keeper <= 0) return Error("the tracking keeper did not start");
    images::TrackingKeeper k;
    k.set_pid(keeper);
    auto stat = proc::read_stat(keeper);
    if (!stat.ok()) return std::move(stat).error().context("the tracking keeper");
    k.set_start_time(stat->start_time);
    for (const auto &u : uffds) {
        auto *e = k.add_uffds();
        e->set_task(u.first);
        e->set_fd(u.second);
    }
    log::info("dirty tracking kept by process ", keeper, " (", kKeeperName, ") until the next dump");
    return k;
}

bool keeper_alive(const images::TrackingKeeper &k) {
    if (k.pid() <= 0) return false;
    auto stat = proc::read_stat(k.pid());
    return stat.ok() && stat->start_time == k.start_time() && stat->comm == kKeeperName && stat->state != 'Z';
}

Result<std::map<pid_t, images::Fd>> take_uffds(const images::TrackingKeeper &k) {
    images::Fd pidfd(int(::syscall(SYS_pidfd_open, k.pid(), 0)));
    if (!pidfd.valid()) return Error::from_errno(log::cat("the tracking keeper (process ", k.pid(), ")"));
    // Opened, then checked: the pidfd now names the process we checked.
    if (!keeper_alive(k)) return Error(log::cat("process ", k.pid(), " is no longer the tracking keeper"));
    std::map<pid_t, images::Fd> out;
    for (const auto &u : k.uffds()) {
        images::Fd fd(int(::syscall(SYS_pidfd_getfd, pidfd.get(), u.fd(), 0)));
        if (!fd.valid())
            return Error::from_errno(log::cat("take the userfaultfd of process ", u.task(), " from the keeper"));
        out.emplace(u.task(), std::move(fd));
    }
    return out;
}

void stop_keeper(const images::TrackingKeeper &k) {
    if (k.pid() <= 0) return;
    images::Fd pidfd(int(::syscall(SYS_pidfd_open, k.pid(), 0)));
    if (!pidfd.valid() || !keeper_alive(k)) return;
    ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
    pollfd p{pidfd.get(), POLLIN, 0};
    (void)::poll(&p, 1, 5000);
    log::debug("tracking keeper ", k.pid(), " stopped");
}

}  // namespace stasis::dump
