// Steps shared by `stasis dump` and `stasis pre-dump` (common/dump/dump.cc).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "common/dump/dump.h"
#include "common/images/checkpoint.h"
#include "common/proc/stat.h"
#include "common/ptrace/frozen_tree.h"
#include "common/util/result.h"

namespace stasis::dump {

// Creates the image directory (0700) and removes an old inventory.img.
Status prepare_images_dir(const std::string &dir);
// A process we may dump: exists, is not ourselves.
Status check_target(pid_t pid);
// A zombie child: only what its parent can still see (the exit status).
Result<images::TaskImages> dump_zombie(pid_t pid);
// The pstree entry of a live process of the tree (threads as frozen).
images::PstreeEntry tree_entry(const DumpOptions &opts, const ptrace::FrozenProcess &proc,
                               const proc::TaskStat &stat);
// The inventory fields every checkpoint has (kind, arch, page size, kernel,
// root, time, version); cpu and counts are the caller's.
images::Inventory basic_inventory(const DumpOptions &opts, uint32_t page_size, const char *kind);
// Milliseconds since `since`: how long the tree was frozen (logged, and
// read by bench/predump_bench.py).
double frozen_ms(std::chrono::steady_clock::time_point since);

}  // namespace stasis::dump
