// `stasis restore`: bring a checkpointed process tree back.
#pragma once

#include <string>

#include "common/dump/dump.h"
#include "common/util/result.h"

namespace stasis::restore {

struct RestoreOptions {
    std::string images_dir;          // -D/--images-dir
    bool detach = false;             // -d/--restore-detached
    bool shell_job = false;          // --shell-job
    bool lazy_pages = false;         // --lazy-pages
    dump::FileValidation file_validation = dump::FileValidation::build_id;  // --file-validation
    std::string pidfile;             // --pidfile: write the root PID here
    std::optional<pageserver::Endpoint> page_server;  // --page-server: pages come from there
};

// Restores the tree. Returns the root task's exit status when not detached
// (as wait(2) encodes it: the CLI maps it to its own exit code), 0 when
// detached. On failure everything created is killed and the images are
// untouched.
Result<int> run(const RestoreOptions &opts);

}  // namespace stasis::restore
