// What runs in the freshly cloned process (already carrying the original
// PID) before the restorer takes over: session and group, file descriptors,
// cwd and root, then the restorer region with its plan; then it stops with
// SIGTRAP for the engine to start the restorer.
#pragma once

#include "common/files/restore_files.h"
#include "common/images/checkpoint.h"
#include "common/restore/control.h"
#include "common/restore/restore.h"

namespace stasis::restore {

struct ChildArgs {
    const images::Checkpoint *cp = nullptr;
    const images::TaskImages *task = nullptr;
    const RestoreOptions *opts = nullptr;
    files::RestoreFileOptions file_opts;
    ChildControl *control = nullptr;
};

// Never returns: stops for the engine, or exits non-zero with the error in
// the control page.
[[noreturn]] void child_main(const ChildArgs &args);

}  // namespace stasis::restore
