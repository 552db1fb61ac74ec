// Builds the restore plan (pie/restorer/plan.h) of one task: a flat byte
// image the engine copies into the task's restorer region. Pure computation
// over the validated images, so it is unit-tested without any process.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "common/images/checkpoint.h"
#include "common/images/page_chain.h"
#include "common/linux/uapi.h"
#include "common/restore/page_sources.h"
#include "common/util/result.h"
#include "pie/restorer/plan.h"

namespace stasis::restore {

// Where a kernel-provided area is now, in the restoring process.
struct VdsoProxyPlan;

struct CurrentSpecial {
    images::VmaKind kind;
    uint64_t start, end;
};

struct PlanInputs {
    const images::TaskImages *task = nullptr;
    uint64_t page_size = 4096;
    // Where the task's pages are (through the parent images of an
    // incremental dump), and the pages file of each level of that chain.
    const std::vector<images::PageSource> *sources = nullptr;
    std::vector<int> level_fds;
    std::map<uint32_t, int> file_fds;      // FileEntry id -> service fd (mapped files, exe)
    std::map<uint64_t, int> shmem_fds;     // Vma.shmem_id -> fd of the recreated shared object
    std::vector<int> close_fds;            // service fds the restorer closes
    std::vector<CurrentSpecial> specials;  // this process's vDSO/vvar areas
    uint64_t self_rseq_ptr = 0;
    uint32_t self_rseq_len = 0, self_rseq_sig = 0;
    uint32_t nr_workers = 1;
    uint32_t last_cap = 40;
    uint64_t unmap_end = 0;
    // Premap path: VMAs (by start address) already mapped and filled at
    // another address in this process, to be moved into place.
    std::map<uint64_t, uint64_t> premapped;
    std::vector<std::pair<uint64_t, uint64_t>> premap_ranges;
    int lazy_sock = -1;  // lazy restore: connected to `stasis lazy-pages`
    // vDSO proxy: what to map instead of moving the specials in place, and
    // the service fd holding the proxy's bytes (vdso_restore.h).
    const VdsoProxyPlan *vdso_proxy = nullptr;
    int vdso_proxy_fd = -1;
};

// Lazy restore: what a restorer registers with its userfaultfd and
// `stasis lazy-pages` fills (private anonymous, readable and writable, not
// locked; VMAs premapped for children are filled before instead).
bool lazy_candidate(const images::Vma &v);

// The userfaultfd events lazy restore follows (fork, mremap, madvise
// DONTNEED/REMOVE, munmap).
inline constexpr uint64_t kLazyUffdFeatures =
    UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP | UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP;

// Bounce buffer per filling thread of the restorer's UFFDIO_COPY fill
// (pie/restorer/mm.c): 256 pages of 4 KiB per copy.
inline constexpr uint64_t kFillBufferBytes = 1ull << 20;

// The region that will hold the blob, the plan and every stack.
struct RegionLayout {
    uint64_t blob_size = 0;      // rounded to pages
    uint64_t plan_offset = 0;    // from the region start
    uint64_t plan_size = 0;      // rounded to pages
    uint64_t main_stack_top = 0;  // offsets from the region start
    std::vector<uint64_t> thread_stack_tops;  // index 0 unused (main)
    std::vector<uint64_t> worker_stack_tops;
    uint64_t scratch_offset = 0, scratch_size = 0;
    uint64_t total = 0;
};

// The plan bytes are laid out first (their size decides the region size);
// addresses inside are fixed up once the region's address is known.
class PlanBuilder {
public:
    explicit PlanBuilder(const PlanInputs &in) : in_(in) {}
    Status build();  // computes everything position-independent
    const RegionLayout &layout() const { return layout_; }
    // The final plan bytes for a region at `region_start`.
    std::vector<uint8_t> finish(uint64_t region_start);

private:
    Status add_memory();
    Status add_threads();
    void add_process_state();
    template <typename T>
    uint64_t append(const std::vector<T> &items);

    const PlanInputs &in_;
    restore_plan head_{};
    std::vector<uint8_t> tail_;  // arrays after the header, at offsets from the plan start
    std::vector<restore_thread> threads_;
    std::set<int> pending_timers_;  // timers whose signal was pending at dump
    RegionLayout layout_;
};

}  // namespace stasis::restore
