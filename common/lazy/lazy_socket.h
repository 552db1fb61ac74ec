// The rendezvous of lazy restore: `stasis lazy-pages -D DIR` listens on
// DIR/lazy-pages.sock (0600, in the 0700 image directory), and each task a
// lazy restore creates connects to it and sends its userfaultfd. Reached
// through /proc/self/fd/N/..., so the image directory's path may be longer
// than a socket address allows.
#pragma once

#include <string>

#include "common/images/file_io.h"
#include "common/util/result.h"

namespace stasis::lazy {

inline constexpr const char *kSocketName = "lazy-pages.sock";

// Binds and listens (an old socket file of a dead server is replaced).
Result<images::Fd> listen_socket(const std::string &images_dir);

// Connects to the server of `images_dir`, waiting up to `wait_ms` for it to
// appear (it may have been started just before).
Result<images::Fd> connect_socket(const std::string &images_dir, int wait_ms);

}  // namespace stasis::lazy
