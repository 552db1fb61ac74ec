// Which pages of a task were written since a pre-dump, for an incremental
// dump that saves only those (seed 003). Three ways, chosen at run time:
//
//  uffd-wp     a userfaultfd in asynchronous write-protect mode
//              (UFFD_FEATURE_WP_ASYNC, 6.7) registered on the task's
//              memory; PAGEMAP_SCAN reports PAGE_IS_WRITTEN and re-protects
//              in the same walk. Works without soft-dirty (this machine,
//              Debian's arm and arm64 kernels). The state lives only while
//              somebody holds the userfaultfd: see dump/tracking_keeper.h.
//  soft-dirty  /proc/PID/clear_refs and pagemap bit 55, where the kernel
//              has CONFIG_MEM_SOFT_DIRTY (Debian's amd64, ppc64el, s390x).
//  content     nothing armed: every page the parent holds is compared with
//              the parent's copy. Correct everywhere, reads more.
//
// Each mode is trusted only for memory it really tracks: a mapping created
// since the pre-dump (not registered, or VM_SOFTDIRTY) counts as written in
// full, and a page the parent chain does not hold is always saved.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "common/proc/maps.h"
#include "common/proc/pagemap.h"
#include "common/util/result.h"

namespace stasis::mem {

enum class DirtyMode { none, uffd_wp, soft_dirty, content };

const char *dirty_mode_name(DirtyMode mode);           // "uffd-wp", "soft-dirty", "content", ""
Result<DirtyMode> parse_dirty_mode(std::string_view name);  // the names above

// What this kernel offers (probed on ourselves once).
bool kernel_has_uffd_wp_async();
bool kernel_has_soft_dirty();

// The best mode this kernel offers, or the one STASIS_DIRTY_TRACKING names
// (uffd-wp, soft-dirty, content: for tests and benchmarks; an unavailable
// one is an error).
Result<DirtyMode> choose_dirty_mode();

// Sorted, disjoint, merged [start, end) byte ranges.
using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;
void add_range(Ranges &r, uint64_t start, uint64_t end);  // appends in order, merging
bool overlaps(const Ranges &r, uint64_t start, uint64_t end);
// overlaps() for a walk through increasing addresses from `from`: one
// binary search, then amortised O(1) per question (a page-by-page walk of
// a 1 GiB mapping asked 2 x 262144 binary searches before).
class RangeCursor {
public:
    RangeCursor(const Ranges &r, uint64_t from);
    bool overlaps(uint64_t start, uint64_t end) {
        while (i_ < r_.size() && r_[i_].second <= start) ++i_;
        return i_ < r_.size() && r_[i_].first < end;
    }

private:
    const Ranges &r_;
    size_t i_ = 0;
};

// Private memory whose pages a dump saves from the page tables: what dirty
// tracking covers. Shared memory is saved in full every time.
bool trackable(const proc::Mapping &m);

// uffd-wp tracking of one task through its userfaultfd `uffd` (ours: the
// task's own copy was closed).
class UffdTracker {
public:
    // Enables the asynchronous write-protect mode on a new userfaultfd.
    static Status enable(int uffd);

    UffdTracker(pid_t pid, int uffd) : pid_(pid), uffd_(uffd) {}

    // Pages of the trackable mappings written since the last arming, as
    // ranges to add to `dirty`; a mapping not registered with our
    // userfaultfd counts as written in full. With `rearm`, unregistered
    // mappings are registered and everything is write-protected again in
    // the same walk; without it, with `unregister`, our registrations are
    // dropped (the task is left without any trace of tracking; not worth
    // the time when the task is killed next). `ours` receives the start of
    // every mapping registered with our userfaultfd (also when this call
    // unregistered it): in `maps`, their "uw" VmFlag is ours, not the
    // program's.
    Status collect(const std::vector<proc::Mapping> &maps, bool rearm, bool unregister, Ranges &dirty,
                   std::vector<uint64_t> &ours);

private:
    Status scan(uint64_t start, uint64_t end, bool rearm, Ranges &dirty, bool *tracked);
    pid_t pid_;
    int uffd_;
};

// Pages of the task's trackable mappings written since tracking was armed
// (uffd-wp or soft-dirty), counted without touching the tracking: what the
// next frozen pass is about to save. Through PAGEMAP_SCAN (6.7+), or for
// soft-dirty the pagemap entries; a page of a mapping that tracking does
// not cover counts as written.
Result<uint64_t> count_written_pages(pid_t pid, DirtyMode mode);

// Soft-dirty: pages of trackable mappings with the soft-dirty bit set.
Status soft_dirty_pages(proc::PagemapReader &pm, const std::vector<proc::Mapping> &maps, Ranges &dirty);
// Clears every soft-dirty bit of the task (arms tracking from now on).
Status clear_soft_dirty(pid_t pid);

}  // namespace stasis::mem
