// The threads and children of a process, from /proc/PID/task/ and
// /proc/PID/task/TID/children (Documentation/filesystems/proc.rst,
// "3.7 /proc/<pid>/task/<tid>/children"; needs CONFIG_PROC_CHILDREN).
//
// Both are snapshots of a moving target: the seize loop re-walks until
// nothing new appears. A thread that exits during the walk is skipped; the
// process itself vanishing gives the is_task_gone() error.
#pragma once

#include <sys/types.h>

#include <string_view>
#include <vector>

#include "common/util/result.h"

namespace stasis::proc {

// The thread ids of process `pid`, ascending.
Result<std::vector<pid_t>> list_threads(pid_t pid);

// The children of every thread of `pid`, ascending, without duplicates.
Result<std::vector<pid_t>> list_children(pid_t pid);

// Parses a children file: blank-separated positive pids ("1235 1240 ").
Result<std::vector<pid_t>> parse_pid_list(std::string_view text);

}  // namespace stasis::proc
