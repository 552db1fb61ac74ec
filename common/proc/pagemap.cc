#include "common/proc/pagemap.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <utility>

#include "common/proc/read_file.h"
#include "common/proc/stat.h"
#include "common/util/log.h"

namespace stasis::proc {
namespace {

constexpr size_t kEntrySize = sizeof(uint64_t);
// 64 Ki entries (512 KiB, 256 MiB of address space with 4K pages) per pread:
// few system calls for big VMAs, a buffer that stays in cache.
constexpr size_t kEntriesPerRead = 64 * 1024;
// Regions per PAGEMAP_SCAN call; a sparse VMA rarely needs a second call.
constexpr size_t kRegionsPerScan = 1024;
constexpr uint64_t kDataCategories = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;

stasis_pm_scan_arg scan_arg(uint64_t start, uint64_t end, uint64_t excluded) {
    stasis_pm_scan_arg arg{};
    arg.size = sizeof(arg);
    arg.start = start;
    arg.end = end;
    // A page matches when ((categories ^ inverted) & mask) == mask and it is
    // in any of anyof_mask: inverting the excluded categories and requiring
    // them turns "must not be a guard region" into the mask test.
    arg.category_inverted = excluded;
    arg.category_mask = excluded;
    arg.category_anyof_mask = kDataCategories;
    arg.return_mask = kDataCategories;
    return arg;
}

// Appends [start, end) to the runs this call produced (from index `first`
// on), extending the last one when they touch.
void append_run(std::vector<PageRun> &out, size_t first, uint64_t start, uint64_t end, size_t page_size) {
    uint64_t npages = (end - start) / page_size;
    if (out.size() > first) {
        PageRun &last = out.back();
        if (last.start + last.npages * page_size == start) {
            last.npages += npages;
            return;
        }
    }
    out.push_back(PageRun{start, npages});
}

// Appends the runs of pages with data among `n` entries for the pages from
// `start` on; `in_run`/`run_begin` carry an open run across calls (page
// index from `base`). Closes nothing at the end: the caller does.
void append_data_runs(const uint64_t *entries, size_t n, uint64_t done, uint64_t base, size_t page_size,
                      std::vector<PageRun> &out, size_t first, bool &in_run, uint64_t &run_begin) {
    for (size_t i = 0; i < n; ++i) {
        bool data = pagemap::has_data(entries[i]);
        if (data == in_run) continue;
        if (data) run_begin = done + i;
        else append_run(out, first, base + run_begin * page_size, base + (done + i) * page_size, page_size);
        in_run = data;
    }
}

}  // namespace

Result<PagemapReader> PagemapReader::open(pid_t pid, PagemapMethod method) {
    std::string path = proc_path(pid, "pagemap");
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return task_file_error(pid, 0, path, "open", errno);
    long page_size = ::sysconf(_SC_PAGESIZE);
    PagemapReader reader(pid, fd, page_size > 0 ? static_cast<size_t>(page_size) : 4096);
    if (method == PagemapMethod::pread) return reader;

    // Try the richest form first: excluding guard regions needs 6.15's
    // PAGE_IS_GUARD, and a kernel that does not know a category says EINVAL.
    int err = reader.probe_scan(PAGE_IS_GUARD);
    if (err == EINVAL) err = reader.probe_scan(0);
    if (err == 0) {
        reader.use_scan_ = true;
        reader.regions_.resize(kRegionsPerScan);
    } else if (err == ESRCH) {
        return reader.io_error("PAGEMAP_SCAN", err);
    } else if (method == PagemapMethod::pagemap_scan) {
        return Error::from_errno("PAGEMAP_SCAN not usable", err).context(path);
    } else {
        log::debug(path, ": PAGEMAP_SCAN unavailable (errno ", err, "), reading entries with pread");
    }
    return reader;
}

PagemapReader::PagemapReader(PagemapReader &&other) noexcept
    : pid_(other.pid_),
      fd_(std::exchange(other.fd_, -1)),
      page_size_(other.page_size_),
      use_scan_(other.use_scan_),
      scan_excluded_(other.scan_excluded_),
      entries_(std::move(other.entries_)),
      regions_(std::move(other.regions_)),
      ahead_start_(std::exchange(other.ahead_start_, 0)),
      ahead_end_(std::exchange(other.ahead_end_, 0)),
      ahead_(std::move(other.ahead_)) {}

PagemapReader &PagemapReader::operator=(PagemapReader &&other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        pid_ = other.pid_;
        fd_ = std::exchange(other.fd_, -1);
        page_size_ = other.page_size_;
        use_scan_ = other.use_scan_;
        scan_excluded_ = other.scan_excluded_;
        entries_ = std::move(other.entries_);
        regions_ = std::move(other.regions_);
        ahead_start_ = std::exchange(other.ahead_start_, 0);
        ahead_end_ = std::exchange(other.ahead_end_, 0);
        ahead_ = std::move(other.ahead_);
    }
    return *this;
}

