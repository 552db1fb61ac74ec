// Creating a process with a chosen PID: clone3(2) with set_tid.
#pragma once

#include <sys/types.h>

#include "common/util/result.h"

namespace stasis::restore {

// Forks (SIGCHLD to the parent on exit) a child with PID `pid`: returns its
// PID in the parent, 0 in the child.
Result<pid_t> clone_with_pid(pid_t pid);

}  // namespace stasis::restore
