#include "common/mem/dirty_tracking.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/images/file_io.h"
#include "common/linux/uapi.h"
#include "common/mem/vma_classify.h"
#include "common/proc/read_file.h"
#include "common/util/log.h"

namespace stasis::mem {
namespace {

constexpr uint64_t kUffdFeatures = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED;

Status uffd_register_wp(int uffd, uint64_t start, uint64_t end) {
    uffdio_register reg{};
    reg.range.start = start;
    reg.range.len = end - start;
    reg.mode = UFFDIO_REGISTER_MODE_WP;
    if (::ioctl(uffd, UFFDIO_REGISTER, &reg) != 0) return Error::from_errno("UFFDIO_REGISTER");
    return ok();
}

void uffd_unregister(int uffd, uint64_t start, uint64_t end) {
    uffdio_range r{};
    r.start = start;
    r.len = end - start;
    (void)::ioctl(uffd, UFFDIO_UNREGISTER, &r);
}

// One PAGEMAP_SCAN walk over [start, end): the pages with every category
// of `all` and one of `any` (0: no such condition) are added to `out`.
// -errno on failure.
int scan_pages(int pagemap_fd, uint64_t start, uint64_t end, uint64_t flags, uint64_t all, uint64_t any,
               Ranges &out) {
    stasis_page_region regions[256];
    stasis_pm_scan_arg a{};
    a.size = sizeof a;
    a.flags = flags;
    a.start = start;
    a.end = end;
    a.vec = uint64_t(uintptr_t(regions));
    a.vec_len = sizeof regions / sizeof regions[0];
    a.category_mask = all;
    a.category_anyof_mask = any;
    a.return_mask = all | any;
    while (a.start < end) {
        int n = ::ioctl(pagemap_fd, PAGEMAP_SCAN, &a);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        for (int i = 0; i < n; ++i) add_range(out, regions[i].start, regions[i].end);
        if (a.walk_end <= a.start) break;  // no progress: should not happen
        a.start = a.walk_end;
    }
    return 0;
}

// Written pages of [start, end); with `protect` they are write-protected
// again in the same walk.
int scan_written(int pagemap_fd, uint64_t start, uint64_t end, bool protect, Ranges &written) {
    return scan_pages(pagemap_fd, start, end, PM_SCAN_CHECK_WPASYNC | (protect ? PM_SCAN_WP_MATCHING : 0),
                      PAGE_IS_WRITTEN, 0, written);
}

// Our own memory, tracked the way a target's will be: the probe.
bool probe_uffd_wp() {
    long page = sysconf(_SC_PAGESIZE);
    char *mem = static_cast<char *>(::mmap(nullptr, size_t(page) * 2, PROT_READ | PROT_WRITE,
                                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (mem == MAP_FAILED) return false;
    mem[0] = 1;
    mem[page] = 1;
    bool works = false;
    int uffd = int(::syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY));
    int pm = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (uffd >= 0 && pm >= 0 && UffdTracker::enable(uffd).ok() &&
        uffd_register_wp(uffd, uint64_t(uintptr_t(mem)), uint64_t(uintptr_t(mem)) + 2 * uint64_t(page)).ok()) {
        uint64_t a = uint64_t(uintptr_t(mem));
        Ranges first, second;
        if (scan_written(pm, a, a + 2 * uint64_t(page), true, first) == 0) {
            mem[page] = 2;  // only the second page written since
            if (scan_written(pm, a, a + 2 * uint64_t(page), false, second) == 0)
                works = second.size() == 1 && second[0].first == a + uint64_t(page);
        }
    }
    if (uffd >= 0) ::close(uffd);
    if (pm >= 0) ::close(pm);
    ::munmap(mem, size_t(page) * 2);
    return works;
}

bool probe_soft_dirty() {
    long page = sysconf(_SC_PAGESIZE);
    char *mem = static_cast<char *>(::mmap(nullptr, size_t(page), PROT_READ | PROT_WRITE,
                                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (mem == MAP_FAILED) return false;
    mem[0] = 1;
    bool works = false;
    auto bit = [&]() -> int {
        int fd = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
        if (fd < 0) return -1;
        uint64_t e = 0;
        ssize_t n = ::pread(fd, &e, sizeof e, off_t(uint64_t(uintptr_t(mem)) / uint64_t(page) * sizeof e));
        ::close(fd);
        return n == ssize_t(sizeof e) ? int(proc::pagemap::soft_dirty(e)) : -1;
    };
    if (clear_soft_dirty(::getpid()).ok() && bit() == 0) {
        mem[0] = 2;
        works = bit() == 1;
    }
    ::munmap(mem, size_t(page));
    return works;
}

}  // namespace

const char *dirty_mode_name(DirtyMode mode) {
    switch (mode) {
        case DirtyMode::uffd_wp: return "uffd-wp";
        case DirtyMode::soft_dirty: return "soft-dirty";
        case DirtyMode::content: return "content";
        case DirtyMode::none: break;
    }
    return "";
}

Result<DirtyMode> parse_dirty_mode(std::string_view name) {
    if (name == "uffd-wp") return DirtyMode::uffd_wp;
    if (name == "soft-dirty") return DirtyMode::soft_dirty;
    if (name == "content") return DirtyMode::content;
    if (name.empty()) return DirtyMode::none;
    return Error(log::cat("unknown dirty tracking '", name.substr(0, 32), "' (uffd-wp, soft-dirty or content)"));
}

bool kernel_has_uffd_wp_async() {
    static const bool has = probe_uffd_wp();
    return has;
}

bool kernel_has_soft_dirty() {
    static const bool has = probe_soft_dirty();
    return has;
}

Result<DirtyMode> choose_dirty_mode() {
    if (const char *forced = std::getenv("STASIS_DIRTY_TRACKING"); forced && *forced) {
        STASIS_ASSIGN(DirtyMode m, parse_dirty_mode(forced));
        if (m == DirtyMode::uffd_wp && !kernel_has_uffd_wp_async())
            return Error("STASIS_DIRTY_TRACKING=uffd-wp, but this kernel has no asynchronous userfaultfd "
                         "write-protect with PAGEMAP_SCAN (6.7+)");
        if (m == DirtyMode::soft_dirty && !kernel_has_soft_dirty())
            return Error("STASIS_DIRTY_TRACKING=soft-dirty, but this kernel has no soft-dirty bits "
                         "(CONFIG_MEM_SOFT_DIRTY)");
        return m;
    }
    if (kernel_has_uffd_wp_async()) return DirtyMode::uffd_wp;
    if (kernel_has_soft_dirty()) return DirtyMode::soft_dirty;
    return DirtyMode::content;
}

void add_range(Ranges &r, uint64_t start, uint64_t end) {
    if (start >= end) return;
    if (!r.empty() && start <= r.back().second) {
        r.back().second = std::max(r.back().second, end);
        return;
    }
    r.push_back({start, end});
}

bool overlaps(const Ranges &r, uint64_t start, uint64_t end) {
    auto it = std::upper_bound(r.begin(), r.end(), start,
                               [](uint64_t a, const std::pair<uint64_t, uint64_t> &x) { return a < x.second; });
    return it != r.end() && it->first < end;
}

RangeCursor::RangeCursor(const Ranges &r, uint64_t from) : r_(r) {
    auto it = std::upper_bound(r.begin(), r.end(), from,
                               [](uint64_t a, const std::pair<uint64_t, uint64_t> &x) { return a < x.second; });
    i_ = size_t(it - r.begin());
}

bool trackable(const proc::Mapping &m) {
    if (m.shared) return false;
    proc::Mapping plain = m;  // "uw" may be ours: classify refuses the program's own
    plain.vm_flags &= ~uint64_t(proc::VmFlag::uffd_wp);
    auto c = classify(plain);
    return c.ok() && (c->content == ContentSource::present_pages || c->content == ContentSource::anon_pages);
}

Status UffdTracker::enable(int uffd) {
    uffdio_api api{};
    api.api = UFFD_API;
    api.features = kUffdFeatures;
    if (::ioctl(uffd, UFFDIO_API, &api) != 0) return Error::from_errno("UFFDIO_API (asynchronous write-protect)");
    if ((api.features & kUffdFeatures) != kUffdFeatures)
        return Error("the userfaultfd does not offer asynchronous write-protect");
    return ok();
}

Status UffdTracker::collect(const std::vector<proc::Mapping> &maps, bool rearm, bool unregister, Ranges &dirty,
                            std::vector<uint64_t> &ours) {
    std::string path = proc::proc_path(pid_, "pagemap");
    images::Fd pm(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!pm.valid()) return Error::from_errno("open " + path);
    uint64_t registered = 0, fresh = 0, foreign = 0;
    for (const auto &m : maps) {
        if (!trackable(m)) continue;
        bool had = m.has(proc::VmFlag::uffd_wp);
        if (!had && !rearm) {
            add_range(dirty, m.start, m.end);  // created since the pre-dump: all new
            continue;
        }
        // Registering again with our userfaultfd changes nothing; with
        // another one (the program's own) it fails.
        if (!uffd_register_wp(uffd_, m.start, m.end).ok()) {
            log::debug("process ", pid_, ": memory ", log::hex(m.start), "-", log::hex(m.end),
                       " cannot be tracked (", std::strerror(errno), "): saved in full");
            add_range(dirty, m.start, m.end);
            if (had) ++foreign;
            continue;
        }
        Ranges written;
        int r = scan_written(pm.get(), m.start, m.end, rearm, written);
        if (r < 0) {
            uffd_unregister(uffd_, m.start, m.end);
            return Error::from_errno(log::cat("PAGEMAP_SCAN of ", log::hex(m.start), "-", log::hex(m.end)), -r);
        }
        if (!had) {
            ++fresh;
            add_range(dirty, m.start, m.end);  // not tracked until now
        } else {
            ++registered;
            for (const auto &w : written) add_range(dirty, w.first, w.second);
        }
        // Ours even once unregistered: a list of mappings read before
        // still shows our "uw".
        ours.push_back(m.start);
        if (!rearm && unregister) uffd_unregister(uffd_, m.start, m.end);
    }
    log::debug("process ", pid_, ": uffd-wp: ", registered, " tracked mapping(s), ", fresh, " new", foreign ? ", " : "",
               foreign ? std::to_string(foreign) + " registered by the program itself" : "");
    return ok();
}

Result<uint64_t> count_written_pages(pid_t pid, DirtyMode mode) {
    uint64_t category = mode == DirtyMode::uffd_wp      ? PAGE_IS_WRITTEN
                        : mode == DirtyMode::soft_dirty ? PAGE_IS_SOFT_DIRTY
                                                        : 0;
    if (!category) return Error(log::cat("no written-page count with ", dirty_mode_name(mode), " tracking"));
    STASIS_ASSIGN(auto maps, proc::read_maps(pid));
    STASIS_ASSIGN(auto pm, proc::PagemapReader::open(pid));
    const uint64_t page = pm.page_size();
    uint64_t pages = 0;
    if (!pm.uses_pagemap_scan()) {
        // Soft-dirty kernels before 6.7: one pagemap entry per page.
        if (mode != DirtyMode::soft_dirty) return Error("no PAGEMAP_SCAN on this kernel");
        std::vector<uint64_t> entries;
        for (const auto &m : maps) {
            if (!trackable(m)) continue;
            STASIS_TRY(pm.read(m.start, m.end, entries));
            for (uint64_t e : entries) pages += proc::pagemap::soft_dirty(e) && proc::pagemap::has_data(e);
        }
        return pages;
    }
    std::string path = proc::proc_path(pid, "pagemap");
    images::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return Error::from_errno("open " + path);
    for (const auto &m : maps) {
        if (!trackable(m)) continue;
        Ranges written;
        if (int r = scan_pages(fd.get(), m.start, m.end, 0, category, PAGE_IS_PRESENT | PAGE_IS_SWAPPED, written))
            return Error::from_errno(log::cat(path, ": PAGEMAP_SCAN of ", log::hex(m.start), "-", log::hex(m.end)), -r);
        for (const auto &w : written) pages += (w.second - w.first) / page;
    }
    return pages;
}

Status soft_dirty_pages(proc::PagemapReader &pm, const std::vector<proc::Mapping> &maps, Ranges &dirty) {
    std::vector<uint64_t> entries;
    uint64_t page = pm.page_size();
    for (const auto &m : maps) {
        if (!trackable(m)) continue;
        STASIS_TRY(pm.read(m.start, m.end, entries));
        for (size_t i = 0; i < entries.size(); ++i)
            if (proc::pagemap::soft_dirty(entries[i]) || !proc::pagemap::has_data(entries[i]))
                add_range(dirty, m.start + i * page, m.start + (i + 1) * page);
    }
    return ok();
}

Status clear_soft_dirty(pid_t pid) {
    std::string path = proc::proc_path(pid, "clear_refs");
    images::Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd.valid()) return Error::from_errno("open " + path);
    const char *v = STASIS_CLEAR_REFS_SOFT_DIRTY;
    if (::write(fd.get(), v, std::strlen(v)) < 0) return Error::from_errno("write " + path);
    return ok();
}

}  // namespace stasis::mem
