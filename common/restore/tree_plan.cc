#include "common/restore/tree_plan.h"

#include <map>

namespace stasis::restore {
namespace {

std::string proc(pid_t pid) { return "process " + std::to_string(pid); }

class Planner {
public:
    explicit Planner(const std::vector<TaskIds> &tasks) : tasks_(tasks) {
        for (size_t i = 0; i < tasks.size(); ++i) by_pid_[tasks[i].pid] = i;
        plan_.task_maker.resize(tasks.size());
        plan_.born_sid.assign(tasks.size(), 0);
        plan_.born_pgid.assign(tasks.size(), 0);
    }

    Result<TreePlan> run() {
        for (size_t i = 1; i < tasks_.size(); ++i) STASIS_TRY(place(i));
        return std::move(plan_);
    }

private:
    // The helper with PID `leader` made by `maker`, created on first use.
    Result<Maker> helper(size_t task, Maker maker, pid_t leader, bool session) {
        const TaskIds &t = tasks_[task];
        for (size_t h = 0; h < plan_.helpers.size(); ++h) {
            const Helper &have = plan_.helpers[h];
            if (have.pid != leader) continue;
            if (have.maker == maker && have.session == session) return Maker{true, h};
            return Error(proc(t.pid) + " is in " + describe_helper(Helper{leader, session, maker, 0}) +
                         ", whose leader exited, as are processes under another parent: one process would have to "
                         "lead it again in two places");
        }
        if (!maker.helper && !tasks_[maker.index].subreaper)
            return Error(proc(t.pid) + " is in " + describe_helper(Helper{leader, session, maker, 0}) +
                         ", whose leader exited, but its parent " + std::to_string(tasks_[maker.index].pid) +
                         " is no child subreaper: it cannot be made a member again and given back to that parent");
        plan_.helpers.push_back(Helper{leader, session, maker, task});
        return Maker{true, plan_.helpers.size() - 1};
    }

    Status place(size_t i) {
        const TaskIds &t = tasks_[i];
        auto parent = by_pid_.find(t.ppid);
        if (parent == by_pid_.end() || parent->second >= i)
            return Error(proc(t.pid) + ": its parent " + std::to_string(t.ppid) + " is not in the images before it");
        Maker maker{false, parent->second};
        pid_t sid = tasks_[parent->second].sid, pgid = tasks_[parent->second].pgid;
        if (t.sid != t.pid && t.sid != sid) {
            if (by_pid_.count(t.sid))
                return Error(proc(t.pid) + " is in session " + std::to_string(t.sid) +
                             ", led by a process of the tree that is not where its session comes from (its parent " +
                             std::to_string(t.ppid) + " is in session " + std::to_string(sid) + ")");
            STASIS_ASSIGN(maker, helper(i, maker, t.sid, true));
            sid = pgid = t.sid;
        }
        if (t.sid != t.pid && t.pgid != t.pid && t.pgid != pgid && !by_pid_.count(t.pgid)) {
            STASIS_ASSIGN(maker, helper(i, maker, t.pgid, false));
            pgid = t.pgid;
        }
        plan_.task_maker[i] = maker;
        plan_.born_sid[i] = sid;
        plan_.born_pgid[i] = pgid;
        return ok();
    }

    const std::vector<TaskIds> &tasks_;
    std::map<pid_t, size_t> by_pid_;
    TreePlan plan_;
};

}  // namespace

std::optional<size_t> TreePlan::helper_to_fork(Maker me, size_t task) const {
    Maker m = task_maker[task];
    while (m.helper) {
        const Helper &h = helpers[m.index];
        if (h.maker == me) return m.index;
        m = h.maker;
    }
    return std::nullopt;
}

Result<TreePlan> plan_tree(const std::vector<TaskIds> &tasks) {
    if (tasks.empty()) return Error("the images hold no process");
    return Planner(tasks).run();
}

std::string describe_helper(const Helper &h) {
    return (h.session ? "session " : "process group ") + std::to_string(h.pid);
}

}  // namespace stasis::restore
