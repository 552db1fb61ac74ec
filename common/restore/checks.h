// Checks made before anything is created: the images may be used by this
// user, on this CPU and kernel, and every PID and TID is free.
#pragma once

#include <string>

#include "common/images/checkpoint.h"
#include "common/util/result.h"

namespace stasis::restore {

// stasis never grants more privilege than the images' owner had: images
// owned by a non-root user may only ask for that user's ids and no
// capabilities.
Status check_privilege(const std::string &images_dir, const images::Checkpoint &cp);

// `pid` is free; if not, names who holds it and what it was needed for.
Status check_pid_free(pid_t pid, const std::string &purpose);

// Every PID and TID of the checkpoint is free; if not, names who holds it.
Status check_pids_free(const images::Checkpoint &cp);

// The vDSO/vvar areas of this kernel can be moved over the saved ones.
Status check_vdso(const images::Checkpoint &cp);

}  // namespace stasis::restore
