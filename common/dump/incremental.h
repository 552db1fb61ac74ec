// The incremental side of one dump or pre-dump (docs/design.md, "Pre-dump
// and incremental dumps"): the parent image chain it writes on top of
// (--prev-images-dir), how it learns which pages changed since (the dirty
// tracking the parent armed, or content comparison when that is gone), and
// the tracking it arms for the next stage (pre-dump, dump --track-mem
// --leave-running).
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/dump/dump.h"
#include "common/images/file_io.h"
#include "common/images/page_chain.h"
#include "common/mem/dirty_tracking.h"
#include "common/mem/dump_memory.h"
#include "common/proc/maps.h"
#include "common/ptrace/frozen_tree.h"
#include "common/util/result.h"

namespace stasis::dump {

class Incremental {
public:
    // Before the tree is frozen: reads the parent chain, takes the parent's
    // tracking over from its keeper, chooses what to arm.
    static Result<std::unique_ptr<Incremental>> open(const DumpOptions &opts, uint32_t page_size);
    // A stage that consumed the parent's tracking and did not finish stops
    // the parent's keeper: what it certified is no longer true.
    ~Incremental();
    Incremental(const Incremental &) = delete;
    Incremental &operator=(const Incremental &) = delete;

    // While `proc` is frozen, before its memory is dumped, with its mappings
    // as read now: collects what changed since the parent and arms tracking
    // again for the next stage.
    Status track(ptrace::FrozenProcess &proc, const std::vector<proc::Mapping> &maps);

    // For mem::dump_memory (null when there is nothing of that kind).
    const mem::ParentPages *parent_pages(pid_t pid) const;
    const std::vector<uint64_t> *own_uffd_wp(pid_t pid) const;

    // The inventory's parent and tracking fields.
    void describe(images::Inventory &inv) const;
    // Once the images are complete, before inventory.img is written: starts
    // the keeper of the tracking just armed (recorded in `inv`), stops the
    // parent's.
    Status finish(images::Inventory &inv, const std::vector<pid_t> &tasks);

    mem::DirtyMode armed_mode() const { return arm_; }
    // How changes since the parent are found (none without a parent).
    mem::DirtyMode collect_mode() const { return collect_; }
    // The processes the parent images hold.
    std::vector<pid_t> parent_pids() const {
        std::vector<pid_t> pids;
        for (const auto &[pid, task] : tasks_)
            if (task.has_parent) pids.push_back(pid);
        return pids;
    }

private:
    Incremental() = default;
    struct Task {
        mem::ParentPages parent;
        bool has_parent = false;
        bool loaded = false;  // load_parent_pages() ran
        mem::Ranges dirty;
        std::vector<uint64_t> ours;  // mappings registered with our userfaultfd
        images::Fd uffd;
        std::vector<images::Fd> level_fds;
    };
    Status load_parent_pages(pid_t pid, Task &t);

    DumpOptions opts_;
    uint32_t page_size_ = 0;
    std::vector<images::ChainLevel> parents_;
    uint32_t parent_crc_ = 0;
    images::TrackingKeeper parent_keeper_;
    mem::DirtyMode collect_ = mem::DirtyMode::none;  // how changes since the parent are found
    mem::DirtyMode arm_ = mem::DirtyMode::none;      // what is armed for the next stage
    std::map<pid_t, images::Fd> kept_uffds_;          // from the parent's keeper
    std::map<pid_t, Task> tasks_;
    bool consumed_ = false;
    bool finished_ = false;
};

}  // namespace stasis::dump
