// Stepping a frozen thread out of a code range. The dump uses it for the
// vDSO: a thread frozen inside it would be restored at an address inside
// code another kernel (or a vDSO proxy) does not have there, so it is let
// run, one instruction at a time, until it has returned to its caller.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "common/util/result.h"

namespace stasis::ptrace {

inline constexpr unsigned kMaxStepOutSteps = 20000;

// `tid` sits in a PTRACE_EVENT_STOP (freeze()). While its instruction
// pointer lies in one of `ranges`, single-steps it; then leaves it in a
// PTRACE_EVENT_STOP again. Returns the number of steps taken (0: it was
// outside). Signals are blocked meanwhile (one that arrives stays pending,
// and is dumped so). Gives up, leaving the thread where it got to, when the
// kernel cannot single-step on this arch (32-bit arm), after
// kMaxStepOutSteps, or when an unblockable signal stops it.
Result<unsigned> step_out_of(pid_t tid, const std::vector<std::pair<uint64_t, uint64_t>> &ranges);

}  // namespace stasis::ptrace
