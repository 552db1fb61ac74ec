// Classifies a mapping of /proc/PID/smaps into what the image records and
// how its content is saved. Unknown kinds are refused by name (LESSONS.md:
// io_uring, new anon-inode mappings, guard pages, shadow stacks each needed
// explicit support — we never guess).
#pragma once

#include <cstdint>

#include "common/proc/maps.h"
#include "common/util/result.h"
#include "images/mm.pb.h"

namespace stasis::mem {

enum class ContentSource {
    none,            // nothing to save: file pages, vvar, vsyscall, PROT_NONE reservations without pages
    present_pages,   // the task's own present/swapped pages (anonymous private)
    anon_pages,      // only pages that are anonymous copies (file-backed private: COW'ed pages)
    shared_object,   // the whole shmem object behind the mapping (MAP_SHARED anonymous)
    file_content,    // the backing file is gone or is a memfd: its content is saved as a file image
};

struct VmaClass {
    images::VmaKind kind = images::VMA_KIND_UNSPECIFIED;
    ContentSource content = ContentSource::none;
    bool file_backed = false;  // a FileEntry describes the backing file
};

// Refuses mappings stasis cannot restore faithfully, naming them.
Result<VmaClass> classify(const proc::Mapping &m);

// MAP_* flags to recreate the mapping and the madvise(2) advice bits to
// re-apply, from the mapping's VmFlags.
uint32_t map_flags(const proc::Mapping &m, const VmaClass &c);
uint64_t madvise_bits(const proc::Mapping &m);

}  // namespace stasis::mem
