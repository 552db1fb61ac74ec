#include "common/files/epoll.h"

#include <fcntl.h>
#include <linux/kcmp.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <set>

namespace stasis::files {
namespace {

template <typename T>
bool parse(std::string_view text, int base, T &out) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out, base);
    return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

Result<std::vector<images::EpollWatch>> list_epoll_watches(pid_t pid, int fd, const proc::FdInfo &info) {
    std::vector<images::EpollWatch> out;
    std::map<int, uint32_t> seen;  // fd number -> watches with it so far (KCMP_EPOLL_TFD's toff)
    for (const auto &line : info.entries) {
        if (line.rfind("tfd:", 0) != 0) continue;
        int tfd = -1;
        uint32_t events = 0;
        uint64_t data = 0;
        bool have_tfd = false, have_events = false, have_data = false;
        for (auto [key, value] : proc::split_fdinfo_entry(line)) {
            if (key == "tfd") have_tfd = parse(value, 10, tfd);
            if (key == "events") have_events = parse(value, 16, events);
            if (key == "data") have_data = parse(value, 16, data);
        }
        if (!have_tfd || !have_events || !have_data || tfd < 0)
            return Error("epoll: unreadable watch in fdinfo: '" + line + "'");
        kcmp_epoll_slot slot{uint32_t(fd), uint32_t(tfd), seen[tfd]++};
        long same = ::syscall(SYS_kcmp, pid, pid, KCMP_EPOLL_TFD, tfd, &slot);
        if (same != 0) {
            std::string why = same > 0         ? "which is another file now"
                              : errno == EBADF ? "which is not open any more"
                                               : "which kcmp cannot compare (" + std::string(strerror(errno)) + ")";
            return Error("epoll watches fd " + std::to_string(tfd) + ", " + why +
                         " (the watch outlives a closed fd while the file stays open elsewhere): "
                         "it cannot be added again");
        }
        images::EpollWatch w;
        w.set_fd(tfd);
        w.set_events(events);
        w.set_data(data);
        out.push_back(w);
    }
    return out;
}

Result<int> open_epoll(const images::EpollFile &e) {
    int fd = ::epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) return Error::from_errno("epoll_create1");
    if ((e.flags() & O_NONBLOCK) && ::fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
        int err = errno;
        ::close(fd);
        return Error::from_errno("epoll: set O_NONBLOCK", err);
    }
    return fd;
}

Status add_epoll_watches(const images::Checkpoint &cp, size_t index) {
    std::set<uint32_t> held_before;
    for (size_t i = 0; i < index; ++i)
        for (const auto &f : cp.tasks[i].fds) held_before.insert(f.file_id());
    std::set<uint32_t> done;
    for (const auto &f : cp.tasks[index].fds) {
        uint32_t id = f.file_id();
        if (id == 0 || id > cp.files.size() || held_before.count(id) || done.count(id)) continue;
        const auto &entry = cp.files[id - 1];
        if (!entry.has_epoll()) continue;
        done.insert(id);
        for (const auto &w : entry.epoll().watches()) {
            epoll_event ev {};
            ev.events = w.events();
            ev.data.u64 = w.data();
            if (::epoll_ctl(f.fd(), EPOLL_CTL_ADD, w.fd(), &ev) != 0)
                return Error::from_errno("epoll fd " + std::to_string(f.fd()) + ": watch fd " + std::to_string(w.fd()));
        }
    }
    return ok();
}

}  // namespace stasis::files
