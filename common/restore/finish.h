// The last stage of a restore, driven through ptrace: start the restorer in
// the child, then load every thread's saved registers and signal mask,
// remove the restorer region, and let the task go. Exactly the kernel's own
// resume path runs afterwards: each thread is detached from a stop inside
// get_signal(), so the syscall-restart rules of its architecture apply to
// the registers we loaded as they would have at the dump.
#pragma once

#include <sys/types.h>

#include "common/images/checkpoint.h"
#include "common/restore/control.h"
#include "common/util/result.h"

namespace stasis::restore {

// Runs the restorer in `pid` (stopped in its SIGTRAP after child_main) and
// waits until it has rebuilt the task.
Status run_restorer(pid_t pid, const ChildControl &control);

// Loads registers and masks into every thread and removes the restorer
// region; the task stays stopped until release_task().
Status prepare_resume(pid_t pid, const images::TaskImages &task, const ChildControl &control);

// Lets every thread of a prepared task go.
Status release_task(const images::TaskImages &task);

}  // namespace stasis::restore
