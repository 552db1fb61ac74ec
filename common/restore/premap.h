// The premap path: private anonymous memory mapped and filled by the engine
// (in the restoring process, before the restorer runs, with ordinary
// threads) at a temporary address, then moved into place by the restorer
// with mremap. In-place filling (the default, seed 000) avoids the move;
// premapping is what copy-on-write sharing with a parent needs (seed 002)
// and what the benchmark compares against (STASIS_RESTORE_PREMAP=1).
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "common/images/checkpoint.h"
#include "common/proc/maps.h"
#include "common/util/result.h"

namespace stasis::restore {

struct Premap {
    uint64_t start = 0, end = 0;
    std::map<uint64_t, uint64_t> at;  // VMA start -> where it is premapped
};

Result<Premap> premap_private_memory(const images::TaskImages &t, int pages_fd, uint64_t page,
                                     const std::vector<proc::Mapping> &self);

}  // namespace stasis::restore
