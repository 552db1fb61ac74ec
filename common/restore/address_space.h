// Finding room in the restoring process for what the engine itself places
// there (the restorer region, the premap area): free in the task's own
// layout and in the current one.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "common/images/checkpoint.h"
#include "common/proc/maps.h"
#include "common/util/result.h"

namespace stasis::restore {

// The highest page-aligned gap of at least `size` bytes (with a guard page
// each side) that no task of the checkpoint and not this process occupies,
// below the top of this process's mappings. (Every task, because what one
// task maps here its children inherit.)
// `also_busy`: ranges the engine has claimed but not mapped yet.
Result<uint64_t> find_free_range(const images::Checkpoint &cp, const std::vector<proc::Mapping> &self, uint64_t size,
                                 uint64_t page, const std::vector<std::pair<uint64_t, uint64_t>> &also_busy = {});

}  // namespace stasis::restore
