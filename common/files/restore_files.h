// The restore side of files: checking that each file is the one the process
// had (seed 003), and opening file descriptions again.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/dump/dump.h"
#include "common/util/result.h"
#include "images/files.pb.h"

namespace stasis::files {

struct RestoreFileOptions {
    std::string images_dir;
    uint32_t page_size = 4096;
    dump::FileValidation validation = dump::FileValidation::build_id;
    bool shell_job = false;
};

// Checks every file that is reopened by path against the identity the dump
// recorded: its size always, its ELF build-id (unless --file-validation=size)
// and its content hash with --file-validation=checksum. The first mismatch
// refuses the restore, naming the file. Every inotify watch's path must
// still name the inode it watched (dev and inode).
Status validate_files(const std::vector<images::FileEntry> &files, const RestoreFileOptions &opts);

// Opens one file description as the dump recorded it: by path (terminals
// with --shell-job: our own terminal), or recreated from its ghost image
// (deleted files are recreated at their path and unlinked again; memfds
// are recreated as memfds). The position is restored. eventfd, signalfd,
// timerfd, (empty) epoll and inotify instances (with their watches) are
// made anew. Returns the fd.
// Pipes are opened all ends at once: open_pipe_ends (pipe.h).
Result<int> open_file(const images::FileEntry &entry, const RestoreFileOptions &opts);

// Opens another description of the file `existing` refers to (through
// /proc/self/fd), with entry's flags and position: the second and later
// descriptions of a recreated ghost file or memfd, which must stay the same
// file as the first.
Result<int> reopen_file(int existing, const images::FileEntry &entry);

}  // namespace stasis::files
