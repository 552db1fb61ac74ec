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
inline constexpr unsigned kMaxStepOutRuns = 1000;
inline constexpr unsigned kMaxStackRuns = 20;
inline constexpr uint64_t kStackScanBytes = 16 * 1024;
// Breakpoint steps: an instruction reached this often means a loop; the
// stack words searched for return addresses then.
inline constexpr unsigned kLoopVisits = 3;
inline constexpr size_t kReturnScanBytes = 512;

// `tid` sits in a PTRACE_EVENT_STOP (freeze()). While its instruction
// pointer lies in one of `ranges`, single-steps it (signals blocked
// meanwhile: one that arrives stays pending, and is dumped so); then leaves
// it in a PTRACE_EVENT_STOP again. Where ptrace cannot single-step (32-bit
// arm), each step is made with breakpoints at the addresses the next
// instruction may continue at (arch::step_breakpoints), and a thread that
// loops is run at full speed to breakpoints at the addresses it may return
// to (arch::return_breakpoints). Where neither
// works (an instruction the arch cannot tell the successors of) or
// stepping faults (qemu's s390x emulation), the thread is put back as it
// was frozen and instead let run alone for a moment and frozen again, up
// to kMaxStepOutRuns times, until it is caught outside.
// Then, best effort, while a word of the live stack (up to kStackScanBytes
// above the stack pointer) points into `ranges` — the signal frame of a
// handler that interrupted vDSO code resumes there, but it may also be a
// mere local — it is let run up to kMaxStackRuns times more (signals not
// blocked: the handler's sigreturn must put its own mask back), unless it
// sits in a system call (running it would interrupt that call again and
// again). Should those runs leave it inside the vDSO, it is got out again
// the first way (signals blocked, single steps where possible).
// Returns 0 when nothing was done, else the steps or runs it took (a
// warning says when its instruction pointer could not be got out).
Result<unsigned> step_out_of(pid_t tid, const std::vector<std::pair<uint64_t, uint64_t>> &ranges);

}  // namespace stasis::ptrace
