// The page server protocol: how pages travel between stasis processes over
// TCP (dump -> page-server, page-server -> lazy-pages/restore). Our own,
// versioned. Every message is a fixed 32-byte header, little-endian on the
// wire whatever the host's byte order, followed by `length` payload bytes:
//
//   u32 magic   "STPS" (kMagic)
//   u16 version kVersion; a peer speaking another version is refused
//   u16 op      Op
//   u32 handle  a file opened for writing in this session (push), else 0
//   u32 flags   op-specific (hello: role; read: length of the name that is
//               its payload; bye: kByeFinished)
//   u64 offset  op-specific (read: absolute file offset; commit: data bytes)
//   u64 length  payload bytes that follow (read: bytes asked for)
//
// A session is one TCP connection:
//   client: hello(role, page size)           server: hello_ok | error
//   push:   open(name) -> opened(handle) | error
//           write(handle, data...)          (no reply; errors come at commit)
//           commit(handle, offset=data bytes) -> committed | error
//   fetch:  stat(name) -> size(offset=data bytes) | error
//           read(name, offset, length = bytes asked) -> data | error
//             (the name is the payload: its length is in flags)
//   both:   bye(flags) -> bye_ok
// `name` payloads are file names; only pages images (pages-<id>.img) are
// accepted. An error reply carries one line of text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/util/result.h"

namespace stasis::pageserver {

constexpr uint32_t kMagic = 0x53505453;  // "STPS" as little-endian bytes
constexpr uint16_t kVersion = 1;
constexpr size_t kHeaderSize = 32;
// The largest payload either side accepts (a read asks for at most this).
constexpr uint64_t kMaxPayload = 8ull << 20;
constexpr size_t kMaxName = 64;

enum class Op : uint16_t {
    hello = 1,
    hello_ok = 2,
    error = 3,
    open = 4,
    opened = 5,
    write = 6,
    commit = 7,
    committed = 8,
    stat = 9,
    size = 10,
    read = 11,
    data = 12,
    bye = 13,
    bye_ok = 14,
};

enum class Role : uint32_t { push = 1, fetch = 2 };
// bye flag: this client's work is complete; a server started for one
// migration may exit once no session is open.
constexpr uint32_t kByeFinished = 1;

struct Header {
    Op op = Op::hello;
    uint32_t handle = 0;
    uint32_t flags = 0;
    uint64_t offset = 0;
    uint64_t length = 0;
};

void encode(const Header &h, unsigned char out[kHeaderSize]);
// Refuses a wrong magic, another version, an unknown op or a payload over
// kMaxPayload, each with a message that says which.
Result<Header> decode(const unsigned char in[kHeaderSize]);

// pages-<decimal id>.img, nothing else (no path, no leading zeros).
bool valid_pages_name(std::string_view name);

const char *op_name(Op op);

}  // namespace stasis::pageserver
