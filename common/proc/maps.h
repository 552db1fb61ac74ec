// /proc/PID/maps and /proc/PID/smaps: the task's memory mappings.
//
// Format (man proc(5), Documentation/filesystems/proc.rst "3.x smaps"):
//   start-end perms offset major:minor inode<padding>path
//   7f2c1a000000-7f2c1a021000 rw-p 00000000 00:00 0          [anon:arena]
// smaps adds, after each such header, "Key:   value kB" lines and a final
// "VmFlags: rd wr mr mw me ac" line. Mappings come in ascending address order.
//
// The path is kept as the kernel shows it, except that a trailing
// " (deleted)" (added by d_path for an unlinked file: memfds, "/dev/zero
// (deleted)" for shared anonymous memory, "/SYSV0000002a (deleted)" for SysV
// shm) is removed and reported in `deleted`. The kernel escapes a newline in
// a path as "\012" and leaves backslashes alone, so the path text is not
// always reversible: the dump identifies files through map_files, not this.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/proc/vm_flags.h"
#include "common/util/result.h"

namespace stasis::proc {

struct Mapping {
    uint64_t start = 0;
    uint64_t end = 0;
    uint64_t pgoff = 0;   // file offset in bytes, as the "offset" column shows it
    uint32_t prot = 0;    // PROT_READ | PROT_WRITE | PROT_EXEC
    bool shared = false;  // 's' in perms (MAP_SHARED); 'p' is private
    uint32_t dev_major = 0;
    uint32_t dev_minor = 0;
    uint64_t inode = 0;
    std::string path;  // as shown, without " (deleted)"; "" for plain anonymous memory
    bool deleted = false;
    // smaps only (zero / empty from maps):
    std::string vm_flags_text;  // the VmFlags value as shown
    uint64_t vm_flags = 0;      // bitmask of VmFlag
    uint64_t rss = 0;           // kB
    uint64_t anonymous = 0;     // kB
    uint64_t swap = 0;          // kB

    uint64_t size() const { return end - start; }
    bool has(VmFlag f) const { return has_vm_flag(vm_flags, f); }
    // A mapping the kernel provides rather than the program: [vdso], [vvar],
    // [vvar_vclock], [vsyscall], arm's [sigpage] and [vectors], [uprobes]...
    // Any "[name]" except [heap], [stack] and named anonymous memory.
    bool is_special() const;
    bool is_heap() const { return path == "[heap]"; }
    // "[stack]" (and "[stack:TID]" of kernels before 4.5).
    bool is_stack() const;
    // "[anon:name]" (PR_SET_VMA_ANON_NAME) or "[anon_shmem:name]".
    bool is_named_anonymous() const;
    // The name inside "[anon:name]" / "[anon_shmem:name]", else "".
    std::string_view anonymous_name() const;
    // "/memfd:name" (always shown " (deleted)": memfds have no directory entry).
    bool is_memfd() const;
};

// Parsers over text. Errors say "line N: what 'text'".
Result<std::vector<Mapping>> parse_maps(std::string_view text);
Result<std::vector<Mapping>> parse_smaps(std::string_view text);

// Readers for a live task (tid 0: the whole process, /proc/PID/...; else
// /proc/PID/task/TID/...). Errors carry the path; a vanished task gives the
// is_task_gone() error. A zombie has no mappings: an empty vector.
Result<std::vector<Mapping>> read_maps(pid_t pid, pid_t tid = 0);
Result<std::vector<Mapping>> read_smaps(pid_t pid, pid_t tid = 0);

}  // namespace stasis::proc
