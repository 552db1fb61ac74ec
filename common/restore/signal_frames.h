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
// place, every thread stopped) that this kernel would refuse. Searched:
// from each thread's stack pointer to the end of its mapping, its
// alternate signal stack, and from the stack pointer each frame found
// returns to (nested handlers) to the end of that one's mapping.
Status adapt_signal_frames(pid_t pid, const images::TaskImages &task);

}  // namespace stasis::restore
