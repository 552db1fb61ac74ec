// Copies page runs of another process into the pages image: the dump's hot
// path. Runs are batched into large process_vm_readv(2) calls straight into
// a window of the output file mapped with MAP_POPULATE, so every byte is
// copied once, by the kernel, with no page faults on either side. Pages
// process_vm_readv cannot read (no read permission: PROT_NONE, exec-only)
// go through /proc/PID/mem, which reads regardless of protection.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstdint>
#include <vector>

#include "common/util/result.h"

namespace stasis::mem {

struct CopyRun {
    uint64_t vaddr;
    uint64_t len;
    bool readable;  // the mapping allows reads (process_vm_readv works)
};

struct CopyStats {
    uint64_t bytes = 0;
    uint64_t calls = 0;
};

// Appends the content of `runs`, in order, to the file `fd` at `file_offset`
// (the file is grown as needed). Returns the number of bytes written.
Result<uint64_t> copy_runs_to_file(pid_t pid, const std::vector<CopyRun> &runs, int fd, uint64_t file_offset,
                                   CopyStats *stats = nullptr);

}  // namespace stasis::mem
