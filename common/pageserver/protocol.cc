// Wire encoding of the page server protocol (protocol.h). Fields are stored
// byte by byte with shifts, never by copying a struct or an integer, so the
// bytes on the wire are little-endian on every host (s390x included).
#include "common/pageserver/protocol.h"

#include <charconv>

#include "common/util/log.h"

namespace stasis::pageserver {

namespace {

void store(unsigned char *p, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++) p[i] = static_cast<unsigned char>(v >> (8 * i));
}

uint64_t load(const unsigned char *p, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v |= uint64_t(p[i]) << (8 * i);
    return v;
}

bool known_op(uint16_t op) { return op >= uint16_t(Op::hello) && op <= uint16_t(Op::bye_ok); }

}  // namespace

void encode(const Header &h, unsigned char out[kHeaderSize]) {
    store(out, kMagic, 4);
    store(out + 4, kVersion, 2);
    store(out + 6, uint16_t(h.op), 2);
    store(out + 8, h.handle, 4);
    store(out + 12, h.flags, 4);
    store(out + 16, h.offset, 8);
    store(out + 24, h.length, 8);
}

Result<Header> decode(const unsigned char in[kHeaderSize]) {
    uint32_t magic = uint32_t(load(in, 4));
    if (magic != kMagic)
        return Error(log::cat("page server protocol: bad magic ", log::hex(magic), " (expected ",
                              log::hex(kMagic), "; not a stasis page server peer?)"));
    uint16_t version = uint16_t(load(in + 4, 2));
    if (version != kVersion)
        return Error(log::cat("page server protocol: peer speaks version ", version, ", this stasis speaks ",
                              kVersion));
    uint16_t op = uint16_t(load(in + 6, 2));
    if (!known_op(op)) return Error(log::cat("page server protocol: unknown op ", op));
    Header h;
    h.op = Op(op);
    h.handle = uint32_t(load(in + 8, 4));
    h.flags = uint32_t(load(in + 12, 4));
    h.offset = load(in + 16, 8);
    h.length = load(in + 24, 8);
    // For read, `length` is what is asked for rather than what follows; the
    // same limit applies, as the answer carries that many bytes.
    if (h.length > kMaxPayload)
        return Error(log::cat("page server protocol: ", op_name(h.op), " of ", h.length,
                              " bytes is over the ", kMaxPayload, "-byte limit"));
    return h;
}

bool valid_pages_name(std::string_view name) {
    constexpr std::string_view prefix = "pages-", suffix = ".img";
    if (name.size() > kMaxName || name.size() <= prefix.size() + suffix.size()) return false;
    if (name.substr(0, prefix.size()) != prefix || name.substr(name.size() - suffix.size()) != suffix)
        return false;
    std::string_view digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
    // One spelling per id: no sign, no leading zeros, and an id that fits
    // the u32 of images::pages_file_name().
    if (digits.size() > 1 && digits[0] == '0') return false;
    uint32_t id = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
    return ec == std::errc() && end == digits.data() + digits.size();
}

const char *op_name(Op op) {
    switch (op) {
        case Op::hello: return "hello";
        case Op::hello_ok: return "hello_ok";
        case Op::error: return "error";
        case Op::open: return "open";
        case Op::opened: return "opened";
        case Op::write: return "write";
        case Op::commit: return "commit";
        case Op::committed: return "committed";
        case Op::stat: return "stat";
        case Op::size: return "size";
        case Op::read: return "read";
        case Op::data: return "data";
        case Op::bye: return "bye";
        case Op::bye_ok: return "bye_ok";
    }
    return "unknown op";
}

}  // namespace stasis::pageserver
