// Checks of files.img: each kind of file alone, the ends of one pipe
// together, and epoll watches against the fd table that holds them.
#include <fcntl.h>
#include <sys/timerfd.h>
#include <time.h>

#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

#include "common/images/format.h"
#include "common/images/validate.h"
#include "common/util/log.h"

namespace stasis::images::validate {
namespace {

// F_SETPIPE_SZ takes an int; the kernel's ceiling (pipe-max-size) is lower.
constexpr uint32_t kMaxPipeSize = 1u << 30;
// Far beyond any real timer, and far enough from 2^64 that now + value
// cannot wrap when an absolute timer is rearmed.
constexpr uint64_t kMaxTimerNs = 1ull << 62;
constexpr uint32_t kStatusFlags = O_ACCMODE | O_NONBLOCK;

Status status_flags(uint32_t flags) {
    if (flags & ~kStatusFlags) return Error(log::cat("flags ", log::hex(flags), " beyond O_ACCMODE|O_NONBLOCK"));
    if ((flags & O_ACCMODE) == O_ACCMODE) return Error(log::cat("flags ", log::hex(flags), ": invalid access mode"));
    return ok();
}

bool power_of_two(uint64_t v) { return v && !(v & (v - 1)); }

// What the ends of one pipe (same inode, same FIFO path) must agree on.
struct PipeGroup {
    uint32_t first_id = 0;
    uint32_t size = 0;
    uint32_t buffered_on = 0;
};
using PipeGroups = std::map<std::pair<uint64_t, std::string>, PipeGroup>;

// A pipe's buffered data must fit in it (else writing it back blocks the
// restore forever) and be stored on one end only.
Status pipe_file(const FileEntry &f, PipeGroups *groups) {
    const PipeFile &p = f.pipe();
    STASIS_TRY(status_flags(p.flags()));
    if (p.buffered().size() > p.pipe_size())
        return Error(log::cat("pipe holds ", p.buffered().size(), " buffered bytes, more than its pipe_size ",
                              p.pipe_size()));
    if (!power_of_two(p.pipe_size()) || p.pipe_size() < kMinPageSize || p.pipe_size() > kMaxPipeSize)
        return Error(log::cat("pipe_size ", p.pipe_size(), " is not a power of two in ", kMinPageSize, "..",
                              kMaxPipeSize));
    STASIS_TRY(name_bytes("fifo_path", p.fifo_path(), kMaxPathBytes));
    if (!p.fifo_path().empty() && p.fifo_path()[0] != '/') return Error("fifo_path is not absolute");
    std::string name = p.fifo_path().empty() ? log::cat("pipe:[", p.pipe_ino(), "]") : "FIFO " + p.fifo_path();
    PipeGroup &g = (*groups)[{p.pipe_ino(), p.fifo_path()}];
    if (!g.first_id) {
        g.first_id = f.id();
        g.size = p.pipe_size();
    } else if (g.size != p.pipe_size()) {
        return Error(log::cat(name, " has pipe_size ", p.pipe_size(), " here and ", g.size, " on file id ",
                              g.first_id));
    }
    if (!p.buffered().empty()) {
        if (g.buffered_on)
            return Error(log::cat(name, " has buffered data on two ends (file ids ", g.buffered_on, " and ", f.id(),
                                  ")"));
        g.buffered_on = f.id();
    }
    return ok();
}

Status eventfd_file(const EventfdFile &e) {
    if (e.counter() == UINT64_MAX) return Error("eventfd counter 2^64-1 (the kernel's maximum is 2^64-2)");
    return status_flags(e.flags());
}

Status timerfd_file(const TimerfdFile &t) {
    STASIS_TRY(status_flags(t.flags()));
    static const std::set<int32_t> clocks{CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_REALTIME_ALARM,
                                          CLOCK_BOOTTIME_ALARM};
    if (!clocks.count(t.clockid())) return Error(log::cat("timerfd on clock ", t.clockid(), ", not one timerfd uses"));
    if (t.settime_flags() & ~uint32_t(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET))
        return Error(log::cat("timerfd settime_flags ", log::hex(t.settime_flags()), " unknown"));
    if (t.value_ns() > kMaxTimerNs || t.interval_ns() > kMaxTimerNs)
        return Error(log::cat("timerfd value ", t.value_ns(), " ns or interval ", t.interval_ns(), " ns over 2^62"));
    return ok();
}

Status epoll_file(const FileEntry &f, const FileIndex &index) {
    const EpollFile &e = f.epoll();
    STASIS_TRY(status_flags(e.flags()));
    if (uint32_t(e.watches_size()) > kMaxFdsPerTask)
        return Error(log::cat(e.watches_size(), " epoll watches (at most ", kMaxFdsPerTask, ")"));
    std::set<std::pair<int32_t, uint32_t>> seen;
    for (int i = 0; i < e.watches_size(); i++) {
        const EpollWatch &w = e.watches(i);
        if (w.fd() < 0) return Error(log::cat("epoll watch #", i, ": negative fd ", w.fd()));
        if (w.file_id() == f.id()) return Error(log::cat("epoll watch #", i, ": watches itself"));
        if (!index.count(w.file_id()))
            return Error(log::cat("epoll watch #", i, ": file_id ", w.file_id(), " is not in files.img"));
        if (!seen.insert({w.fd(), w.file_id()}).second)
            return Error(log::cat("epoll watch #", i, ": fd ", w.fd(), " watched twice"));
    }
    return ok();
}

Status file_entry(const FileEntry &f, PipeGroups *groups) {
    switch (f.kind_case()) {
        case FileEntry::kReg: {
            const RegFile &r = f.reg();
            if (r.path().empty()) return Error("empty path");
            STASIS_TRY(name_bytes("path", r.path(), kMaxPathBytes));
            if (r.identity().build_id().size() > kMaxBuildIdBytes)
                return Error(log::cat("build_id of ", r.identity().build_id().size(), " bytes"));
            if (!r.identity().checksum().empty() && r.identity().checksum().size() != 32)
                return Error(log::cat("checksum of ", r.identity().checksum().size(), " bytes (SHA-256 has 32)"));
            return ok();
        }
        case FileEntry::kPipe: return pipe_file(f, groups);
        case FileEntry::kEventfd: return eventfd_file(f.eventfd());
        case FileEntry::kSignalfd: return status_flags(f.signalfd().flags());
        case FileEntry::kTimerfd: return timerfd_file(f.timerfd());
        case FileEntry::kEpoll: return ok();  // after the index is whole: epoll_file
        // A kind added by a newer stasis leaves the oneof unset here (its
        // field is unknown to this build): refuse it rather than skip a file.
        case FileEntry::KIND_NOT_SET: return Error("no kind this stasis knows (written by a newer stasis?)");
        default: return ok();
    }
}

}  // namespace

Status files(const std::vector<FileEntry> &files, FileIndex *index) {
    if (files.size() > kMaxFiles) return Error(log::cat(files.size(), " files (at most ", kMaxFiles, ")"));
    index->clear();
    PipeGroups groups;
    for (size_t i = 0; i < files.size(); i++) {
        const FileEntry &f = files[i];
        std::string who = log::cat("file #", i, " (id ", f.id(), ")");
        if (f.id() == 0) return Error(log::cat(who, ": id 0 is reserved for 'no file'"));
        if (!index->emplace(f.id(), &f).second) return Error(log::cat(who, ": id listed twice"));
        STASIS_TRY(std::move(file_entry(f, &groups)).context(who));
    }
    for (size_t i = 0; i < files.size(); i++)
        if (files[i].has_epoll())
            STASIS_TRY(std::move(epoll_file(files[i], *index)).context(log::cat("file #", i, " (id ", files[i].id(), ")")));
    return ok();
}

Status epoll_watches(const std::vector<TaskImages> &tasks, const FileIndex &files) {
    std::set<uint32_t> placed;
    for (const TaskImages &t : tasks) {
        std::unordered_map<int32_t, uint32_t> table;
        for (const FdEntry &fd : t.fds) table.emplace(fd.fd(), fd.file_id());
        for (const FdEntry &fd : t.fds) {
            auto f = files.find(fd.file_id());
            if (f == files.end() || !f->second->has_epoll() || !placed.insert(fd.file_id()).second) continue;
            for (const EpollWatch &w : f->second->epoll().watches()) {
                auto target = table.find(w.fd());
                if (target == table.end() || target->second != w.file_id())
                    return Error(log::cat("epoll file id ", fd.file_id(), " (fd ", fd.fd(), " of pid ", t.tree.pid(),
                                          ") watches fd ", w.fd(), " as file id ", w.file_id(), ", but that fd is ",
                                          target == table.end() ? std::string("not open there")
                                                                : log::cat("file id ", target->second)));
            }
        }
    }
    return ok();
}

}  // namespace stasis::images::validate
