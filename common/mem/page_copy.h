// Copies page runs of another process into the pages image: the dump's hot
// path. Runs are batched into large process_vm_readv(2) calls into one
// small buffer that stays in the cache, which write(2) appends to the file
// (or sends to a page server). A second thread writing while the next batch
// is read did not help: writing into tmpfs is the cost (page allocation and
// charging, four fifths of the time in perf), not the reading. What helps
// is a second thread allocating the file's pages ahead of the writer (big
// copies into tmpfs: see Prefaulter in page_copy.cc).
// Copying straight into a mapped window of the file looked cheaper (one
// copy), but every page of the window is faulted in zeroed first: on tmpfs
// that made the dump 1.7 times slower (0.65 against 1.10 GB/s for 1 GiB,
// bench/cr_bench.py).
//
// Two kinds of pages go through /proc/PID/mem instead: pages without read
// permission (PROT_NONE, exec-only), which process_vm_readv refuses, and
// anonymous pages shared copy-on-write with another process. Since Linux
// 5.19 process_vm_readv pins pages (FOLL_PIN), and pinning a shared
// anonymous page read-only makes the kernel unshare it first: reading would
// give the target its own copy and break the sharing with its children.
// /proc/PID/mem takes plain references and leaves the page shared.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstdint>
#include <vector>

#include "common/images/image_writer.h"
#include "common/util/result.h"

namespace stasis::mem {

struct CopyRun {
    uint64_t vaddr;
    uint64_t len;
    bool via_proc_mem;  // read through /proc/PID/mem (see above)
};

struct CopyStats {
    uint64_t bytes = 0;
    uint64_t calls = 0;
};

// Appends the content of `runs`, in order, to the pages image `out` (a local
// file or a page server). Returns the number of bytes written.
Result<uint64_t> copy_runs_to_image(pid_t pid, const std::vector<CopyRun> &runs, images::RawImageWriter &out,
                                    CopyStats *stats = nullptr);

}  // namespace stasis::mem
