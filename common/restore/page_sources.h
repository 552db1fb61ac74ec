// Where the page data of each task of a checkpoint lies, resolved through
// its parent images (incremental dumps): the fill jobs of the restorer and
// of the premap path read from one pages file per level of the chain.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/images/file_io.h"
#include "common/images/page_chain.h"
#include "common/util/result.h"

namespace stasis::restore {

struct TaskPages {
    std::vector<images::PageSource> sources;  // address order
    struct Level {
        std::string dir;
        uint32_t pages_id = 0;
        uint64_t pages = 0;  // pages its file must hold for this task
        // Pages fetched from a page server (restore --page-server): a memfd
        // laid out like the pages file, used instead of opening one in dir.
        std::shared_ptr<images::Fd> fetched;
    };
    std::vector<Level> levels;  // index: PageSource::level
};

// For every task of `cp` (in its order; zombies get nothing), read from
// `dir` and the `parents` chain. Refuses a chain that does not hold a page
// it promises.
Result<std::vector<TaskPages>> resolve_tree_pages(const std::string &dir, const images::Checkpoint &cp,
                                                  const std::vector<images::ChainLevel> &parents, uint64_t page_size);

// A piece of a source inside one VMA (`vma`: its index in the task's vmas).
struct VmaPiece {
    size_t vma = 0;
    uint64_t vaddr = 0, len = 0;
    int level = 0;  // as PageSource
    uint64_t file_off = 0;
};

// Cuts `sources` (address order) at the boundaries of `vmas` (address
// order): a source may span neighbours, stored back to back in a parent's
// pages file. A page outside every VMA is refused.
Result<std::vector<VmaPiece>> split_by_vma(const std::vector<images::PageSource> &sources,
                                           const std::vector<images::Vma> &vmas);

// Opens each level's pages file: one fd per level, -1 where the level holds
// no page of this task. The caller closes them.
Result<std::vector<int>> open_levels(const TaskPages &pages, uint32_t page_size);

}  // namespace stasis::restore
