// The vDSO/vvar layout of a process (seed 004): which kernel-provided areas
// it has, where, how big, and the vDSO's exported symbols. The dump records
// it; restore compares it with its own to decide whether the current areas
// can simply be moved over the saved addresses ("in place").
#pragma once

#include <sys/types.h>

#include <vector>

#include "common/proc/maps.h"
#include "common/util/result.h"
#include "images/vdso.pb.h"

namespace stasis::vdso {

// From the process's mappings; the vDSO image is read through /proc/PID/mem.
Result<images::VdsoInfo> describe_process(pid_t pid, const std::vector<proc::Mapping> &maps);

// Ok when `current` (this process's layout) can replace `saved` in place:
// the same areas in the same order with the same sizes and relative
// offsets, and the same vDSO symbols at the same offsets. Otherwise an error
// that names the first difference.
Status check_in_place(const images::VdsoInfo &saved, const images::VdsoInfo &current);

}  // namespace stasis::vdso
