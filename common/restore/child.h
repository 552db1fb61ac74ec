// What runs in each freshly cloned process of the tree (already carrying
// its original PID) before the restorer takes over: session and group,
// its own children (cloned with their PIDs), file descriptors, cwd and
// root, then the restorer region with its plan; then it stops with SIGTRAP
// for the engine to start the restorer.
//
// File descriptions and shared memory objects are made once, by the root of
// the tree, before it forks: every task inherits them, so what was shared
// between processes (a dup'ed or inherited file, a pipe, a shared
// anonymous mapping) is shared again. Each task then keeps what it uses.
#pragma once

#include <map>
#include <vector>

#include "common/files/restore_files.h"
#include "common/images/checkpoint.h"
#include "common/restore/page_sources.h"
#include "common/restore/control.h"
#include "common/restore/restore.h"
#include "common/restore/tree_plan.h"

namespace stasis::restore {

// Everything the root opened for the whole tree, inherited by every task.
struct TreeFiles {
    std::map<uint32_t, int> by_file;  // FileEntry id -> fd
    std::map<uint64_t, int> shmem;    // Vma.shmem_id -> fd of the shared object
};

struct ChildArgs {
    const images::Checkpoint *cp = nullptr;
    size_t index = 0;  // this task in cp->tasks
    const RestoreOptions *opts = nullptr;
    const std::vector<TaskPages> *pages = nullptr;  // per task in cp->tasks order
    files::RestoreFileOptions file_opts;
    ChildControl *controls = nullptr;  // one per task, in cp->tasks order
    const TreePlan *plan = nullptr;    // who forks whom
    TreeFiles files;                   // filled by the root, inherited
    // Premapped private memory: where each VMA of the task running now sits
    // (a child inherits its parent's map through fork), and every premap
    // area mapped in this address space (its own and its ancestors').
    std::map<uint64_t, uint64_t> premap;
    std::vector<std::pair<uint64_t, uint64_t>> premap_ranges;
};

// Never returns: stops for the engine, or exits non-zero with the error in
// its control page.
[[noreturn]] void child_main(ChildArgs &args);

}  // namespace stasis::restore
