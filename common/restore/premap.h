// The premap path: private anonymous memory mapped and filled by the engine
// (in the restoring process, before the restorer runs, with ordinary
// threads) at a temporary address, then moved into place by the restorer
// with mremap.
//
// Two uses:
//  - copy-on-write across the tree (seed 002): a parent premaps the VMAs its
//    children still share with it before it forks them; each child inherits
//    the parent's copy through fork, fills only the pages that differ, and
//    moves its copy into place too, so unchanged pages stay shared;
//  - comparison with the in-place path (seed 000; the default): with
//    STASIS_RESTORE_PREMAP=1 every private anonymous VMA is premapped.
#pragma once

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "common/images/checkpoint.h"
#include "common/images/page_chain.h"
#include "common/proc/maps.h"
#include "common/util/result.h"

namespace stasis::restore {

struct Premap {
    std::pair<uint64_t, uint64_t> range{0, 0};  // the area mapped for these VMAs
    std::map<uint64_t, uint64_t> at;            // VMA start -> where it is premapped
};

// Whether the restore premaps VMA `v` of task `t`: shared copy-on-write
// with its parent or with one of its children, or any private anonymous
// VMA with STASIS_RESTORE_PREMAP=1. Such memory is always filled by the
// restore itself, never lazily.
bool premapped_at_restore(const images::Checkpoint &cp, const images::TaskImages &t, const images::Vma &v);

// Maps fresh copies of `vmas` (private anonymous, not growsdown) back to
// back in one range free in every task's layout and in ours.
Result<Premap> premap_fresh(const images::Checkpoint &cp, const std::vector<const images::Vma *> &vmas, uint64_t page,
                            const std::vector<proc::Mapping> &self);

// Fills the premapped VMAs of `t` (at: VMA start -> premap address) with
// several threads: data is read into place from the pages image of its
// level (`level_fds`, see page_sources.h), zero sources (PAGEMAP_ZERO) are
// dropped from the (inherited) copy.
Status fill_premapped(const images::TaskImages &t, const std::vector<images::PageSource> &sources,
                      const std::map<uint64_t, uint64_t> &at, const std::vector<int> &level_fds);

}  // namespace stasis::restore
