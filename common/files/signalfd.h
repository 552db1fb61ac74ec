// signalfd(2): the set of signals it reads ("sigmask", hex, from
// /proc/PID/fdinfo). Signals that are pending are the task's, restored
// with the task; the signalfd only says which ones it takes.
#pragma once

#include "common/proc/fdinfo.h"
#include "common/util/result.h"
#include "images/files.pb.h"

namespace stasis::files {

Status describe_signalfd(const proc::FdInfo &info, images::SignalfdFile *out);
// A new signalfd for the same signals (close-on-exec).
Result<int> open_signalfd(const images::SignalfdFile &s);

}  // namespace stasis::files
