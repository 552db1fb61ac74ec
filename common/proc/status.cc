#include "common/proc/status.h"

#include "common/proc/read_file.h"
#include "common/proc/text.h"

namespace stasis::proc {
namespace {

template <typename T>
bool parse_list(std::string_view value, std::vector<T> &out) {
    out.clear();
    for (;;) {
        std::string_view token = text::next_token(value);
        if (token.empty()) return true;
        T v{};
        if (!text::parse_int(token, v)) return false;
        out.push_back(v);
    }
}

bool parse_ids(std::string_view value, std::array<uint32_t, 4> &out) {
    std::vector<uint32_t> ids;
    if (!parse_list(value, ids) || ids.size() != out.size()) return false;
    std::copy(ids.begin(), ids.end(), out.begin());
    return true;
}

template <typename T>
bool parse_optional(std::string_view value, std::optional<T> &out, int base = 10) {
    T v{};
    if (!text::parse_int(value, v, base)) return false;
    out = v;
    return true;
}

bool parse_flag(std::string_view value, std::optional<bool> &out) {
    if (value != "0" && value != "1") return false;
    out = value == "1";
    return true;
}

bool parse_sigq(std::string_view value, TaskStatus &s) {
    size_t slash = value.find('/');
    return slash != std::string_view::npos && text::parse_int(value.substr(0, slash), s.sigq_queued) &&
           text::parse_int(value.substr(slash + 1), s.sigq_limit);
}

enum Required : unsigned {
    kName = 1u << 0,
    kState = 1u << 1,
    kTgid = 1u << 2,
    kPid = 1u << 3,
    kPPid = 1u << 4,
    kUid = 1u << 5,
    kGid = 1u << 6,
    kAllRequired = (1u << 7) - 1,
};

struct KeyHandler {
    std::string_view key;
    unsigned required_bit;
    bool (*parse)(std::string_view value, TaskStatus &s);
};

// One handler per known key; a lambda per row keeps key and parsing together.
const KeyHandler kHandlers[] = {
    {"Name", kName,
     [](std::string_view v, TaskStatus &s) { return s.name = text::unescape_task_name(v), true; }},
    {"Umask", 0, [](std::string_view v, TaskStatus &s) { return parse_optional(v, s.umask, 8); }},
    {"State", kState, [](std::string_view v, TaskStatus &s) { return !v.empty() && (s.state = v[0], true); }},
    {"Tgid", kTgid, [](std::string_view v, TaskStatus &s) { return text::parse_int(v, s.tgid); }},
    {"Pid", kPid, [](std::string_view v, TaskStatus &s) { return text::parse_int(v, s.pid); }},
    {"PPid", kPPid, [](std::string_view v, TaskStatus &s) { return text::parse_int(v, s.ppid); }},
    {"TracerPid", 0, [](std::string_view v, TaskStatus &s) { return text::parse_int(v, s.tracer_pid); }},
    {"Uid", kUid, [](std::string_view v, TaskStatus &s) { return parse_ids(v, s.uid); }},
    {"Gid", kGid, [](std::string_view v, TaskStatus &s) { return parse_ids(v, s.gid); }},
    {"Groups", 0, [](std::string_view v, TaskStatus &s) { return parse_list(v, s.groups); }},
    {"NStgid", 0,
     [](std::string_view v, TaskStatus &s) { return parse_list(v, s.ns_tgid) && !s.ns_tgid.empty(); }},
    {"NSpid", 0,
     [](std::string_view v, TaskStatus &s) { return parse_list(v, s.ns_pid) && !s.ns_pid.empty(); }},
    {"NSpgid", 0,
     [](std::string_view v, TaskStatus &s) { return parse_list(v, s.ns_pgid) && !s.ns_pgid.empty(); }},
    {"NSsid", 0,
     [](std::string_view v, TaskStatus &s) { return parse_list(v, s.ns_sid) && !s.ns_sid.empty(); }},
    {"Kthread", 0, [](std::string_view v, TaskStatus &s) { return parse_flag(v, s.kernel_thread); }},
    {"Threads", 0, [](std::string_view v, TaskStatus &s) { return text::parse_int(v, s.threads); }},
    {"SigQ", 0, [](std::string_view v, TaskStatus &s) { return parse_sigq(v, s); }},
    {"SigPnd", 0, [](std::string_view v, TaskStatus &s) { return text::parse_int(v, s.sig_pending, 16); }},
    {"ShdPnd", 0,
     [](std::string_view v, TaskStatus &s) { return text::parse_int(v, s.shared_sig_pending, 16); }},
    {"SigBlk", 0, [](std::string_view v, TaskStatus &s) { return text::parse_int(v, s.sig_blocked, 16); }},
    {"SigIgn", 0, [](std::string_view v, TaskStatus &s) { return text::parse_int(v, s.sig_ignored, 16); }},
    {"SigCgt", 0, [](std::string_view v, TaskStatus &s) { return text::parse_int(v, s.sig_caught, 16); }},
    {"CapInh", 0,
     [](std::string_view v, TaskStatus &s) { return text::parse_int(v, s.cap_inheritable, 16); }},
    {"CapPrm", 0, [](std::string_view v, TaskStatus &s) { return text::parse_int(v, s.cap_permitted, 16); }},
    {"CapEff", 0, [](std::string_view v, TaskStatus &s) { return text::parse_int(v, s.cap_effective, 16); }},
    {"CapBnd", 0, [](std::string_view v, TaskStatus &s) { return text::parse_int(v, s.cap_bounding, 16); }},
    {"CapAmb", 0, [](std::string_view v, TaskStatus &s) { return parse_optional(v, s.cap_ambient, 16); }},
    {"NoNewPrivs", 0, [](std::string_view v, TaskStatus &s) { return parse_flag(v, s.no_new_privs); }},
    {"Seccomp", 0, [](std::string_view v, TaskStatus &s) { return parse_optional(v, s.seccomp); }},
    {"Seccomp_filters", 0,
     [](std::string_view v, TaskStatus &s) { return parse_optional(v, s.seccomp_filters); }},
    {"CoreDumping", 0, [](std::string_view v, TaskStatus &s) { return parse_flag(v, s.core_dumping); }},
    {"THP_enabled", 0, [](std::string_view v, TaskStatus &s) { return parse_flag(v, s.thp_enabled); }},
    {"Speculation_Store_Bypass", 0,
     [](std::string_view v, TaskStatus &s) { return s.speculation_store_bypass = v, true; }},
    {"SpeculationIndirectBranch", 0,
     [](std::string_view v, TaskStatus &s) { return s.speculation_indirect_branch = v, true; }},
};

const KeyHandler *find_handler(std::string_view key) {
    for (const auto &h : kHandlers) {
        if (h.key == key) return &h;
    }
    return nullptr;
}

}  // namespace

Result<TaskStatus> parse_status(std::string_view text) {
    TaskStatus s;
    unsigned seen = 0;
    text::LineCursor lines(text);
    std::string_view line;
    while (lines.next(line)) {
        std::string_view key, value;
        if (!text::split_key_value(line, key, value)) {
            return text::line_error(lines.line_number(), "expected 'Key: value', got", line);
        }
        const KeyHandler *h = find_handler(key);
        if (!h) continue;
        // "Name:\t<name>": the name itself may begin or end with blanks.
        if (key == "Name") {
            value = line.substr(key.size() + 1);
            if (!value.empty() && value.front() == '\t') value.remove_prefix(1);
        }
        if (!h->parse(value, s)) {
            return text::line_error(lines.line_number(), "bad " + std::string(key) + " value", value);
        }
        seen |= h->required_bit;
    }
    if (seen != kAllRequired) {
        for (const auto &h : kHandlers) {
            if (h.required_bit && !(seen & h.required_bit)) {
                return Error("missing '" + std::string(h.key) + ":' line", EINVAL);
            }
        }
    }
    return s;
}

Result<TaskStatus> read_status(pid_t pid, pid_t tid) {
    std::string buf;
    STASIS_TRY(read_task_file_into(pid, tid, "status", buf));
    return parse_status(buf).context(tid ? task_path(pid, tid, "status") : proc_path(pid, "status"));
}

}  // namespace stasis::proc
