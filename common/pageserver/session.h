// One page server session (protocol.h) on a connected stream socket, apart
// from the TCP listening and threads of server.cc, so that unit tests and
// the fuzzer can drive it over a socketpair.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "common/util/result.h"

namespace stasis::pageserver {

// What the sessions of one server share.
struct SessionContext {
    int dirfd = -1;          // the image directory (not owned)
    uint32_t page_size = 0;  // hello must give the same
    // Set by a bye with kByeFinished: serve() may exit once no session is open.
    std::atomic<bool> finished{false};
};

// Serves one client until bye, its disconnect or a protocol violation.
// Does not close `fd`. Files pushed and not committed are removed before it
// returns. Returns ok after bye, or after a disconnect between messages with
// nothing left uncommitted; otherwise why the session ended (the client was
// told when it could be). `peer` names the client in log lines.
Status serve_session(int fd, SessionContext &ctx, const std::string &peer = "peer");

}  // namespace stasis::pageserver
