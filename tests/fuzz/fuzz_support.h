// Shared by the fuzz targets and the seed-corpus generator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace stasis::images::fuzz {

// The file names a fuzzed checkpoint directory may hold: the sample
// checkpoint's (tasks 100 and 101) plus a ghost file.
const std::vector<std::string> &checkpoint_file_names();

// One file of a fuzzed directory: its bytes, then zeros up to `size`
// (so that pages files cost the fuzzer 20 bytes, not megabytes).
struct FuzzFile {
    std::string bytes;
    uint64_t size = 0;
};

// A checkpoint directory packed into one fuzz input: a flags byte, then per
// file [u8 index into checkpoint_file_names()][u16 LE length][bytes].
// A pages or ghost file of exactly 20 bytes is compact: its 16-byte header
// and a u32 LE file size. pack_checkpoint() packs raw files that way.
// Flags (for the fuzz target): bit 0 check digests, bit 1 expect x86_64,
// bit 2 expect 4 KiB pages, bit 3 also run `stasis image show`.
std::string pack_checkpoint(const std::map<std::string, std::string> &files, uint8_t flags);

// Unpacks a fuzz input: every file it names, in order (a later copy of a
// name replaces an earlier one), and the flags byte. Never fails: bytes
// left over at the end are ignored.
std::map<std::string, FuzzFile> unpack_checkpoint(std::string_view input, uint8_t *flags);

// Stops the process (so libFuzzer reports a crash) when a property the
// reader promises does not hold.
[[noreturn]] void property_failed(const char *what, const std::string &detail);

}  // namespace stasis::images::fuzz
