#include "common/images/format.h"

#include <google/protobuf/stubs/logging.h>

#include <array>
#include <charconv>
#include <mutex>

#include "common/images/image_file.pb.h"
#include "common/util/log.h"

namespace stasis::images {
namespace {

uint32_t load_le32(const char *p) {
    auto b = reinterpret_cast<const unsigned char *>(p);
    return uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
}

void store_le32(char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = char((v >> (8 * i)) & 0xff);
}

const std::array<KindInfo, 10> &all_kinds() {
    static const std::array<KindInfo, 10> kinds = {{
        {IMAGE_INVENTORY, "inventory", 1, false, 0, InventoryImage::descriptor()},
        {IMAGE_PSTREE, "pstree", 1, false, kMaxTasks, PstreeImage::descriptor()},
        {IMAGE_CORE, "core", 1, false, kMaxThreadsPerTask, CoreImage::descriptor()},
        {IMAGE_MM, "mm", 1, false, kMaxVmas, MmImage::descriptor()},
        {IMAGE_PAGEMAP, "pagemap", 1, false, kMaxPagemapEntries, PagemapImage::descriptor()},
        {IMAGE_PAGES, "pages", 1, true, 0, nullptr},
        {IMAGE_FDINFO, "fdinfo", 1, false, kMaxFdsPerTask, FdinfoImage::descriptor()},
        {IMAGE_FILES, "files", 1, false, kMaxFiles, FilesImage::descriptor()},
        {IMAGE_VDSO, "vdso", 1, false, 0, VdsoImage::descriptor()},
        {IMAGE_GHOST, "ghost", 1, true, 0, nullptr},
    }};
    return kinds;
}

std::string with_number(const char *stem, long long n) { return log::cat(stem, "-", n, ".img"); }

// Parses the decimal in "<stem>-<digits>.img"; false when the name has another shape.
bool numbered_name(std::string_view name, std::string_view stem) {
    if (name.size() <= stem.size() + 5 || name.substr(0, stem.size()) != stem || name[stem.size()] != '-')
        return false;
    if (name.substr(name.size() - 4) != ".img") return false;
    std::string_view digits = name.substr(stem.size() + 1, name.size() - stem.size() - 5);
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    return ec == std::errc() && end == digits.data() + digits.size();
}

}  // namespace

const KindInfo *kind_info(uint32_t kind) {
    for (const auto &k : all_kinds())
        if (uint32_t(k.kind) == kind) return &k;
    return nullptr;
}

std::string kind_name(uint32_t kind) {
    const KindInfo *k = kind_info(kind);
    return k ? std::string(k->name) : log::cat("kind ", kind);
}

std::string arch_name(uint32_t arch) {
    switch (arch) {
        case ARCH_X86_64: return "x86_64";
        case ARCH_AARCH64: return "aarch64";
        case ARCH_ARM: return "arm";
        case ARCH_PPC64LE: return "ppc64le";
        case ARCH_S390X: return "s390x";
        default: return log::cat("arch ", arch);
    }
}

void encode_header(const ImageHeader &h, char out[kHeaderSize]) {
    store_le32(out, h.magic);
    store_le32(out + 4, h.kind);
    store_le32(out + 8, h.version);
    store_le32(out + 12, h.flags);
}

Result<ImageHeader> parse_header(std::string_view bytes, ImageKind expected) {
    if (bytes.size() < kHeaderSize)
        return Error(log::cat("truncated header: ", bytes.size(), " of ", kHeaderSize, " bytes"));
    ImageHeader h;
    h.magic = load_le32(bytes.data());
    h.kind = load_le32(bytes.data() + 4);
    h.version = load_le32(bytes.data() + 8);
    h.flags = load_le32(bytes.data() + 12);
    if (h.magic != kImageMagic)
        return Error(log::cat("bad magic ", log::hex(h.magic), " (not a stasis image; expected ",
                              log::hex(kImageMagic), ")"));
    const KindInfo *info = kind_info(h.kind);
    if (!info) return Error(log::cat("unknown image kind ", h.kind, " (written by a newer stasis?)"));
    if (expected != IMAGE_KIND_UNSPECIFIED && h.kind != uint32_t(expected))
        return Error(log::cat("wrong image kind: ", kind_name(h.kind), " where ", kind_name(expected),
                              " was expected"));
    if (h.version == 0) return Error(log::cat("invalid ", info->name, " image version 0"));
    if (h.version > info->version)
        return Error(log::cat(info->name, " image version ", h.version, " is newer than this stasis reads (",
                              info->version, ")"));
    if (h.flags != 0) return Error(log::cat("unknown header flags ", log::hex(h.flags)));
    return h;
}

bool valid_page_size(uint64_t page_size) {
    return page_size >= kMinPageSize && page_size <= kMaxPageSize && (page_size & (page_size - 1)) == 0;
}

std::string inventory_file_name() { return "inventory.img"; }
std::string pstree_file_name() { return "pstree.img"; }
std::string files_file_name() { return "files.img"; }
std::string core_file_name(int32_t pid) { return with_number("core", pid); }
std::string mm_file_name(int32_t pid) { return with_number("mm", pid); }
std::string pagemap_file_name(int32_t pid) { return with_number("pagemap", pid); }
std::string fdinfo_file_name(int32_t pid) { return with_number("fdinfo", pid); }
std::string vdso_file_name(int32_t pid) { return with_number("vdso", pid); }
std::string pages_file_name(uint32_t pages_id) { return with_number("pages", pages_id); }
std::string ghost_file_name(uint32_t ghost_id) { return with_number("ghost", ghost_id); }

ImageKind kind_from_file_name(std::string_view name) {
    if (name == inventory_file_name()) return IMAGE_INVENTORY;
    if (name == pstree_file_name()) return IMAGE_PSTREE;
    if (name == files_file_name()) return IMAGE_FILES;
    for (const auto &k : all_kinds()) {
        bool numbered = k.kind != IMAGE_INVENTORY && k.kind != IMAGE_PSTREE && k.kind != IMAGE_FILES;
        if (numbered && numbered_name(name, k.name)) return k.kind;
    }
    return IMAGE_KIND_UNSPECIFIED;
}

void route_protobuf_logging() {
    static std::once_flag once;
    std::call_once(once, [] {
        google::protobuf::SetLogHandler([](google::protobuf::LogLevel, const char *file, int line,
                                           const std::string &message) {
            log::debug("protobuf (", file, ":", line, "): ", message);
        });
    });
}

}  // namespace stasis::images
