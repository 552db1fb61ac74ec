// The on-disk image format: the 16-byte header, the image kinds and their
// versions, file names, and the limits every reader enforces.
// docs/image-format.md is the prose version of this file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/util/result.h"
#include "images/header.pb.h"

namespace google::protobuf {
class Descriptor;
class Message;
}  // namespace google::protobuf

namespace stasis::images {

// The bytes "STAS" at the start of every image file, read as a little-endian u32.
inline constexpr uint32_t kImageMagic = 0x53415453;
inline constexpr size_t kHeaderSize = 16;
// Inventory.format_version of the whole checkpoint.
inline constexpr uint32_t kFormatVersion = 1;

// ---- limits: what a reader accepts before it refuses an image as hostile ----
inline constexpr uint64_t kMaxMessageBytes = 64ull << 20;
inline constexpr uint64_t kMaxImageFileBytes = 256ull << 20;  // protobuf images (not pages)
inline constexpr uint32_t kMinPageSize = 4096;
inline constexpr uint32_t kMaxPageSize = 1u << 20;
inline constexpr int32_t kMaxPid = 1 << 22;                // PID_MAX_LIMIT on 64-bit kernels
inline constexpr uint32_t kMaxTasks = 1u << 20;
inline constexpr uint32_t kMaxThreadsPerTask = 1u << 17;
inline constexpr uint32_t kMaxVmas = 1u << 20;
inline constexpr uint32_t kMaxPagemapEntries = 1u << 22;
inline constexpr uint32_t kMaxFdsPerTask = 1u << 20;
inline constexpr uint32_t kMaxFiles = 1u << 20;
inline constexpr uint32_t kMaxImageFiles = 5 * kMaxTasks + 16;
inline constexpr uint32_t kMaxVdsoAreas = 16;
inline constexpr uint32_t kMaxVdsoSymbols = 1024;
// The largest [vdso] image a dump records (vDSOs are 4-64 KiB).
inline constexpr uint64_t kMaxVdsoImageBytes = 1 << 20;
inline constexpr uint32_t kMaxPendingSignals = 1u << 16;
inline constexpr uint32_t kMaxPosixTimers = 1u << 16;
inline constexpr uint32_t kMaxGroups = 1u << 16;             // NGROUPS_MAX
inline constexpr uint32_t kMaxAuxvWords = 1024;
inline constexpr uint32_t kNumSignals = 64;                  // _NSIG on every supported arch
inline constexpr uint32_t kNumRlimits = 16;                  // RLIM_NLIMITS
inline constexpr size_t kSiginfoSize = 128;                  // sizeof(siginfo_t)
inline constexpr size_t kMaxCommBytes = 15;                  // TASK_COMM_LEN - 1
inline constexpr size_t kMaxPathBytes = 4096;                // PATH_MAX
inline constexpr size_t kMaxBuildIdBytes = 64;
// The highest inotify watch number restored: the restore reaches wd N by
// adding and removing N-1 throwaway watches at worst (~13 us each: 14 s).
inline constexpr int32_t kMaxInotifyWd = 1 << 20;

// The decoded 16-byte header.
struct ImageHeader {
    uint32_t magic = kImageMagic;
    uint32_t kind = 0;
    uint32_t version = 0;
    uint32_t flags = 0;
};

// What the format knows about one image kind.
struct KindInfo {
    ImageKind kind;
    const char *name;         // "mm" (the file name stem)
    uint32_t version;         // the version this stasis writes and the newest it reads
    bool raw;                 // pages/ghost: raw data after a page-size header
    uint32_t max_records;     // records after the head record
    // The *Image message of image_file.proto (nullptr for raw kinds).
    const google::protobuf::Descriptor *file_message;
};

// Known kinds only; nullptr for unknown values.
const KindInfo *kind_info(uint32_t kind);
// "mm", or "kind 42" for unknown values.
std::string kind_name(uint32_t kind);

// "x86_64", "aarch64", ... or "arch 42" for unknown values.
std::string arch_name(uint32_t arch);

// Encodes the header as 16 little-endian bytes.
void encode_header(const ImageHeader &h, char out[kHeaderSize]);
// Checks magic, kind (must be `expected` unless that is IMAGE_KIND_UNSPECIFIED),
// version (known, not newer) and flags (0). Errors do not name the file;
// callers add it as context.
Result<ImageHeader> parse_header(std::string_view bytes, ImageKind expected);

// True for a power of two in [kMinPageSize, kMaxPageSize].
bool valid_page_size(uint64_t page_size);

// File names.
std::string inventory_file_name();
std::string pstree_file_name();
std::string files_file_name();
std::string core_file_name(int32_t pid);
std::string mm_file_name(int32_t pid);
std::string pagemap_file_name(int32_t pid);
std::string fdinfo_file_name(int32_t pid);
std::string vdso_file_name(int32_t pid);
std::string pages_file_name(uint32_t pages_id);
std::string ghost_file_name(uint32_t ghost_id);

// The kind a file name stands for ("mm-12.img" -> IMAGE_MM), or
// IMAGE_KIND_UNSPECIFIED when the name is not an image file name.
ImageKind kind_from_file_name(std::string_view name);

// Makes protobuf's own log lines (e.g. on a record that fails to parse) go to
// the stasis log at debug level instead of stderr. Called by the readers and
// writers; idempotent.
void route_protobuf_logging();

}  // namespace stasis::images
