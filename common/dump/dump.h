// `stasis dump` and `stasis pre-dump`: checkpoint a process tree.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "common/pageserver/endpoint.h"
#include "common/util/result.h"

namespace stasis::dump {

enum class FileValidation { size, build_id, checksum };

struct DumpOptions {
    pid_t pid = 0;                   // -t/--tree: root of the tree
    std::string images_dir;          // -D/--images-dir
    bool leave_running = false;      // --leave-running
    bool shell_job = false;          // --shell-job: the tree shares our terminal
    bool track_mem = false;          // --track-mem: arm dirty tracking for a later incremental dump
    std::string prev_images_dir;     // --prev-images-dir: parent dump (relative to images_dir or absolute)
    bool lazy_pages = false;         // --lazy-pages: leave anonymous memory to lazy-pages
    bool ext_unix_sk = false;        // --ext-unix-sk: dgram sockets connected outside the tree, reconnected by name
    FileValidation file_validation = FileValidation::build_id;  // --file-validation
    std::optional<pageserver::Endpoint> page_server;  // --page-server: pages go there
    bool pre_copy = true;            // --no-pre-copy clears it (see pre_copy.h)
    bool pre_dump = false;           // set by `stasis pre-dump`
    bool progress = false;           // show progress on the terminal
};

// Checkpoints the tree. On any failure the tree keeps running, unharmed and
// detached, and the image directory holds no inventory.img.
Status run(const DumpOptions &opts);

}  // namespace stasis::dump
