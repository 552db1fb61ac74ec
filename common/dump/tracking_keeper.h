// The keeper: who holds dirty tracking between two stasis runs.
//
// uffd-wp tracking lives in the kernel only while a userfaultfd refers to
// it: closing the last descriptor unregisters every range and forgets what
// was written. A pre-dump therefore cannot simply exit with its
// descriptors. The target itself must not hold them either (they would be
// dumped, and a program closing "all fds" would end the tracking). So a
// pre-dump leaves a small process behind, "stasis-track", which holds one
// userfaultfd per tracked task and nothing else, and the next dump takes
// copies with pidfd_getfd(2). The keeper exits when every tracked task has
// exited, when the next stage replaces it, or when killed.
//
// Its being alive is also the proof that the tracking recorded in an image
// directory is still whole: a stage that consumes the tracking (reads and
// re-arms it) and then fails stops the keeper, and a dump that finds no
// keeper compares content instead of trusting tracking (also for
// soft-dirty, whose keeper holds no descriptor).
#pragma once

#include <sys/types.h>

#include <map>
#include <utility>
#include <vector>

#include "common/images/file_io.h"
#include "common/util/result.h"
#include "images/inventory.pb.h"

namespace stasis::dump {

// Starts a keeper that holds our descriptors `uffds` (by tracked task) and
// watches `tasks`; returns what the inventory records about it.
Result<images::TrackingKeeper> start_keeper(const std::vector<std::pair<pid_t, int>> &uffds,
                                            const std::vector<pid_t> &tasks);

// Whether the keeper `k` records is still that process.
bool keeper_alive(const images::TrackingKeeper &k);

// Copies of the keeper's userfaultfds, by tracked task.
Result<std::map<pid_t, images::Fd>> take_uffds(const images::TrackingKeeper &k);

// Ends the keeper (if it is still that process) and waits until it is gone.
void stop_keeper(const images::TrackingKeeper &k);

}  // namespace stasis::dump
