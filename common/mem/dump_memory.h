// Dumps the memory of one frozen process: its VMA list (mm image), and the
// content of every page that cannot be recreated otherwise, written into
// pages-<id>.img in pagemap order (pagemap image).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "common/files/file_table.h"
#include "common/images/image_writer.h"
#include "common/images/page_chain.h"
#include "common/mem/dirty_tracking.h"
#include "common/mem/page_copy.h"
#include "common/proc/maps.h"
#include "common/util/result.h"
#include "images/mm.pb.h"
#include "images/pagemap.pb.h"

namespace stasis::mem {

struct DumpedMemory {
    std::vector<images::Vma> vmas;
    std::vector<images::PagemapEntry> pagemap;
    uint64_t pages = 0;      // pages written to the pages image
    uint64_t in_parent = 0;  // pages left in the parent images (unchanged)
    // Pre-dump: what to copy once the tree runs again, in pagemap order.
    std::vector<CopyRun> deferred;
};

// Incremental dumps: the copy of this task's pages that the parent image
// chain holds, and what changed since.
struct ParentPages {
    Ranges data;                               // pages the chain holds data for
    std::vector<images::PageSource> sources;   // where (level 0: the parent)
    std::vector<int> level_fds;                // pages file of each level, for `content`
    // Written since the parent was taken (tracking): saved again. Null:
    // no tracking to trust, every page is compared with the parent's copy.
    const Ranges *dirty = nullptr;
};

struct MemoryDumpContext {
    uint64_t exclude_start = 0;  // the parasite's area: never dumped
    uint64_t exclude_end = 0;
    images::RawImageWriter *pages = nullptr;
    files::FileTable *files = nullptr;
    bool progress = false;
    // The parent in the dumped tree (0 for the root) and its mappings:
    // private anonymous memory still shared copy-on-write with it is
    // recorded as such (seed 002) instead of being saved twice.
    pid_t parent_pid = 0;
    const std::vector<proc::Mapping> *parent_maps = nullptr;
    // Incremental dump: pages unchanged since the parent images are marked
    // PAGEMAP_IN_PARENT instead of being saved.
    const ParentPages *parent_pages = nullptr;
    // Mappings registered with our own userfaultfd (dirty tracking): their
    // "uw" flag is ours, not the program's.
    const std::vector<uint64_t> *own_uffd_wp = nullptr;
    // Pre-dump: the runs to copy are returned (DumpedMemory::deferred) for
    // reading once the tree runs again; shared memory is left to the dump.
    bool pre_dump = false;
    // No other process of the dumped tree exists and it is killed after the
    // dump: a page written since the parent images (tracking says so) is
    // then copied without asking pagemap whether it is shared. A write made
    // it the process's own; only a fork since could share it again, with a
    // child in the tree, or one gone from it, which the kill makes moot.
    // (Per written page, that question was a pagemap read with the tree
    // frozen: thousands of them after a pre-copy pass.)
    bool written_pages_private = false;
};

Result<DumpedMemory> dump_memory(pid_t pid, const std::vector<proc::Mapping> &maps, MemoryDumpContext &ctx);

}  // namespace stasis::mem
