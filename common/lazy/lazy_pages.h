// `stasis lazy-pages -D DIR`: serves the memory of a tree restored with
// `stasis restore --lazy-pages -D DIR` (seed 001).
//
// Each restored task maps its private anonymous memory empty, registers it
// with a userfaultfd for missing pages and sends that userfaultfd here
// (lazy_socket.h). The tree runs at once; a page is filled when first
// touched (UFFDIO_COPY from the pages images, through the parent chain of
// an incremental dump), and the rest in the background, nearest to the
// last fault first. The kernel's events are followed: fork (the child gets
// what its parent had not received yet), mremap, madvise(DONTNEED) and
// munmap (those pages read as zero afterwards, never the old content), and
// exit. Done when every task has all its memory: the userfaultfds are
// closed and the tree no longer depends on this process.
#pragma once

#include <optional>
#include <string>

#include "common/pageserver/endpoint.h"
#include "common/util/result.h"

namespace stasis::lazy {

struct LazyOptions {
    std::string images_dir;
    // --page-server: the pages come from there (post-copy migration), not
    // from pages files in images_dir.
    std::optional<pageserver::Endpoint> page_server;
    // Give up when no restored task has connected for this long.
    int connect_timeout_s = 300;
    // Background filling starts this long after a process connected, and
    // only faults are served before (STASIS_LAZY_BACKGROUND_DELAY_MS: tests
    // that must see their pages arrive on faults).
    int background_delay_ms = 0;
};

Status serve(const LazyOptions &opts);

}  // namespace stasis::lazy
