// SysV shared memory segments at restore: a segment that still exists with
// the same id, key and size is attached as it is (same machine, the dumped
// process was not its last user); otherwise it is created again with the
// same id (through /proc/sys/kernel/shm_next_id) and filled from its image.
#pragma once

#include <vector>

#include "common/images/checkpoint.h"
#include "common/util/result.h"

namespace stasis::files {

class SysvSegments {
public:
    SysvSegments() = default;
    SysvSegments(const SysvSegments &) = delete;
    SysvSegments &operator=(const SysvSegments &) = delete;
    // Removes the segments it created unless commit() ran: a failed restore
    // leaves no segment behind.
    ~SysvSegments();

    Status prepare(const images::Checkpoint &cp, const std::string &images_dir, uint32_t page_size);
    // After a successful restore: segments that were already removed
    // (IPC_RMID) at dump time are removed again, now that the restored
    // process holds them.
    Status commit();

private:
    std::vector<int> created_;
    std::vector<int> remove_on_commit_;
    bool committed_ = false;
};

}  // namespace stasis::files
