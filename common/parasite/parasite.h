// The parasite session: maps the parasite blob into a frozen process with an
// injected mmap, runs its commands in any of its threads, and cures the
// process (unmaps the blob, restores every register, signal mask and the
// SIGTRAP disposition it touched). The destructor cures if nobody did, so
// every error path leaves the process as it was.
#pragma once

#include <memory>
#include <vector>

#include "common/parasite/injector.h"
#include "common/ptrace/frozen_tree.h"
#include "common/util/result.h"
#include "pie/parasite/parasite.h"

namespace stasis::parasite {

class Parasite {
public:
    // `maps`: the process's mappings, read since it was frozen.
    static Result<std::unique_ptr<Parasite>> inject(ptrace::FrozenProcess &proc,
                                                    const std::vector<proc::Mapping> &maps);
    ~Parasite();
    Parasite(const Parasite &) = delete;
    Parasite &operator=(const Parasite &) = delete;

    Result<parasite_task_state> task_state();
    Result<parasite_thread_state> thread_state(pid_t tid);
    Result<parasite_timers> posix_timers(const std::vector<int> &ids);

    // The [start, end) range the blob occupies (never dumped).
    uint64_t area_start() const { return base_; }
    uint64_t area_end() const { return base_ + size_; }

    Status cure();

private:
    explicit Parasite(ptrace::FrozenProcess &proc) : proc_(proc) {}
    Result<parasite_args> run(pid_t tid, parasite_args args);

    ptrace::FrozenProcess &proc_;
    std::unique_ptr<Injector> leader_;
    uint64_t base_ = 0, size_ = 0;
    uint64_t args_addr_ = 0, stack_top_ = 0, entry_ = 0;
    std::vector<pid_t> ran_in_;  // threads whose registers/mask we changed
    bool sigtrap_was_ignored_ = false;
    parasite_sigaction sigtrap_action_{};
    bool cured_ = true;
};

}  // namespace stasis::parasite
