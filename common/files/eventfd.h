// eventfd(2): the counter ("eventfd-count", hex) and EFD_SEMAPHORE
// ("eventfd-semaphore", shown since Linux 6.5) from /proc/PID/fdinfo.
#pragma once

#include <sys/types.h>

#include "common/proc/fdinfo.h"
#include "common/util/result.h"
#include "images/files.pb.h"

namespace stasis::files {

// `fd` of `pid` (frozen): on kernels before 6.5, EFD_SEMAPHORE is probed
// through a copy of the descriptor (see eventfd.cc).
Status describe_eventfd(pid_t pid, int fd, const proc::FdInfo &info, images::EventfdFile *out);
// A new eventfd with the counter and flags (close-on-exec).
Result<int> open_eventfd(const images::EventfdFile &e);

}  // namespace stasis::files
