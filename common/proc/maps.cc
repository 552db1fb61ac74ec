#include "common/proc/maps.h"

#include <sys/mman.h>

#include "common/proc/read_file.h"
#include "common/proc/text.h"

namespace stasis::proc {
namespace {

constexpr std::string_view kDeletedSuffix = " (deleted)";

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// Parses "rwxp"-style permissions; false unless exactly [r-][w-][x-][sp].
bool parse_perms(std::string_view perms, Mapping &m) {
    if (perms.size() != 4) return false;
    if ((perms[0] != 'r' && perms[0] != '-') || (perms[1] != 'w' && perms[1] != '-') ||
        (perms[2] != 'x' && perms[2] != '-') || (perms[3] != 's' && perms[3] != 'p')) {
        return false;
    }
    m.prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
             (perms[2] == 'x' ? PROT_EXEC : 0);
    m.shared = perms[3] == 's';
    return true;
}

// Parses one header line "start-end perms offset major:minor inode [path]"
// into m. Returns nullptr or what was wrong.
const char *parse_header(std::string_view line, Mapping &m) {
    std::string_view rest = line;
    std::string_view range = text::next_token(rest);
    size_t dash = range.find('-');
    if (dash == std::string_view::npos || !text::parse_int(range.substr(0, dash), m.start, 16) ||
        !text::parse_int(range.substr(dash + 1), m.end, 16)) {
        return "bad address range";
    }
    if (m.end <= m.start) return "empty or inverted address range";
    if (!parse_perms(text::next_token(rest), m)) return "bad permissions";
    if (!text::parse_int(text::next_token(rest), m.pgoff, 16)) return "bad offset";
    std::string_view dev = text::next_token(rest);
    size_t colon = dev.find(':');
    if (colon == std::string_view::npos || !text::parse_int(dev.substr(0, colon), m.dev_major, 16) ||
        !text::parse_int(dev.substr(colon + 1), m.dev_minor, 16)) {
        return "bad device";
    }
    if (!text::parse_int(text::next_token(rest), m.inode)) return "bad inode";
    // The path is everything after the padding; it may contain spaces and
    // may even end in one, so only the leading blanks go.
    std::string_view path = text::skip_blanks(rest);
    if (path.size() > kDeletedSuffix.size() &&
        path.substr(path.size() - kDeletedSuffix.size()) == kDeletedSuffix) {
        path.remove_suffix(kDeletedSuffix.size());
        m.deleted = true;
    }
    m.path.assign(path);
    return nullptr;
}

// A header starts with "hex-hex"; a smaps field line with "Key:" (no blank
// before the colon). Returns the colon's position, or npos for a header.
size_t field_key_length(std::string_view line) {
    for (size_t i = 0; i < line.size(); ++i) {
        char c = line[i];
        if (c == ':') return i;
        if (c == '-' || text::is_blank(c)) return std::string_view::npos;
    }
    return std::string_view::npos;
}

// Appends the mapping of header `line`, checking the ascending order the
// kernel guarantees.
Status add_mapping(std::vector<Mapping> &out, std::string_view line, size_t line_number) {
    Mapping m;
    if (const char *what = parse_header(line, m)) return text::line_error(line_number, what, line);
    if (!out.empty() && m.start < out.back().end) {
        return text::line_error(line_number, "mapping overlaps or precedes the previous one", line);
    }
    out.push_back(std::move(m));
    return ok();
}

// Applies one "Key: value" line of smaps to the mapping it follows; the
// key is line[0, key_length). Most keys are not needed and cost one compare.
Status apply_smaps_field(Mapping &m, std::string_view line, size_t key_length, size_t line_number) {
    std::string_view key = line.substr(0, key_length);
    std::string_view value = line.substr(key_length + 1);
    uint64_t *target = nullptr;
    if (key == "Rss") {
        target = &m.rss;
    } else if (key == "Anonymous") {
        target = &m.anonymous;
    } else if (key == "Swap") {
        target = &m.swap;
    } else if (key == "VmFlags") {
        value = text::trim(value);
        m.vm_flags_text.assign(value);
        m.vm_flags = parse_vm_flags(value);
        return ok();
    } else {
        return ok();  // other fields (Pss, Locked, THPeligible, ...) are not needed
    }
    std::string_view number = text::next_token(value);
    std::string_view unit = text::next_token(value);
    if (!text::parse_int(number, *target) || (unit != "kB" && !unit.empty()) || !text::trim(value).empty()) {
        return text::line_error(line_number, "bad size field", line);
    }
    return ok();
}

// Parses maps (or smaps) text a line at a time, as parse_maps/parse_smaps
// describe; the readers feed it lines as they arrive.
class MappingsParser {
  public:
    explicit MappingsParser(bool smaps) : smaps_(smaps) {}

    Status line(std::string_view line) {
        ++number_;
        size_t key_length = smaps_ ? field_key_length(line) : std::string_view::npos;
        if (key_length == std::string_view::npos) return add_mapping(out_, line, number_);
        if (out_.empty()) return text::line_error(number_, "field before any mapping header", line);
        return apply_smaps_field(out_.back(), line, key_length, number_);
    }
    std::vector<Mapping> take() { return std::move(out_); }

  private:
    bool smaps_;
    size_t number_ = 0;
    std::vector<Mapping> out_;
};

Result<std::vector<Mapping>> parse_text(std::string_view text, bool smaps) {
    MappingsParser parser(smaps);
    text::LineCursor lines(text);
    std::string_view line;
    while (lines.next(line)) STASIS_TRY(parser.line(line));
    return parser.take();
}

Result<std::vector<Mapping>> read_and_parse(pid_t pid, pid_t tid, std::string_view leaf, bool smaps) {
    MappingsParser parser(smaps);
    STASIS_TRY(read_task_file_lines(pid, tid, leaf, [&](std::string_view line) { return parser.line(line); }));
    return parser.take();
}

}  // namespace

bool Mapping::is_stack() const { return path == "[stack]" || starts_with(path, "[stack:"); }

bool Mapping::is_named_anonymous() const {
    return (starts_with(path, "[anon:") || starts_with(path, "[anon_shmem:")) && path.back() == ']';
}

std::string_view Mapping::anonymous_name() const {
    if (!is_named_anonymous()) return {};
    std::string_view p = path;
    size_t colon = p.find(':');
    return p.substr(colon + 1, p.size() - colon - 2);
}

bool Mapping::is_special() const {
    if (path.size() < 2 || path.front() != '[' || path.back() != ']') return false;
    return !is_heap() && !is_stack() && !is_named_anonymous();
}

bool Mapping::is_memfd() const { return starts_with(path, "/memfd:"); }

Result<std::vector<Mapping>> parse_maps(std::string_view text) { return parse_text(text, false); }

Result<std::vector<Mapping>> parse_smaps(std::string_view text) { return parse_text(text, true); }

Result<std::vector<Mapping>> read_maps(pid_t pid, pid_t tid) { return read_and_parse(pid, tid, "maps", false); }

Result<std::vector<Mapping>> read_smaps(pid_t pid, pid_t tid) { return read_and_parse(pid, tid, "smaps", true); }

}  // namespace stasis::proc
