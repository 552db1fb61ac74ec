// Pseudo-terminals at restore (see tty.h for what the dump saves).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "common/util/result.h"
#include "images/files.pb.h"

namespace stasis::files {

// Before anything is created: /dev/pts/N is free for every pty of the
// checkpoint. Refuses, naming the pty, when another process holds it.
Status check_pty_indexes_free(const std::vector<images::FileEntry> &files);

// Makes the pty pair `entry` (its master or one of its slaves) belongs to,
// with the index it had, and opens its master and every slave description
// of `files`, with the saved termios, window size, packet, exclusive and
// lock modes. Returns (file id, fd) for each, fds close-on-exec. /dev/tty
// descriptions are not among them: open_controlling_tty.
Result<std::vector<std::pair<uint32_t, int>>> open_pty_ends(const std::vector<images::FileEntry> &files,
                                                            const images::FileEntry &entry);

// A /dev/tty description: opened by a process of the session whose
// controlling terminal the pty is, after it has become so.
bool is_controlling_tty(const images::FileEntry &entry);
Result<int> open_controlling_tty(const images::FileEntry &entry);

// The master entry of pty `index`, or nullptr.
const images::FileEntry *pty_master(const std::vector<images::FileEntry> &files, uint32_t index);

}  // namespace stasis::files
