// Pipes and named FIFOs.
//
// Dump: each open description of a pipe is one PipeFile; all descriptions
// of one pipe share its inode number. The data queued in the pipe is copied
// without consuming it (tee(2) into a private pipe, read from there), so a
// failed or --leave-running dump leaves the pipe as it was; it is stored on
// the first description of the pipe only.
//
// Restore: one pipe per pipe inode (a FIFO: opened by its path), its size
// set, the queued data written back, then every description reopened from
// it through /proc/self/fd with its own flags. An end that no task of the
// tree held is closed: a peer outside the dumped tree (a shell reading the
// process's stdout, say) cannot be reconnected by a restore that does not
// own it, so the reader in the tree sees the queued data and then end of
// file, and a writer gets EPIPE, as when the outside peer exits. The dump
// warns about such pipes.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/proc/fdinfo.h"
#include "common/util/result.h"
#include "images/files.pb.h"

namespace stasis::files {

// Describes fd `fd` of pid, a pipe or a FIFO (`fifo_path` non-empty),
// reached through `proc_link` (/proc/PID/fd/N). With `with_data`, the
// queued data is copied into out->buffered.
Status describe_pipe(const std::string &proc_link, const proc::FdInfo &info, const std::string &fifo_path,
                     bool with_data, images::PipeFile *out);

// Opens every description in `files` of the pipe `entry` is an end of.
// Returns (file id, fd) for each, fds close-on-exec.
Result<std::vector<std::pair<uint32_t, int>>> open_pipe_ends(const std::vector<images::FileEntry> &files,
                                                             const images::FileEntry &entry);

}  // namespace stasis::files
