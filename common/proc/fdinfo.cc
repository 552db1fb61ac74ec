#include "common/proc/fdinfo.h"

#include <dirent.h>

#include <algorithm>
#include <cerrno>

#include "common/proc/read_file.h"
#include "common/proc/text.h"

namespace stasis::proc {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// Kinds that print one line per item (epoll targets, watches, marks, locks).
bool is_entry_line(std::string_view line) {
    return starts_with(line, "tfd:") || starts_with(line, "inotify ") || starts_with(line, "fanotify ") ||
           starts_with(line, "lock:");
}

enum Seen : unsigned { kPos = 1, kFlags = 2, kMntId = 4, kAllRequired = 7 };

// Parses one of the common leading fields; false if `key` is not one.
bool parse_common_field(std::string_view key, std::string_view value, FdInfo &info, unsigned &seen,
                        bool &bad) {
    if (key == "pos") {
        int64_t pos = 0;
        bad = !text::parse_int(value, pos);
        info.pos = static_cast<uint64_t>(pos);
        seen |= kPos;
    } else if (key == "flags") {
        bad = !text::parse_int(value, info.flags, 8);
        seen |= kFlags;
    } else if (key == "mnt_id") {
        bad = !text::parse_int(value, info.mnt_id) || info.mnt_id < 0;
        seen |= kMntId;
    } else if (key == "ino") {
        bad = !text::parse_int(value, info.ino);
    } else {
        return false;
    }
    return true;
}

}  // namespace

std::string_view FdInfo::get(std::string_view key) const {
    auto it = extra.find(key);
    return it == extra.end() ? std::string_view() : std::string_view(it->second);
}

Result<FdInfo> parse_fdinfo(std::string_view text) {
    FdInfo info;
    unsigned seen = 0;
    text::LineCursor lines(text);
    std::string_view line;
    while (lines.next(line)) {
        std::string_view trimmed = text::trim(line);
        if (trimmed.empty()) continue;
        if (is_entry_line(trimmed)) {
            info.entries.emplace_back(trimmed);
            continue;
        }
        std::string_view key, value;
        if (!text::split_key_value(trimmed, key, value) || key.empty()) {
            return text::line_error(lines.line_number(), "expected 'key: value', got", line);
        }
        bool bad = false;
        if (parse_common_field(key, value, info, seen, bad)) {
            if (bad)
                return text::line_error(lines.line_number(), "bad " + std::string(key) + " value", value);
            continue;
        }
        info.extra[std::string(key)] = std::string(value);
    }
    if (!(seen & kPos)) return Error("missing 'pos:' line", EINVAL);
    if (!(seen & kFlags)) return Error("missing 'flags:' line", EINVAL);
    if (!(seen & kMntId)) return Error("missing 'mnt_id:' line", EINVAL);
    return info;
}

std::vector<std::pair<std::string_view, std::string_view>> split_fdinfo_entry(std::string_view line) {
    std::vector<std::pair<std::string_view, std::string_view>> fields;
    std::string_view rest = text::trim(line);
    // "inotify wd:..." / "fanotify ...": the kind word has no colon; skip it.
    size_t first_blank = rest.find_first_of(" \t");
    size_t first_colon = rest.find(':');
    if (first_blank != std::string_view::npos && first_blank < first_colon) rest.remove_prefix(first_blank);
    for (;;) {
        rest = text::skip_blanks(rest);
        size_t colon = rest.find(':');
        if (rest.empty() || colon == std::string_view::npos) break;
        std::string_view name = rest.substr(0, colon);
        rest.remove_prefix(colon + 1);
        // "tfd:        5": the value may be separated from its name by blanks.
        std::string_view value = text::next_token(rest);
        if (name.find_first_of(" \t") != std::string_view::npos) break;  // not a name:value field
        fields.emplace_back(name, value);
    }
    return fields;
}

Result<FdInfo> read_fdinfo(pid_t pid, int fd) {
    std::string leaf = "fdinfo/" + std::to_string(fd);
    std::string buf;
    STASIS_TRY(read_task_file_into(pid, 0, leaf, buf));
    return parse_fdinfo(buf).context(proc_path(pid, leaf));
}

bool parse_fd_name(std::string_view name, int &fd) {
    if (name.empty() || name.size() > 10 || name.front() == '+') return false;
    return text::parse_int(name, fd) && fd >= 0;
}

Result<std::vector<int>> list_fds(pid_t pid) {
    std::string path = proc_path(pid, "fd");
    DIR *dir = ::opendir(path.c_str());
    if (!dir) return task_file_error(pid, 0, path, "opendir", errno);
    std::vector<int> fds;
    Status status;
    for (;;) {
        errno = 0;
        struct dirent *entry = ::readdir(dir);
        if (!entry) {
            if (errno) status = task_file_error(pid, 0, path, "readdir", errno);
            break;
        }
        std::string_view name = entry->d_name;
        if (name == "." || name == "..") continue;
        int fd = -1;
        if (!parse_fd_name(name, fd)) {
            status = Error("unexpected entry " + text::quote(name), EINVAL).context(path);
            break;
        }
        fds.push_back(fd);
    }
    ::closedir(dir);
    if (!status.ok()) return std::move(status).error();
    std::sort(fds.begin(), fds.end());
    return fds;
}

Result<std::string> read_fd_link(pid_t pid, int fd) {
    std::string path = proc_path(pid, "fd/" + std::to_string(fd));
    auto target = read_link(path);
    if (!target.ok()) return task_file_error(pid, 0, path, "readlink", target.error().sys_errno());
    return target;
}

}  // namespace stasis::proc
