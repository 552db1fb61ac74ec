// TCP_REPAIR, the kernel's interface for taking a TCP connection apart and
// putting it together again (Linux 3.5+, window since 4.8), used by both
// the dump (tcp_socket.cc) and the restore (tcp_socket_restore.cc).
//
// Kernel behaviour this relies on (net/ipv4/tcp.c, tcp_output.c):
//  - TCP_REPAIR needs CAP_NET_ADMIN and is refused on listeners. Turning it
//    off (TCP_REPAIR_OFF) resets SO_REUSEADDR (sk_reuse) and sends a window
//    probe; TCP_REPAIR_OFF_NO_WP sends nothing.
//  - A socket closed while in repair mode is disconnected without a FIN or
//    an RST: the peer notices nothing.
//  - In repair mode, recv(MSG_PEEK) reads the queue TCP_REPAIR_QUEUE selects
//    (the send queue from its oldest unacknowledged byte, whole skbs), and
//    TCP_QUEUE_SEQ reads write_seq (send) or rcv_nxt (receive). Before
//    connect() (TCP_CLOSE), TCP_QUEUE_SEQ sets them; connect() then
//    establishes the connection without a handshake, and send() appends to
//    the selected queue: to the receive queue as data received, to the send
//    queue as data sent but not acknowledged, retransmitted when the
//    retransmission timer fires.
#pragma once

#include <netinet/tcp.h>

#include <cstdint>
#include <string>

#include "common/util/result.h"

namespace stasis::files::tcp {

// The kernel's name of a TCP state (tcp_states.h): "ESTABLISHED", "FIN_WAIT2"...
std::string state_name(int state);

Status set_repair(int fd, int mode);  // TCP_REPAIR_ON, _OFF, _OFF_NO_WP
Status select_queue(int fd, int queue);  // TCP_NO_QUEUE, TCP_RECV_QUEUE, TCP_SEND_QUEUE
Status set_queue_seq(int fd, int queue, uint32_t seq);

// A queue as the dump reads it: the sequence number of its first byte and
// its bytes.
struct QueueSnapshot {
    uint32_t first_seq = 0;
    std::string data;
    uint32_t unsent = 0;  // send queue: bytes not transmitted yet
};

// The send queue (written, not acknowledged by the peer) of a socket in
// repair mode. Reads until two reads agree: the peer's acknowledgements may
// move its start meanwhile.
Result<QueueSnapshot> read_send_queue(int fd);
// The receive queue (received, not read by the process) of a socket in
// repair mode, likewise stable against data arriving meanwhile.
Result<QueueSnapshot> read_recv_queue(int fd);

// Appends `data` to the selected queue of a socket in repair mode. Returns
// how many bytes went in (fewer when the socket's buffer is full).
Result<size_t> write_queue(int fd, int queue, const std::string &data, size_t from);

Result<tcp_repair_window> read_window(int fd);
Status set_window(int fd, const tcp_repair_window &w);

}  // namespace stasis::files::tcp
