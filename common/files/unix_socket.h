// AF_UNIX sockets: stream, dgram and seqpacket; unbound, bound to a path or
// an abstract name, listening, or connected to a peer that is a socket of
// the dumped tree too.
//
// Dump: sock_diag (unix_diag.h) gives the type, state, name, peer and
// shutdown state; a copy of the fd (pidfd_getfd) gives the socket options
// and the data queued for reading, peeked without consuming it: SO_PEEK_OFF
// walks the queue (set back to what the process had afterwards), one
// element per message for dgram and seqpacket. Data carrying file
// descriptors (SCM_RIGHTS) is refused, as are listeners with connections
// not yet accepted. Peers are resolved to file ids once every fd of the
// tree is known; a peer outside the tree is refused, naming it
// (FileTable::link_unix_peers), except, with --ext-unix-sk, a dgram
// socket's named target (/dev/log, say), kept as external_peer.
//
// Restore: all sockets of the tree at once (open_unix_sockets): the two
// ends of a connection as one socketpair (the accepted end loses the name
// it showed, its listener's); bound sockets bound again (a stale socket
// file at the path unlinked first, the file's mode set back), listeners
// listening with their backlog, dgram sockets connected to their target
// by its name (--ext-unix-sk: the outside target too); then the queued
// data sent again from the peer, in order, then the shutdown state and
// O_NONBLOCK. A connection whose peer was
// closed gets a fresh peer that is closed once the data is queued.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "common/proc/fdinfo.h"
#include "common/util/result.h"
#include "images/files.pb.h"

namespace stasis::files {

// Describes fd `fd` of pid, the socket with inode `ino` (known to be
// AF_UNIX: sock_diag answers for it). *peer_ino: the inode of its peer,
// 0 when it has none (peer_id is filled in later).
Status describe_unix_socket(pid_t pid, int fd, uint64_t ino, const proc::FdInfo &info, images::UnixSocketFile *out,
                            uint64_t *peer_ino);

// Makes every unix socket in `files` as the dump recorded it. Returns
// (file id, fd) for each, fds close-on-exec.
Result<std::vector<std::pair<uint32_t, int>>> open_unix_sockets(const std::vector<images::FileEntry> &files);

}  // namespace stasis::files
