// State of a process that stasis cannot restore yet. A dump refuses it up
// front, with a line naming it, rather than restore a process without it
// (a seccomp filter silently dropped would give the restored process more
// privilege than it had).
#pragma once

#include <sys/types.h>

#include "common/proc/status.h"
#include "common/util/result.h"

namespace stasis::dump {

// Refuses seccomp (strict mode or filters) and namespaces other than
// stasis's own (mount, PID, network, IPC, UTS, user, cgroup, time).
Status refuse_unsupported_state(pid_t pid, const proc::TaskStatus &status);

}  // namespace stasis::dump
