#include "common/images/json.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <vector>

#include "common/images/file_io.h"
#include "common/images/format.h"
#include "common/images/image_codec.h"
#include "common/util/log.h"

namespace stasis::images {
namespace {

// protobuf's JSON errors come with a second line pointing into the input;
// stasis reports errors as one line.
std::string first_line(google::protobuf::StringPiece message) {
    std::string s = message.as_string();
    return s.substr(0, s.find('\n'));
}

Result<std::string> message_to_json(const google::protobuf::Message &m, bool pretty) {
    google::protobuf::util::JsonPrintOptions options;
    options.add_whitespace = pretty;
    options.preserve_proto_field_names = true;
    std::string out;
    auto status = google::protobuf::util::MessageToJsonString(m, &out, options);
    if (!status.ok()) return Error(log::cat("to JSON: ", first_line(status.message())));
    if (pretty && !out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

// The summary of a raw image: it is data, not records.
Result<std::string> raw_summary_json(const ImageHeader &h, uint64_t file_size, uint32_t page_size, bool pretty) {
    RawImageSummary s;
    s.set_kind(ImageKind(h.kind));
    s.set_version(h.version);
    s.set_flags(h.flags);
    s.set_file_size(file_size);
    if (valid_page_size(page_size) && file_size >= page_size) {
        s.set_data_offset(page_size);
        s.set_data_size(file_size - page_size);
        if (h.kind == IMAGE_PAGES) s.set_pages(s.data_size() / page_size);
    }
    return message_to_json(s, pretty);
}

// The page size recorded in dir's inventory.img, or 0.
uint32_t page_size_from_inventory(int dirfd) {
    auto bytes = read_regular_file(dirfd, inventory_file_name(), kMaxImageFileBytes);
    if (!bytes.ok()) return 0;
    auto inventory = parse_image_file_as<InventoryImage>(*bytes);
    if (!inventory.ok() || !valid_page_size(inventory->inventory().page_size())) return 0;
    return inventory->inventory().page_size();
}

// Decodes `name` in `dirfd`; raw images are read no further than their header.
Result<std::string> file_at_to_json(int dirfd, const std::string &name, uint32_t page_size, bool pretty) {
    Fd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
    if (!fd.valid()) return Error::from_errno(name);
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return Error::from_errno(log::cat(name, ": fstat"));
    if (!S_ISREG(st.st_mode)) return Error(log::cat(name, ": not a regular file"));
    char header[kHeaderSize];
    ssize_t n = ::pread(fd.get(), header, sizeof header, 0);
    if (n < 0) return Error::from_errno(log::cat(name, ": read"));
    STASIS_ASSIGN(ImageHeader h, std::move(parse_header(std::string_view(header, size_t(n)), IMAGE_KIND_UNSPECIFIED))
                                     .context(name));
    if (kind_info(h.kind)->raw) return raw_summary_json(h, uint64_t(st.st_size), page_size, pretty);
    STASIS_ASSIGN(std::string bytes, read_regular_file(dirfd, name, kMaxImageFileBytes));
    return std::move(image_to_json(bytes, page_size, pretty)).context(name);
}

// Indents every line but the first by `pad`, to nest pretty JSON in JSON.
// Safe because JSON strings cannot hold a raw newline.
std::string indent(const std::string &json, const std::string &pad) {
    std::string out;
    for (char c : json) {
        out += c;
        if (c == '\n') out += pad;
    }
    return out;
}

// Image file names in dir, sorted. Only names of the image patterns count:
// they need no JSON escaping, and temporary files are never among them.
Result<std::vector<std::string>> image_names(int dirfd) {
    Fd own(::fcntl(dirfd, F_DUPFD_CLOEXEC, 0));
    if (!own.valid()) return Error::from_errno("dup");
    DIR *d = ::fdopendir(own.get());
    if (!d) return Error::from_errno("opendir");
    own.release();
    std::vector<std::string> names;
    while (struct dirent *e = ::readdir(d)) {
        std::string name = e->d_name;
        if (kind_from_file_name(name) != IMAGE_KIND_UNSPECIFIED) names.push_back(std::move(name));
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace

Result<std::string> image_to_json(std::string_view bytes, uint32_t page_size, bool pretty) {
    STASIS_ASSIGN(ImageHeader h, parse_header(bytes, IMAGE_KIND_UNSPECIFIED));
    if (kind_info(h.kind)->raw) return raw_summary_json(h, bytes.size(), page_size, pretty);
    STASIS_ASSIGN(auto file, parse_image_file(bytes, IMAGE_KIND_UNSPECIFIED));
    return message_to_json(*file, pretty);
}

Result<std::string> image_file_to_json(const std::string &path, uint32_t page_size, bool pretty) {
    size_t slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
    std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
    STASIS_ASSIGN(Fd dirfd, open_dir(dir, false));
    if (page_size == 0) page_size = page_size_from_inventory(dirfd.get());
    return file_at_to_json(dirfd.get(), name, page_size, pretty);
}

Result<std::string> image_dir_to_json(const std::string &dir, bool pretty) {
    STASIS_ASSIGN(Fd dirfd, open_dir(dir, false));
    uint32_t page_size = page_size_from_inventory(dirfd.get());
    STASIS_ASSIGN(std::vector<std::string> names, image_names(dirfd.get()));
    std::string out = "{";
    for (size_t i = 0; i < names.size(); i++) {
        STASIS_ASSIGN(std::string json, file_at_to_json(dirfd.get(), names[i], page_size, pretty));
        if (i > 0) out += ",";
        if (pretty) out += "\n ";
        out += "\"" + names[i] + "\":" + (pretty ? " " : "");
        out += pretty ? indent(json, " ") : json;
    }
    out += pretty && !names.empty() ? "\n}" : "}";
    return out;
}

Result<std::string> json_to_image(std::string_view json) {
    route_protobuf_logging();
    // The kind decides which message the JSON is; read it alone first.
    google::protobuf::util::JsonParseOptions lenient;
    lenient.ignore_unknown_fields = true;
    RawImageSummary probe;
    auto status = google::protobuf::util::JsonStringToMessage(json, &probe, lenient);
    if (!status.ok()) return Error(log::cat("JSON: ", first_line(status.message())));
    const KindInfo *info = kind_info(probe.kind());
    if (!info) return Error(log::cat("JSON: \"kind\" ", kind_name(probe.kind()), " is not an image kind"));
    if (info->raw) return Error(log::cat(info->name, " images hold raw data and have no JSON form to encode"));
    std::unique_ptr<google::protobuf::Message> file = new_file_message(probe.kind());
    status = google::protobuf::util::JsonStringToMessage(json, file.get(), google::protobuf::util::JsonParseOptions());
    if (!status.ok()) return Error(log::cat("JSON of a ", info->name, " image: ", first_line(status.message())));
    return serialize_image_file(*file);
}

}  // namespace stasis::images
