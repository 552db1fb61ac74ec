// Probes of userfaultfd (lazy restore) and of the three ways pre-dump can find
// pages written since the last dump, each tried on this process's own memory.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "common/check/probe.h"
#include "common/linux/uapi.h"
#include "common/util/log.h"
#include "stasis_syscalls.h"

namespace stasis::check {
namespace {

using log::cat;

class Fd {
  public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) close(fd_);
    }
    Fd(const Fd &) = delete;
    Fd &operator=(const Fd &) = delete;
    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }

  private:
    int fd_;
};

// Anonymous pages of our own, every one touched (present), unmapped on exit.
class ScratchPages {
  public:
    ScratchPages(size_t count, size_t page_size) : size_(count * page_size) {
        void *p = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        base_ = p == MAP_FAILED ? nullptr : static_cast<uint8_t *>(p);
        if (base_) std::memset(base_, 0x5a, size_);
    }
    ~ScratchPages() {
        if (base_) munmap(base_, size_);
    }
    ScratchPages(const ScratchPages &) = delete;
    ScratchPages &operator=(const ScratchPages &) = delete;
    uint8_t *base() const { return base_; }
    size_t size() const { return size_; }
    uint64_t address() const { return uint64_t(reinterpret_cast<uintptr_t>(base_)); }

  private:
    size_t size_;
    uint8_t *base_ = nullptr;
};

// A new userfaultfd, via /dev/userfaultfd (6.1) or the syscall.
int open_userfaultfd(std::string &how) {
    Fd dev(open("/dev/userfaultfd", O_RDWR | O_CLOEXEC));
    if (dev.valid()) {
        int fd = ioctl(dev.get(), USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
        if (fd >= 0) {
            how = "/dev/userfaultfd";
            return fd;
        }
    }
    how = "userfaultfd()";
    return int(syscall(sys::userfaultfd, O_CLOEXEC | O_NONBLOCK));
}

struct NamedFeature {
    uint64_t bit;
    const char *name;
};
constexpr NamedFeature kUffdFeatures[] = {
    {UFFD_FEATURE_EVENT_FORK, "EVENT_FORK"},
    {UFFD_FEATURE_EVENT_REMAP, "EVENT_REMAP"},
    {UFFD_FEATURE_EVENT_REMOVE, "EVENT_REMOVE"},
    {UFFD_FEATURE_EVENT_UNMAP, "EVENT_UNMAP"},
    {UFFD_FEATURE_MISSING_SHMEM, "MISSING_SHMEM"},
    {UFFD_FEATURE_PAGEFAULT_FLAG_WP, "PAGEFAULT_FLAG_WP"},
    {UFFD_FEATURE_WP_UNPOPULATED, "WP_UNPOPULATED"},
    {UFFD_FEATURE_WP_ASYNC, "WP_ASYNC"},
    {UFFD_FEATURE_MOVE, "MOVE"},
    {UFFD_FEATURE_THREAD_ID, "THREAD_ID"},
};
// Lazy restore follows the restored task's fork, mremap, madvise and munmap.
constexpr uint64_t kLazyNeeds =
    UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP | UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP;

std::string feature_names(uint64_t features, bool present) {
    std::string out;
    for (const auto &f : kUffdFeatures) {
        if (bool(features & f.bit) != present) continue;
        out += out.empty() ? "" : " ";
        out += f.name;
    }
    return out.empty() ? "none" : out;
}

// PAGEMAP_SCAN over [start, start + size) of this process: the number of
// regions that have all of `categories`, or -1 (errno set).
long pagemap_scan(int pagemap_fd, uint64_t start, uint64_t size, uint64_t categories) {
    stasis_page_region regions[4]{};
    stasis_pm_scan_arg arg{};
    arg.size = sizeof arg;
    arg.start = start;
    arg.end = start + size;
    arg.vec = uint64_t(reinterpret_cast<uintptr_t>(regions));
    arg.vec_len = 4;
    arg.category_mask = categories;
    arg.return_mask = categories;
    return ioctl(pagemap_fd, PAGEMAP_SCAN, &arg);
}

}  // namespace

ProbeOutcome probe_userfaultfd(ProbeContext &) {
    std::string how;
    Fd uffd(open_userfaultfd(how));
    if (!uffd.valid()) return missing_errno("userfaultfd (/dev/userfaultfd and the syscall)");
    uffdio_api api{};
    api.api = UFFD_API;
    api.features = 0;  // ask for nothing: the kernel answers with all it supports
    if (ioctl(uffd.get(), UFFDIO_API, &api) != 0) return missing_errno("UFFDIO_API");
    const std::string have = cat("via ", how, "; features: ", feature_names(api.features, true));
    if ((api.features & kLazyNeeds) != kLazyNeeds)
        return warned(cat(have, "; lacking ", feature_names(kLazyNeeds & ~api.features, true)));
    return passed(have);
}

