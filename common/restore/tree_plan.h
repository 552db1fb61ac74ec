// Who forks whom at restore, so that every process ends up in its session
// and process group. A process can only inherit a session from the process
// that forks it, or start its own; a process group can be inherited, started,
// or joined while its leader's PID is alive in the same session. When the
// leader of a session or group exited long before the dump (its members were
// re-parented to a child subreaper of the tree), nobody in the tree can lead
// it again: a helper process takes the leader's PID, starts that session or
// group, forks the members, and exits once the engine holds them; the
// members are re-parented to the subreaper again, as they were.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/util/result.h"

namespace stasis::restore {

// What the plan needs of one task of the image (pstree order: parents
// first; the first one is the root).
struct TaskIds {
    pid_t pid = 0, ppid = 0, pgid = 0, sid = 0;
    bool subreaper = false;  // PR_SET_CHILD_SUBREAPER
};

// A process that forks something: a task of the image or a helper.
struct Maker {
    bool helper = false;
    size_t index = 0;  // into the tasks, or into TreePlan::helpers
    bool operator==(const Maker &) const = default;
};

struct Helper {
    pid_t pid = 0;
    bool session = false;  // leads a session (setsid), else only a group (setpgid)
    Maker maker;
    size_t first_member = 0;  // the first task (in image order) it makes
};

struct TreePlan {
    std::vector<Helper> helpers;
    std::vector<Maker> task_maker;  // per task; the root's is unused
    // Session and group each task is in right after it is forked (0 for
    // the root).
    std::vector<pid_t> born_sid, born_pgid;

    // The helper a task forks at the point it would fork `task` (the top
    // of the chain of helpers between them), or nothing when it forks the
    // task itself or is not its maker at all.
    std::optional<size_t> helper_to_fork(Maker me, size_t task) const;
    bool makes(Maker me, size_t task) const { return task_maker[task] == me; }
};

// Plans the tree (the root is placed by the caller: its own session, or the
// terminal's with --shell-job). Refuses, naming the process, a shape no fork order can
// build (a session whose leader is in the tree but not an ancestor, a
// helper needed under a parent that is no child subreaper, one leader PID
// needed in two places).
Result<TreePlan> plan_tree(const std::vector<TaskIds> &tasks);

// "session 412" / "process group 413", for messages.
std::string describe_helper(const Helper &h);

}  // namespace stasis::restore
