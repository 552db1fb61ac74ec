// /proc/PID/pagemap: which virtual pages of a task exist, one 64-bit entry
// per page (Documentation/admin-guide/mm/pagemap.rst).
//
// The memory dumper's hot path is "which pages of this VMA must be saved":
// present_runs() answers it as runs of present-or-swapped pages. Since 6.7
// the PAGEMAP_SCAN ioctl on the same file walks the page tables and returns
// such runs directly, without materializing one word per page; it is tried
// once when the reader opens and used when the running kernel has it, with
// pread(2) of the entries as the fallback (same answers, checked by tests).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "common/linux/uapi.h"
#include "common/util/result.h"

namespace stasis::proc {

// Decoding one pagemap entry.
namespace pagemap {
constexpr bool present(uint64_t entry) { return (entry & STASIS_PM_PRESENT) != 0; }
constexpr bool swapped(uint64_t entry) { return (entry & STASIS_PM_SWAP) != 0; }
// A page-cache page or shared anonymous memory (not private anonymous).
constexpr bool file_or_shared_anon(uint64_t entry) { return (entry & STASIS_PM_FILE) != 0; }
// PM_MMAP_EXCLUSIVE: mapped by this process only (4.2+).
constexpr bool exclusive(uint64_t entry) { return (entry & STASIS_PM_MMAP_EXCLUSIVE) != 0; }
constexpr bool soft_dirty(uint64_t entry) { return (entry & STASIS_PM_SOFT_DIRTY) != 0; }
constexpr bool uffd_wp(uint64_t entry) { return (entry & STASIS_PM_UFFD_WP) != 0; }
// MADV_GUARD_INSTALL region (6.15+): neither present nor readable.
constexpr bool guard_region(uint64_t entry) { return (entry & STASIS_PM_GUARD_REGION) != 0; }
// Page frame number of a present page; 0 without CAP_SYS_ADMIN (4.2+).
constexpr uint64_t pfn(uint64_t entry) { return entry & STASIS_PM_PFN_MASK; }
// Swap type (bits 0-4) and offset (bits 5-54) of a swapped page.
constexpr uint64_t swap_type(uint64_t entry) { return entry & 0x1f; }
constexpr uint64_t swap_offset(uint64_t entry) { return (entry & STASIS_PM_PFN_MASK) >> 5; }
// What the dumper must save: present or swapped, and not a guard region.
constexpr bool has_data(uint64_t entry) { return (present(entry) || swapped(entry)) && !guard_region(entry); }
}  // namespace pagemap

// `npages` pages starting at virtual address `start`.
struct PageRun {
    uint64_t start = 0;
    uint64_t npages = 0;
    bool operator==(const PageRun &) const = default;
};

enum class PagemapMethod {
    automatic,     // PAGEMAP_SCAN if the running kernel has it, else pread
    pread,         // always pread the entries
    pagemap_scan,  // PAGEMAP_SCAN or fail at open
};

class PagemapReader {
  public:
    // Opens /proc/PID/pagemap once for all later calls (the is_task_gone()
    // error if the task has vanished).
    static Result<PagemapReader> open(pid_t pid, PagemapMethod method = PagemapMethod::automatic);

    PagemapReader(PagemapReader &&other) noexcept;
    PagemapReader &operator=(PagemapReader &&other) noexcept;
    PagemapReader(const PagemapReader &) = delete;
    PagemapReader &operator=(const PagemapReader &) = delete;
    ~PagemapReader();

    // Replaces `out` with the entries of the pages of [start, end); both
    // page-aligned, start <= end. Big ranges are read in chunks.
    Status read(uint64_t start, uint64_t end, std::vector<uint64_t> &out);

    // Appends to `out` the runs of pages in [start, end) that hold data
    // (pagemap::has_data), ascending and maximal: two runs this call appends
    // never touch. Runs already in `out` are left alone. The range must lie
    // below the top of the task's address space ([vsyscall] does not: an
    // error), page-aligned. PAGEMAP_SCAN skips VM_PFNMAP areas ([vvar],
    // device memory) outright: decide about those from smaps, not from here.
    Status present_runs(uint64_t start, uint64_t end, std::vector<PageRun> &out);

    // Reads the entries of [start, end) with one pread now and answers the
    // later read() and present_runs() calls that lie wholly inside it from
    // them, until the next read_ahead(). For many small neighbouring VMAs:
    // a call per VMA costs far more than its few entries (5000 VMAs of 13
    // pages: 12 ms of preads and 10 ms of PAGEMAP_SCAN calls one by one,
    // 6 ms for all their entries read in windows). Only while the task is
    // frozen: the answers are those of the moment of the read.
    Status read_ahead(uint64_t start, uint64_t end);
    bool read_ahead_covers(uint64_t start, uint64_t end) const {
        return start >= ahead_start_ && end <= ahead_end_ && start < end;
    }

    bool uses_pagemap_scan() const { return use_scan_; }
    size_t page_size() const { return page_size_; }
    pid_t pid() const { return pid_; }

  private:
    PagemapReader(pid_t pid, int fd, size_t page_size) : pid_(pid), fd_(fd), page_size_(page_size) {}

    Status check_range(uint64_t start, uint64_t end) const;
    Status pread_entries(uint64_t start, size_t count, uint64_t *out);
    Status runs_by_pread(uint64_t start, uint64_t end, std::vector<PageRun> &out);
    Status runs_by_scan(uint64_t start, uint64_t end, std::vector<PageRun> &out);
    int probe_scan(uint64_t excluded_categories);
    Error io_error(std::string_view what, int err) const;
    Error early_end_error(uint64_t address) const;
    Error scan_error(std::string_view what, uint64_t value) const;

    pid_t pid_ = 0;
    int fd_ = -1;
    size_t page_size_ = 0;
    bool use_scan_ = false;
    // PAGEMAP_SCAN categories that rule a page out (guard regions, where the
    // kernel knows that category).
    uint64_t scan_excluded_ = 0;
    std::vector<uint64_t> entries_;            // pread buffer, reused
    std::vector<stasis_page_region> regions_;  // PAGEMAP_SCAN buffer, reused
    uint64_t ahead_start_ = 0, ahead_end_ = 0;  // the read_ahead() window
    std::vector<uint64_t> ahead_;               // its entries
};

}  // namespace stasis::proc