PagemapReader::~PagemapReader() {
    if (fd_ >= 0) ::close(fd_);
}

// An empty range makes the kernel validate the arguments (sizes, category
// bits) without walking anything: 0 or the errno of the refusal.
int PagemapReader::probe_scan(uint64_t excluded_categories) {
    stasis_pm_scan_arg arg = scan_arg(0, 0, excluded_categories);
    if (::ioctl(fd_, PAGEMAP_SCAN, &arg) < 0) return errno;
    scan_excluded_ = excluded_categories;
    return 0;
}

Error PagemapReader::io_error(std::string_view what, int err) const {
    return task_file_error(pid_, 0, proc_path(pid_, "pagemap"), what, err);
}

// pagemap reads end early when the task's mm is gone (it exited, or is a
// zombie) or past the top of its address space; say which.
Error PagemapReader::early_end_error(uint64_t address) const {
    auto stat = read_stat(pid_);
    if (!stat.ok() && is_task_gone(stat.error())) return stat.error();
    if (stat.ok() && (stat->state == 'Z' || stat->state == 'X')) return io_error("read", ESRCH);
    return Error("pagemap ends before " + log::cat(log::hex(address)) + " (beyond the address space?)", EIO)
        .context(proc_path(pid_, "pagemap"));
}

Status PagemapReader::check_range(uint64_t start, uint64_t end) const {
    if (start > end || start % page_size_ || end % page_size_) {
        return Error("bad page range " + log::cat(log::hex(start), "-", log::hex(end)), EINVAL)
            .context(proc_path(pid_, "pagemap"));
    }
    return ok();
}

Status PagemapReader::pread_entries(uint64_t start, size_t count, uint64_t *out) {
    uint64_t offset = start / page_size_ * kEntrySize;
    size_t want = count * kEntrySize;
    auto *bytes = reinterpret_cast<char *>(out);
    size_t done = 0;
    while (done < want) {
        uint64_t at = offset + done;
        if (at > static_cast<uint64_t>(std::numeric_limits<off_t>::max())) return early_end_error(start);
        ssize_t n = ::pread(fd_, bytes + done, want - done, static_cast<off_t>(at));
        if (n < 0) {
            if (errno == EINTR) continue;
            return io_error("pread", errno);
        }
        if (n == 0) return early_end_error(start + done / kEntrySize * page_size_);
        done += static_cast<size_t>(n);
    }
    return ok();
}

Status PagemapReader::read(uint64_t start, uint64_t end, std::vector<uint64_t> &out) {
    STASIS_TRY(check_range(start, end));
    uint64_t total = (end - start) / page_size_;
    if (read_ahead_covers(start, end)) {
        const uint64_t *from = ahead_.data() + (start - ahead_start_) / page_size_;
        out.assign(from, from + total);
        return ok();
    }
    out.resize(total);
    for (uint64_t done = 0; done < total;) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(kEntriesPerRead, total - done));
        STASIS_TRY(pread_entries(start + done * page_size_, n, out.data() + done));
        done += n;
    }
    return ok();
}

