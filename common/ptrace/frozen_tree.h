// Seizing a process tree and keeping it frozen. The FrozenTree owns every
// ptrace attachment: whatever path leaves the dump (success, error, early
// return), its destructor puts each thread's registers and signal mask back
// and detaches, so the tree keeps running unharmed unless kill_all() ran.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "arch/arch.h"
#include "common/util/result.h"

namespace stasis::ptrace {

struct FrozenThread {
    pid_t tid = 0;
    arch::ThreadRegs regs;      // as frozen (what the image records)
    uint64_t sigmask = 0;       // as frozen
    bool attached = false;
    bool regs_changed = false;  // someone ran code in it: write regs back on release
    bool sigmask_changed = false;
};

struct FrozenProcess {
    pid_t pid = 0;
    bool zombie = false;                // nothing to seize: dumped as a zombie
    std::vector<FrozenThread> threads;  // the leader first
    FrozenThread *thread(pid_t tid);
};

class FrozenTree {
public:
    // Seizes every thread of `root` (and, with `with_children`, of all its
    // descendants), re-listing until no new task or thread appears.
    static Result<FrozenTree> freeze(pid_t root, bool with_children);

    FrozenTree() = default;
    FrozenTree(FrozenTree &&other) noexcept;
    FrozenTree &operator=(FrozenTree &&other) noexcept;
    FrozenTree(const FrozenTree &) = delete;
    FrozenTree &operator=(const FrozenTree &) = delete;
    ~FrozenTree();

    std::vector<FrozenProcess> &processes() { return processes_; }
    FrozenProcess *process(pid_t pid);

    // Restores what was changed and detaches: the tree continues exactly
    // where it was frozen.
    Status release();
    // SIGKILLs every process of the tree and reaps the ptrace notifications.
    Status kill_all();

private:
    Status freeze_process(pid_t pid);
    std::vector<FrozenProcess> processes_;
};

}  // namespace stasis::ptrace
