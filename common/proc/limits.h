// /proc/PID/limits: a process's resource limits, readable where prlimit(2)
// on another process is not (it needs CAP_SYS_RESOURCE when the target's
// credentials differ from ours, and some "root" environments lack it).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/util/result.h"

namespace stasis::proc {

struct Rlimit {
    uint64_t cur = 0;
    uint64_t max = 0;
};

// One entry per line, in the kernel's RLIMIT_* order (the file lists them
// by resource number). "unlimited" is RLIM_INFINITY.
Result<std::vector<Rlimit>> parse_limits(std::string_view text);
Result<std::vector<Rlimit>> read_limits(pid_t pid);

}  // namespace stasis::proc
