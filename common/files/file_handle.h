// Finding a file again from the file handle the kernel shows in fdinfo
// (inotify's "fhandle-bytes:8 fhandle-type:1 f_handle:ede0ad00...").
//
// open_by_handle_at(2) needs a descriptor on the same file system as the
// handle: any mount of the device (found in /proc/self/mountinfo) will do,
// and CAP_DAC_READ_SEARCH. With that capability the kernel returns the
// file even when it lies outside the mount's subtree, or as a dentry that
// is disconnected from the tree (a non-directory whose name fell out of the
// dentry cache): its /proc/self/fd link then does not name it. So the path
// read back is trusted only when lstat(path) is the same inode; each mount
// of the device is tried until one gives such a path.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>

#include "common/util/result.h"

namespace stasis::files {

struct HandleTarget {
    std::string path;  // absolute; lstat(path) is `st`
    struct stat st {};
};

// The kernel's own dev_t encoding (fdinfo's "sdev:"): major in the bits
// above 20, minor in the 20 below, unlike the userspace dev_t of stat(2).
uint64_t userspace_dev(uint32_t kernel_dev);

// The file with handle `handle` (raw bytes) of type `type` on kernel device
// `kernel_dev`, which must be inode `ino` there. Refuses a file that was
// deleted (no path names it any more), saying so.
Result<HandleTarget> find_by_handle(uint32_t kernel_dev, int type, const std::string &handle, uint64_t ino);

}  // namespace stasis::files
