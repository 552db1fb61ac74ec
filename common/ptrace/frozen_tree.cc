#include "common/ptrace/frozen_tree.h"

#include <signal.h>
#include <sys/ptrace.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <set>

#include "common/proc/stat.h"
#include "common/proc/tasks.h"
#include "common/ptrace/ptrace.h"
#include "common/util/log.h"

namespace stasis::ptrace {

FrozenThread *FrozenProcess::thread(pid_t tid) {
    for (auto &t : threads)
        if (t.tid == tid) return &t;
    return nullptr;
}

FrozenTree::FrozenTree(FrozenTree &&other) noexcept : processes_(std::move(other.processes_)) {
    other.processes_.clear();
}

FrozenTree &FrozenTree::operator=(FrozenTree &&other) noexcept {
    if (this != &other) {
        (void)release();
        processes_ = std::move(other.processes_);
        other.processes_.clear();
    }
    return *this;
}

FrozenTree::~FrozenTree() {
    auto st = release();
    if (!st.ok()) log::error("releasing the frozen tree: ", st.error().message());
}

FrozenProcess *FrozenTree::process(pid_t pid) {
    for (auto &p : processes_)
        if (p.pid == pid) return &p;
    return nullptr;
}

Status FrozenTree::freeze_process(pid_t pid) {
    STASIS_ASSIGN(proc::TaskStat stat, proc::read_stat(pid));
    if (stat.state == 'Z' || stat.state == 'X') {
        // A zombie has nothing left to seize or to dump but its exit status.
        processes_.push_back(FrozenProcess{pid, true, {}});
        return ok();
    }
    processes_.push_back(FrozenProcess{pid, false, {}});
    std::set<pid_t> seen;
    // Threads may be created by threads we have not frozen yet: re-list
    // until a pass finds nothing new.
    for (int pass = 0; pass < 100; ++pass) {
        STASIS_ASSIGN(auto tids, proc::list_threads(pid));
        bool found_new = false;
        for (pid_t tid : tids) {
            if (seen.count(tid)) continue;
            seen.insert(tid);
            found_new = true;
            // TRACESYSGOOD: syscall stops of injected syscalls are told apart
            // from a real SIGTRAP.
            auto st = seize(tid, PTRACE_O_TRACESYSGOOD);
            if (!st.ok()) {
                // A thread that exited between listing and seizing is fine;
                // the whole process gone is not.
                if (st.error().sys_errno() == ESRCH && tid != pid) continue;
                return std::move(st).error();
            }
            FrozenThread t;
            t.tid = tid;
            t.attached = true;
            auto &threads = processes_.back().threads;
            threads.push_back(std::move(t));
            auto fz = ptrace::freeze(tid);
            if (!fz.ok()) {
                if (tid != pid && (fz.error().message().find("exited") != std::string::npos ||
                                   fz.error().message().find("killed") != std::string::npos)) {
                    threads.pop_back();
                    continue;
                }
                return std::move(fz).error();
            }
        }
        if (!found_new) break;
        if (pass == 99) return Error("process " + std::to_string(pid) + " keeps creating threads");
    }
    auto &threads = processes_.back().threads;
    // Leader first, then by TID: a stable order for images and restore.
    std::sort(threads.begin(), threads.end(), [pid](const FrozenThread &a, const FrozenThread &b) {
        if (a.tid == pid) return b.tid != pid;
        if (b.tid == pid) return false;
        return a.tid < b.tid;
    });
    if (threads.empty() || threads.front().tid != pid)
        return Error("process " + std::to_string(pid) + ": its main thread is gone (zombie leader?)");
    for (auto &t : threads) {
        STASIS_ASSIGN(t.regs, std::move(arch::read_regs(t.tid)).context("thread " + std::to_string(t.tid)));
        STASIS_ASSIGN(t.sigmask, get_sigmask(t.tid));
    }
    return ok();
}

Result<FrozenTree> FrozenTree::freeze(pid_t root, bool with_children) {
    FrozenTree tree;
    std::vector<pid_t> queue{root};
    std::set<pid_t> done;
    while (!queue.empty()) {
        pid_t pid = queue.back();
        queue.pop_back();
        if (done.count(pid)) continue;
        done.insert(pid);
        auto st = tree.freeze_process(pid);
        if (!st.ok()) {
            if (pid == root) return std::move(st).error().context("process " + std::to_string(pid));
            return std::move(st).error().context("child process " + std::to_string(pid));
        }
        if (!with_children || tree.processes_.back().zombie) continue;
        // Children are listed after the parent is frozen, so a fork that
        // races with us is seen here (the parent cannot fork any more).
        STASIS_ASSIGN(auto children, proc::list_children(pid));
        for (pid_t c : children) queue.push_back(c);
    }
    log::info("froze ", tree.processes_.size(), " process(es)");
    return tree;
}

Status FrozenTree::release() {
    Status first;
    for (auto &p : processes_) {
        for (auto &t : p.threads) {
            if (!t.attached) continue;
            Status st;
            if (t.regs_changed) st = arch::write_regs(t.tid, t.regs);
            if (st.ok() && t.sigmask_changed) st = set_sigmask(t.tid, t.sigmask);
            if (st.ok()) st = detach(t.tid, 0);
            if (!st.ok()) {
                // Detach regardless: a tracee left attached would stay stopped.
                (void)detach(t.tid, 0);
                if (first.ok()) first = std::move(st).context("thread " + std::to_string(t.tid));
            }
            t.attached = false;
        }
    }
    processes_.clear();
    return first;
}

Status FrozenTree::kill_all() {
    for (auto &p : processes_) ::kill(p.pid, SIGKILL);
    for (auto &p : processes_) {
        // The leader last: the kernel reports a group leader's death only
        // once every other thread of its group is reaped.
        for (auto it = p.threads.rbegin(); it != p.threads.rend(); ++it) {
            auto &t = *it;
            if (!t.attached) continue;
            // The tracer sees each thread's death; reap those notifications.
            for (int i = 0; i < 8; ++i) {
                auto s = wait_stop(t.tid, std::chrono::seconds(5));
                if (!s.ok() || s->kind == Stop::Kind::exited || s->kind == Stop::Kind::killed) break;
            }
            t.attached = false;
        }
    }
    // Processes below the root are re-parented to init (or a subreaper)
    // when their parents die; give it a moment to reap them, so that their
    // PIDs are free for a restore that follows at once. The root is reaped
    // by its own parent.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    for (size_t i = 1; i < processes_.size(); ++i) {
        std::string dir = "/proc/" + std::to_string(processes_[i].pid);
        while (::access(dir.c_str(), F_OK) == 0 && std::chrono::steady_clock::now() < deadline)
            ::usleep(1000);
    }
    processes_.clear();
    return ok();
}

}  // namespace stasis::ptrace
