// What the kernel says about one AF_UNIX socket, asked through
// NETLINK_SOCK_DIAG (the interface `ss -x` uses): its type and state, the
// name it is bound to, the inode of its peer, the length of its queues and
// its shutdown state. Only this interface names a socket's peer reliably.
#pragma once

#include <cstdint>
#include <string>

#include "common/util/result.h"

namespace stasis::files {

struct UnixDiag {
    uint64_t ino = 0;
    uint8_t type = 0;        // SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET
    uint8_t state = 0;       // TCP_LISTEN, TCP_ESTABLISHED, TCP_CLOSE as the kernel reuses them
    std::string name;        // sun_path as bound (abstract: first byte NUL); empty when unbound
    uint64_t peer_ino = 0;   // 0: no peer, or a peer that was closed
    uint32_t rqueue = 0;     // listener: connections waiting; stream/seqpacket: bytes queued for reading
    uint32_t wqueue = 0;     // listener: its backlog
    uint64_t vfs_ino = 0;    // a path name: the inode of the socket file bind(2) made
    uint8_t shutdown = 0;    // 1: receive side shut down, 2: send side
};

// Asks the kernel about the AF_UNIX socket with inode `ino` (in our network
// namespace).
Result<UnixDiag> unix_diag(uint64_t ino);

// "/run/x.sock", "abstract @name": a bound name as messages show it.
std::string unix_name_label(const std::string &name);

// "socket:[N] (/run/x.sock)": a socket as error messages name it.
std::string unix_socket_label(uint64_t ino, const std::string &name);

}  // namespace stasis::files
