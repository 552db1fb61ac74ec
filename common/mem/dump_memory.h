// Dumps the memory of one frozen process: its VMA list (mm image), and the
// content of every page that cannot be recreated otherwise, written into
// pages-<id>.img in pagemap order (pagemap image).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "common/files/file_table.h"
#include "common/images/image_writer.h"
#include "common/proc/maps.h"
#include "common/util/result.h"
#include "images/mm.pb.h"
#include "images/pagemap.pb.h"

namespace stasis::mem {

struct DumpedMemory {
    std::vector<images::Vma> vmas;
    std::vector<images::PagemapEntry> pagemap;
    uint64_t pages = 0;  // pages written to the pages image
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
};

Result<DumpedMemory> dump_memory(pid_t pid, const std::vector<proc::Mapping> &maps, MemoryDumpContext &ctx);

}  // namespace stasis::mem
