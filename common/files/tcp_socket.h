// TCP sockets, IPv4 and IPv6: unconnected (bound or not), listening (no
// connection waiting to be accepted) and established. Every other state
// (SYN_SENT, SYN_RECV, FIN_WAIT1/2, CLOSE_WAIT, LAST_ACK, CLOSING) is
// refused at dump, naming the socket's addresses and state.
//
// Dump: a copy of each socket (pidfd_getfd) is held by TcpSockets for the
// whole dump. An established connection enters repair mode (TCP_REPAIR) as
// soon as it is described; once every fd of the tree is described, the
// send queues of all connections are read, then their receive queues
// (tcp_repair.h). Read in that order, every byte one end's image lacks is
// in the other end's send queue, even if the kernels exchanged segments
// meanwhile: an acknowledgement never runs ahead of the receiver's queue.
// When the tree is killed, the copies are closed still in repair mode: the
// kernel then drops each connection without a FIN or an RST, so a peer
// outside the tree notices nothing (as long as it sends nothing until the
// restore: a segment to the vanished port is answered with an RST). When
// the tree goes on (--leave-running, or a failed dump), repair mode is
// switched off again and SO_REUSEADDR put back (leaving repair mode resets
// it).
//
// Restore: all TCP sockets of the tree at once (open_tcp_sockets),
// listeners first (so that a listener's port is free to bind; connections
// bind with repair mode's forced reuse): unconnected and listening sockets
// bound and listening again with their options; connections in repair
// mode: sequence numbers, bind, connect (no handshake), MSS, window
// scaling, SACK and timestamps, the timestamp clock, the queued data, the
// window; then repair mode off (a window probe tells the peer to go on),
// options, O_NONBLOCK.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/images/file_io.h"
#include "common/proc/fdinfo.h"
#include "common/util/result.h"
#include "images/files.pb.h"

namespace stasis::files {

// A copy of fd `fd` of pid, through pidfd_getfd.
Result<images::Fd> copy_of_socket(pid_t pid, int fd);

// SO_DOMAIN of a socket.
Result<int> socket_family(int sock);

// "TCP socket socket:[N] 127.0.0.1:8080 -> 127.0.0.1:40022" (the peer part
// only when connected), as errors and logs name it.
std::string tcp_socket_label(const images::TcpSocketFile &sk);

// The TCP sockets of one dump, held from description to the end.
class TcpSockets {
public:
    TcpSockets() = default;
    TcpSockets(const TcpSockets &) = delete;
    TcpSockets &operator=(const TcpSockets &) = delete;
    // Leaves repair mode on every held connection, unless close_silently
    // was called: a failed dump leaves the tree as it was.
    ~TcpSockets();

    // Describes `copy` (of an fd with fdinfo `info`), the AF_INET/AF_INET6
    // socket with inode `ino`. Refuses what cannot be restored (other
    // protocols, other states, a listener with connections waiting).
    static Status describe(uint64_t ino, const proc::FdInfo &info, const images::Fd &copy,
                           images::TcpSocketFile *out);
    // Keeps the copy of file `file_id` (described above); an established
    // connection enters repair mode here.
    Status hold(uint32_t file_id, pid_t pid, int fd, images::Fd copy, const images::TcpSocketFile &sk);
    // Once every fd of the tree is held: the repair state of every
    // connection (send queues of all first, then receive queues), into
    // entries[file_id - 1].
    Status read_connections(std::vector<images::FileEntry> &entries);
    // The tree goes on: repair mode off, SO_REUSEADDR put back.
    Status leave_repair();
    // The tree is being killed: close the copies in repair mode, so that
    // the connections vanish without a FIN or an RST.
    void close_silently();

private:
    struct Held {
        uint32_t file_id;
        pid_t pid;
        int fd;
        images::Fd copy;
        bool in_repair;
        bool reuseaddr;
        std::string label;
    };
    std::vector<Held> held_;
};

// Makes every TCP socket in `files` as the dump recorded it. Returns
// (file id, fd) for each, fds close-on-exec.
Result<std::vector<std::pair<uint32_t, int>>> open_tcp_sockets(const std::vector<images::FileEntry> &files);

}  // namespace stasis::files