ProbeOutcome probe_pagemap_scan(ProbeContext &ctx) {
    ScratchPages pages(1, ctx.page_size());
    if (!pages.base()) return missing_errno("mmap");
    Fd pagemap(open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
    if (!pagemap.valid()) return missing_errno("open /proc/self/pagemap");
    long n = pagemap_scan(pagemap.get(), pages.address(), pages.size(), PAGE_IS_PRESENT);
    if (n < 0) return missing_errno("PAGEMAP_SCAN ioctl (6.7)");
    if (n != 1) return missing(cat("PAGEMAP_SCAN found ", n, " present regions in one touched page"));
    return passed("PAGEMAP_SCAN reports page categories");
}

// The whole pre-dump cycle on two of our own pages: arm async write-protect,
// write one page, and expect PAGEMAP_SCAN to report exactly that page written.
ProbeOutcome probe_uffd_wp_async(ProbeContext &ctx) {
    ScratchPages pages(2, ctx.page_size());
    if (!pages.base()) return missing_errno("mmap");
    std::string how;
    Fd uffd(open_userfaultfd(how));
    if (!uffd.valid()) return missing_errno("userfaultfd");
    uffdio_api api{};
    api.api = UFFD_API;
    api.features = UFFD_FEATURE_WP_ASYNC;
    if (ioctl(uffd.get(), UFFDIO_API, &api) != 0)
        return missing_errno("UFFDIO_API with UFFD_FEATURE_WP_ASYNC (6.7)");
    uffdio_register reg{};
    reg.range = {pages.address(), pages.size()};
    reg.mode = UFFDIO_REGISTER_MODE_WP;
    if (ioctl(uffd.get(), UFFDIO_REGISTER, &reg) != 0)
        return missing_errno("UFFDIO_REGISTER write-protect mode");
    stasis_uffdio_writeprotect wp{};
    wp.range = {pages.address(), pages.size()};
    wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
    if (ioctl(uffd.get(), UFFDIO_WRITEPROTECT, &wp) != 0) return missing_errno("UFFDIO_WRITEPROTECT");
    // With WP_ASYNC the kernel resolves this write fault itself: no message,
    // no blocking, just the page's write-protect bit cleared.
    *reinterpret_cast<volatile uint8_t *>(pages.base() + ctx.page_size()) = 0xa5;
    Fd pagemap(open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
    if (!pagemap.valid()) return missing_errno("open /proc/self/pagemap");
    stasis_page_region region{};
    stasis_pm_scan_arg arg{};
    arg.size = sizeof arg;
    arg.start = pages.address();
    arg.end = pages.address() + pages.size();
    arg.vec = uint64_t(reinterpret_cast<uintptr_t>(&region));
    arg.vec_len = 1;
    arg.category_mask = PAGE_IS_WRITTEN;
    arg.return_mask = PAGE_IS_WRITTEN;
    long n = ioctl(pagemap.get(), PAGEMAP_SCAN, &arg);
    if (n < 0) return missing_errno("PAGEMAP_SCAN for PAGE_IS_WRITTEN");
    if (n != 1 || region.start != pages.address() + ctx.page_size() || region.end != arg.end)
        return missing(cat("PAGEMAP_SCAN reported ", n, " written region(s), not the one page written"));
    return passed("async write-protect saw exactly the page written");
}

// Soft-dirty: clear the bits (clear_refs 4), write one page, expect bit 55 of
// its pagemap entry set. Without CONFIG_MEM_SOFT_DIRTY the bit never sets.
ProbeOutcome probe_soft_dirty(ProbeContext &ctx) {
    ScratchPages page(1, ctx.page_size());
    if (!page.base()) return missing_errno("mmap");
    Fd clear_refs(open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC));
    if (!clear_refs.valid()) return missing_errno("open /proc/self/clear_refs");
    if (write(clear_refs.get(), STASIS_CLEAR_REFS_SOFT_DIRTY, 1) != 1)
        return missing_errno("clear soft-dirty bits");
    *reinterpret_cast<volatile uint8_t *>(page.base()) = 0xa5;
    Fd pagemap(open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
    uint64_t entry = 0;
    const off_t at = off_t(page.address() / ctx.page_size() * sizeof entry);
    if (!pagemap.valid() || pread(pagemap.get(), &entry, sizeof entry, at) != ssize_t(sizeof entry))
        return missing_errno("read /proc/self/pagemap");
    if (!(entry & STASIS_PM_SOFT_DIRTY))
        return missing("a written page is not soft-dirty (CONFIG_MEM_SOFT_DIRTY off)");
    return passed("written pages are marked soft-dirty");
}

ProbeOutcome probe_procmap_query(ProbeContext &) {
    Fd maps(open("/proc/self/maps", O_RDONLY | O_CLOEXEC));
    if (!maps.valid()) return missing_errno("open /proc/self/maps");
    stasis_procmap_query q{};
    q.size = sizeof q;
    q.query_addr = uint64_t(reinterpret_cast<uintptr_t>(&probe_procmap_query));
    if (ioctl(maps.get(), PROCMAP_QUERY, &q) != 0)
        return missing_errno("PROCMAP_QUERY (6.11): VMAs are read from /proc/PID/smaps text");
    if (!(q.vma_flags & STASIS_PROCMAP_QUERY_VMA_EXECUTABLE))
        return missing("PROCMAP_QUERY did not report our code as executable");
    return passed("VMAs can be queried one by one");
}

}  // namespace stasis::check
