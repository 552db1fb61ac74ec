// Collects the non-memory state of one frozen process: what /proc and
// ptrace tell from outside, and what the parasite reads from inside.
#pragma once

#include <sys/types.h>

#include <vector>

#include "common/parasite/parasite.h"
#include "common/proc/maps.h"
#include "common/proc/stat.h"
#include "common/proc/status.h"
#include "common/ptrace/frozen_tree.h"
#include "common/util/result.h"
#include "images/core.pb.h"
#include "images/mm.pb.h"

namespace stasis::dump {

struct TaskState {
    images::TaskCore core;
    std::vector<images::ThreadCore> threads;
    images::MmHeader mm;
};

Result<TaskState> collect_task_state(ptrace::FrozenProcess &proc, parasite::Parasite &parasite,
                                     const proc::TaskStat &stat, const proc::TaskStatus &status);

}  // namespace stasis::dump
