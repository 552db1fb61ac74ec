// Pre-dump's copy of a running process's memory (seed 003): after the
// layout was recorded and tracking armed, the tree runs again and its pages
// are read from outside with process_vm_readv(2). Nothing is pinned for
// long and no page sits in a pipe: the copy is as fast as reading memory.
//
// The process may unmap memory meanwhile: such pages are left out of the
// pre-dump (the next dump finds them saved nowhere and takes them itself).
// A page changed while being read is safe too: tracking was armed before
// the tree ran again, so the next dump sees it written and saves it again.
#pragma once

#include <sys/types.h>

#include <vector>

#include "common/images/image_writer.h"
#include "common/mem/dirty_tracking.h"
#include "common/mem/page_copy.h"
#include "images/pagemap.pb.h"

namespace stasis::mem {

// Appends the pages of `runs` to `out` in order, leaving out pages that
// cannot be read any more, which are returned.
Result<Ranges> copy_running(pid_t pid, const std::vector<CopyRun> &runs, images::RawImageWriter &out,
                            uint64_t page_size);

// Removes the pages of `gone` from the data entries of `pagemap` (entries
// whose data is in this image's pages file).
void drop_pages(std::vector<images::PagemapEntry> &pagemap, const Ranges &gone, uint64_t page_size);

}  // namespace stasis::mem
