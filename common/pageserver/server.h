// `stasis page-server`: receives pages images from dump/pre-dump into its
// image directory and serves ranges of them to lazy-pages and restore
// (protocol.h). One thread per session; files are created 0600 under a
// temporary name and renamed into place on commit, so an aborted push
// leaves no half-written pages image.
#pragma once

#include <cstdint>
#include <string>

#include "common/pageserver/client.h"
#include "common/util/result.h"

namespace stasis::pageserver {

struct ServerOptions {
    std::string images_dir;
    Endpoint listen;
    uint32_t page_size = 0;  // of the machine; hello refuses another
    // Exit once a session ended with kByeFinished and no session is open
    // (default); otherwise serve until SIGTERM/SIGINT.
    bool exit_when_finished = true;
    // Called once the socket listens (e.g. to print the port when 0 was
    // asked for).
    void (*on_listening)(uint16_t port) = nullptr;
};

// Runs the server until done (see above). Errors of one session are logged
// and end that session only; errors setting up (directory, bind) are
// returned.
Status serve(const ServerOptions &opts);

}  // namespace stasis::pageserver
