#include "common/proc/limits.h"

#include <charconv>
#include <string>

#include "common/proc/read_file.h"

namespace stasis::proc {
namespace {

// The kernel prints each line as "%-25s %-20s %-20s %-10s" (fs/proc/base.c
// proc_pid_limits): name, soft, hard, units. Names contain spaces, so the
// values are found by column.
constexpr size_t kSoftColumn = 26;
constexpr size_t kHardColumn = 47;
constexpr size_t kValueWidth = 20;

Result<uint64_t> value(std::string_view line, size_t col, int lineno) {
    if (line.size() < col) return Error("line " + std::to_string(lineno) + ": too short");
    std::string_view v = line.substr(col, kValueWidth);
    while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
    if (v == "unlimited") return ~uint64_t(0);
    uint64_t out = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec != std::errc() || p != v.data() + v.size() || v.empty())
        return Error("line " + std::to_string(lineno) + ": bad limit '" + std::string(v) + "'");
    return out;
}

}  // namespace

Result<std::vector<Rlimit>> parse_limits(std::string_view text) {
    std::vector<Rlimit> out;
    int lineno = 0;
    while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        if (++lineno == 1) {
            if (line.rfind("Limit", 0) != 0) return Error("line 1: not a limits header");
            continue;
        }
        if (line.empty()) continue;
        STASIS_ASSIGN(uint64_t soft, value(line, kSoftColumn, lineno));
        STASIS_ASSIGN(uint64_t hard, value(line, kHardColumn, lineno));
        out.push_back({soft, hard});
    }
    if (out.empty()) return Error("no limits");
    return out;
}

Result<std::vector<Rlimit>> read_limits(pid_t pid) {
    STASIS_ASSIGN(std::string text, read_task_file(pid, 0, "limits"));
    return std::move(parse_limits(text)).context(proc_path(pid, "limits"));
}

}  // namespace stasis::proc
