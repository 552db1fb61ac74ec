// inotify instances and their watches.
//
// fdinfo lists each watch as "inotify wd:3 ino:9e7e sdev:800013 mask:800afce
// ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:7e9e0000..." (all
// hex; sdev in the kernel's dev_t encoding). The mask shows the events plus
// IN_ONESHOT and IN_EXCL_UNLINK; IN_MASK_ADD, IN_ONLYDIR and IN_DONT_FOLLOW
// only act while a watch is added and leave nothing to record. The dump
// finds each target's path from its file handle (file_handle.h) and records
// it with the target's dev/ino; a target that no path names any more
// (deleted) is refused, naming the watch.
//
// Events queued and not read yet are not saved: inotify has no peek, and
// reading them (with --leave-running, or if the dump fails) would take them
// from the process. The dump log says when the queue was not empty
// (FIONREAD on a copy of the descriptor); after restore they are gone, like
// events that happen while the process is not running.
//
// The restore must give every watch its old wd number: programs keep them
// to tell events apart. The kernel allocates wds cyclically within an
// instance (idr_alloc_cyclic from 1: the next is the last one + 1, a freed
// number is not reused until the counter wraps at 2^31), so the watches are
// added in increasing wd order and each gap is burnt by adding and removing
// a watch on a throwaway memfd. Each removal queues an IN_IGNORED event for
// the burnt number; the queue is emptied before the instance is handed
// over, so events of the restored watches during the restore itself are
// dropped too. Each target is opened (O_PATH, not following a last
// symlink), checked to be the recorded inode (device, inode number, and the
// file handle, whose generation tells a reused inode number apart), and
// watched through
// /proc/self/fd/N, so the watch lands on exactly the inode checked (a
// watched symlink stays the symlink: the magic link leads to it, not
// through it). IN_MASK_CREATE makes a second watch on one inode an error
// rather than a silent merge.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/proc/fdinfo.h"
#include "common/util/result.h"
#include "images/files.pb.h"

namespace stasis::files {

// One "inotify wd:..." line of fdinfo, numbers decoded.
struct InotifyMark {
    int32_t wd = 0;
    uint64_t ino = 0;
    uint32_t sdev = 0;         // kernel dev_t encoding
    uint32_t mask = 0;
    int32_t handle_type = 0;
    std::string handle;        // raw bytes; empty when the kernel could not encode one
};

// Parses one line of the form above; refuses missing or malformed numbers
// and a handle whose length disagrees with fhandle-bytes.
Result<InotifyMark> parse_inotify_mark(std::string_view line);

// The watches of inotify fd `fd` of pid, with their targets' paths.
Status describe_inotify(pid_t pid, int fd, const proc::FdInfo &info, images::InotifyFile *out);

// Before anything is created at restore: every watched path still names the
// inode the dump recorded. The first that does not refuses the restore.
Status check_inotify_targets(const images::InotifyFile &f);

// A new inotify instance (close-on-exec) with every watch at its wd number.
Result<int> open_inotify(const images::InotifyFile &f);

}  // namespace stasis::files
