// The last stage of a restore, driven through ptrace: start the restorer in
// the child, then load every thread's saved registers and signal mask,
// remove the restorer region, and let the task go. Exactly the kernel's own
// resume path runs afterwards: each thread is detached from a stop inside
// get_signal(), so the syscall-restart rules of its architecture apply to
// the registers we loaded as they would have at the dump.
#pragma once

#include <sys/types.h>

#include <chrono>

#include "common/images/checkpoint.h"
#include "common/ptrace/ptrace.h"
#include "common/restore/control.h"
#include "common/util/result.h"

namespace stasis::restore {

// Waits for the next stop of `pid` (a restored task under construction),
// discarding SIGCHLD on the way: the children it re-creates as zombies exit
// during the restore, and that SIGCHLD is an artifact (the original was
// delivered before the dump; a pending one is in the images and queued by
// the restorer).
Result<ptrace::Stop> wait_stop_skipping_sigchld(pid_t pid, std::chrono::seconds timeout);

// Runs the restorer in `pid` (stopped in its SIGTRAP after child_main) and
// waits until it has rebuilt the task.
Status run_restorer(pid_t pid, const ChildControl &control);

// Loads registers and masks into every thread and removes the restorer
// region; the task stays stopped until release_task().
Status prepare_resume(pid_t pid, const images::TaskImages &task, const images::CpuFeatures &cpu,
                      const ChildControl &control);

// Lets every thread of a prepared task go.
Status release_task(const images::TaskImages &task);

}  // namespace stasis::restore
