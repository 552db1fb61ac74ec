// Signal frames across kernels: a thread checkpointed inside a signal
// handler returns from it through sigreturn on the restoring kernel, which
// reads the frame the dumping kernel wrote. Where this kernel would refuse
// that frame (arch::signal_frames_may_need_rewriting), the frames on each
// thread's stacks are found and put into this kernel's layout before the
// task runs again.
#pragma once

#include <sys/types.h>

#include "common/images/checkpoint.h"
#include "common/util/result.h"

namespace stasis::restore {

// Rewrites the frames of task `task` (restored as `pid`, its memory in
// place, every thread stopped) that this kernel would refuse. Stacks are
// searched from each thread's stack pointer and from its alternate signal
// stack up to the end of their mappings, and from the stack pointer each
// frame found returns to (nested handlers).
Status adapt_signal_frames(pid_t pid, const images::TaskImages &task);

}  // namespace stasis::restore