Status PagemapReader::present_runs(uint64_t start, uint64_t end, std::vector<PageRun> &out) {
    STASIS_TRY(check_range(start, end));
    if (start == end) return ok();
    if (read_ahead_covers(start, end)) {
        size_t first = out.size();
        bool in_run = false;
        uint64_t run_begin = 0;
        append_data_runs(ahead_.data() + (start - ahead_start_) / page_size_, (end - start) / page_size_, 0, start,
                         page_size_, out, first, in_run, run_begin);
        if (in_run) append_run(out, first, start + run_begin * page_size_, end, page_size_);
        return ok();
    }
    return use_scan_ ? runs_by_scan(start, end, out) : runs_by_pread(start, end, out);
}

Status PagemapReader::read_ahead(uint64_t start, uint64_t end) {
    ahead_start_ = ahead_end_ = 0;  // read() below must not answer from the old window
    STASIS_TRY(read(start, end, ahead_));
    ahead_start_ = start;
    ahead_end_ = end;
    return ok();
}

Status PagemapReader::runs_by_pread(uint64_t start, uint64_t end, std::vector<PageRun> &out) {
    uint64_t total = (end - start) / page_size_;
    entries_.resize(static_cast<size_t>(std::min<uint64_t>(kEntriesPerRead, total)));
    size_t first = out.size();
    bool in_run = false;
    uint64_t run_begin = 0;  // page index of the open run
    for (uint64_t done = 0; done < total;) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(entries_.size(), total - done));
        STASIS_TRY(pread_entries(start + done * page_size_, n, entries_.data()));
        append_data_runs(entries_.data(), n, done, start, page_size_, out, first, in_run, run_begin);
        done += n;
    }
    if (in_run) append_run(out, first, start + run_begin * page_size_, end, page_size_);
    return ok();
}

Status PagemapReader::runs_by_scan(uint64_t start, uint64_t end, std::vector<PageRun> &out) {
    size_t first = out.size();
    uint64_t floor = start;  // regions must ascend from here, across calls too
    for (uint64_t cursor = start; cursor < end;) {
        stasis_pm_scan_arg arg = scan_arg(cursor, end, scan_excluded_);
        arg.vec = reinterpret_cast<uintptr_t>(regions_.data());
        arg.vec_len = regions_.size();
        int n = ::ioctl(fd_, PAGEMAP_SCAN, &arg);
        if (n < 0) {
            if (errno == EINTR) continue;
            return io_error("PAGEMAP_SCAN", errno);
        }
        if (static_cast<size_t>(n) > regions_.size()) return scan_error("returned too many regions", n);
        for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
            const stasis_page_region &r = regions_[i];
            if (r.start < floor || r.end <= r.start || r.end > end || r.start % page_size_ ||
                r.end % page_size_) {
                return scan_error("returned a bad region at", r.start);
            }
            append_run(out, first, r.start, r.end, page_size_);
            floor = r.end;
        }
        // The kernel stops early only when our vector is full; otherwise
        // the range is done.
        if (static_cast<size_t>(n) < regions_.size()) break;
        // Resume after the later of the reported stop and the last region:
        // walk_end can be stale (6.18 leaves the stop of an earlier internal
        // pass when a later pass completes), which would report regions twice.
        uint64_t next = std::max<uint64_t>(arg.walk_end, floor);
        if (next <= cursor || next > end) return scan_error("stopped at", arg.walk_end);
        cursor = next;
    }
    return ok();
}

Error PagemapReader::scan_error(std::string_view what, uint64_t value) const {
    return Error("PAGEMAP_SCAN " + std::string(what) + " " + log::cat(log::hex(value)), EIO)
        .context(proc_path(pid_, "pagemap"));
}

}  // namespace stasis::proc
