// A file descriptor made inside a frozen process and handed to us: one
// injected syscall (no parasite blob) creates it in the process's context
// (a userfaultfd belongs to the mm of whoever creates it), pidfd_getfd(2)
// copies it to us, and an injected close(2) removes it from the process's
// fd table again, which is left exactly as it was.
#pragma once

#include <array>
#include <cstdint>

#include "common/images/file_io.h"
#include "common/ptrace/frozen_tree.h"
#include "common/util/result.h"

namespace stasis::parasite {

// Runs syscall `nr` with `args` in the leader of `proc` and takes over the
// descriptor it returns. The leader's registers are back as frozen after.
Result<images::Fd> take_remote_fd(ptrace::FrozenProcess &proc, long nr, const std::array<uint64_t, 6> &args);

}  // namespace stasis::parasite
