// CRC-32C (Castagnoli), the checksum inventory.img records for every
// protobuf image file. Byte-wise, so it is the same on every endianness.
#pragma once

#include <cstddef>
#include <cstdint>

namespace stasis::images {

// Continues a checksum: crc32c_update(0, data, n) starts one.
uint32_t crc32c_update(uint32_t crc, const void *data, size_t len);

}  // namespace stasis::images
