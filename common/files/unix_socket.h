// AF_UNIX sockets: stream, dgram and seqpacket; unbound, bound to a path or
// an abstract name, listening, or connected to a peer that is a socket of
// the dumped tree too.
//
// Dump: sock_diag (unix_diag.h) gives the type, state, name, peer and
// shutdown state; a copy of the fd (pidfd_getfd) gives the socket options
// and the data queued for reading, peeked without consuming it: SO_PEEK_OFF
// walks the queue (set back to what the process had afterwards), one
// element per message for dgram and seqpacket. Descriptors in flight
// (SCM_RIGHTS) come out of the peek as descriptors of stasis itself, which
// the file table describes like any other (a stream's data is split around
// the part that carries them); listeners with connections not yet accepted
// are refused. Peers are resolved to file ids once every fd of the
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
// data sent again from the peer, in order (with the descriptors in flight
// on their message, from the tree's open descriptions), then the shutdown
// state and
// O_NONBLOCK. A connection whose peer was
// closed gets a fresh peer that is closed once the data is queued.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/images/file_io.h"
#include "common/proc/fdinfo.h"
#include "common/util/result.h"
#include "images/files.pb.h"

namespace stasis::files {

// A part of a socket's queue: its bytes, and the descriptors in flight it
// carries, as descriptors of this process.
struct QueuedPart {
    std::string data;
    std::vector<images::Fd> fds;
};
// The descriptors in flight on queued message `message`.
struct InFlight {
    uint32_t message;
    std::vector<images::Fd> fds;
};

// Describes fd `fd` of pid, the socket with inode `ino` (known to be
// AF_UNIX: sock_diag answers for it). *peer_ino: the inode of its peer,
// 0 when it has none (peer_id is filled in later). *in_flight: the
// descriptors in flight on its queue (the caller describes them and fills
// in out->in_flight).
Status describe_unix_socket(pid_t pid, int fd, uint64_t ino, const proc::FdInfo &info, images::UnixSocketFile *out,
                            uint64_t *peer_ino, std::vector<InFlight> *in_flight);

// The descriptor of a file id that is not a unix socket (a description
// in flight), opened by the caller.
using OpenFile = std::function<Result<int>(uint32_t file_id)>;

// Makes every unix socket in `files` as the dump recorded it. Returns
// (file id, fd) for each, fds close-on-exec.
Result<std::vector<std::pair<uint32_t, int>>> open_unix_sockets(const std::vector<images::FileEntry> &files,
                                                                const OpenFile &open_file);

}  // namespace stasis::files
