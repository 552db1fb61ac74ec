// Incremental checkpoints: a dump (or pre-dump) whose pagemap marks pages
// PAGEMAP_IN_PARENT keeps their data in its parent image directory, which
// may in turn point to its own parent. This reads that chain, trusting
// nothing, and resolves a task's pagemap into where each page's data lies.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/images/checkpoint.h"
#include "common/util/result.h"

namespace stasis::images {

// How many parents a chain may have: pre-dumps are taken a few at a time;
// a longer chain is a loop or a mistake.
inline constexpr size_t kMaxParentChain = 32;

// One parent image directory, read and validated.
struct ChainLevel {
    std::string dir;  // as it was opened (the child's dir joined with its parent_dir)
    Checkpoint cp;
};

// The parent directory named by `inv.parent_dir`, relative to `dir` unless
// absolute.
std::string parent_path(const std::string &dir, const Inventory &inv);

// Reads the parents of the checkpoint in `dir` (with inventory `inv`),
// nearest first; empty when it has none. Every parent must be a checkpoint
// of the same tree (root pid), arch and page size, and its inventory.img
// must be byte-for-byte the one the child recorded (parent_inventory_crc32c).
Result<std::vector<ChainLevel>> read_parents(const std::string &dir, const Inventory &inv, const ReadOptions &opts);

// CRC-32C of `dir`/inventory.img, what a child records as its parent's identity.
Result<uint32_t> inventory_crc32c(const std::string &dir);

// Where some pages of a task are: `level` 0 is the checkpoint itself,
// 1 its parent and so on; `file_off` is the byte offset of their data in
// that level's pages-<pages_id>.img. level -1: the pages read as zero
// (PAGEMAP_ZERO: dropped from memory inherited copy-on-write).
struct PageSource {
    uint64_t vaddr = 0;
    uint64_t len = 0;  // bytes, whole pages
    int level = 0;
    uint64_t file_off = 0;
    bool operator==(const PageSource &) const = default;
};

// The pagemap of task `pid` at every level, level 0 first (only the levels
// the task appears in: a chain may end early for a task forked after the
// first pre-dump, which has no page there).
struct TaskPageChain {
    std::vector<const std::vector<PagemapEntry> *> pagemaps;
    std::vector<uint32_t> pages_ids;  // per level
};

// The task's pagemap at each level: `own` (level 0), then each parent that
// has a task with this pid.
TaskPageChain task_chain(pid_t pid, const TaskImages &own, std::span<const ChainLevel> parents);

// Resolves the pagemap chain into sources, in address order. Entries of
// level n without IN_PARENT or ZERO take consecutive pages of that level's
// pages file from offset `page_size` (after the header). IN_PARENT pages
// must be data or zero at a deeper level, else the chain is refused.
Result<std::vector<PageSource>> resolve_pages(const TaskPageChain &chain, uint64_t page_size);

// The pages (from `sources` of a parent chain) that hold data: sorted
// [start, end) byte ranges, merged. What a new incremental dump may mark
// IN_PARENT when the page did not change.
std::vector<std::pair<uint64_t, uint64_t>> data_ranges(const std::vector<PageSource> &sources);

}  // namespace stasis::images
