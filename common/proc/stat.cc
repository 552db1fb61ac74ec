#include "common/proc/stat.h"

#include <array>

#include "common/proc/read_file.h"
#include "common/proc/text.h"

namespace stasis::proc {
namespace {

// Fields 1..52 of proc(5); anything a newer kernel appends is ignored.
constexpr size_t kFieldCount = 52;

struct StatFields {
    std::array<std::string_view, kFieldCount + 1> at{};  // 1-based, as proc(5) numbers them

    // Parses field `n` into out; on failure records which field was bad.
    template <typename T>
    bool get(size_t n, T &out, const char *name) {
        if (text::parse_int(at[n], out)) return true;
        if (!bad_field) {
            bad_field = name;
            bad_text = at[n];
        }
        return false;
    }
    const char *bad_field = nullptr;
    std::string_view bad_text;
};

Error stat_error(std::string what, std::string_view shown) {
    what += ' ';
    what += text::quote(shown);
    return Error(std::move(what), EINVAL);
}

void parse_numbers(StatFields &f, TaskStat &s) {
    f.get(4, s.ppid, "ppid");
    f.get(5, s.pgrp, "pgrp");
    f.get(6, s.session, "session");
    f.get(7, s.tty_nr, "tty_nr");
    f.get(8, s.tpgid, "tpgid");
    f.get(9, s.flags, "flags");
    f.get(18, s.priority, "priority");
    f.get(19, s.nice, "nice");
    f.get(20, s.num_threads, "num_threads");
    f.get(22, s.start_time, "starttime");
    f.get(25, s.rsslim, "rsslim");
    f.get(26, s.start_code, "startcode");
    f.get(27, s.end_code, "endcode");
    f.get(28, s.start_stack, "startstack");
    f.get(38, s.exit_signal, "exit_signal");
    f.get(45, s.start_data, "start_data");
    f.get(46, s.end_data, "end_data");
    f.get(47, s.start_brk, "start_brk");
    f.get(48, s.arg_start, "arg_start");
    f.get(49, s.arg_end, "arg_end");
    f.get(50, s.env_start, "env_start");
    f.get(51, s.env_end, "env_end");
    f.get(52, s.exit_code, "exit_code");
}

}  // namespace

Result<TaskStat> parse_stat(std::string_view text) {
    TaskStat s;
    size_t open = text.find('(');
    size_t close = text.rfind(')');
    if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
        return stat_error("no '(comm)' in", text);
    }
    if (!text::parse_int(text::trim(text.substr(0, open)), s.pid) || s.pid <= 0) {
        return stat_error("bad pid", text.substr(0, open));
    }
    s.comm.assign(text.substr(open + 1, close - open - 1));

    StatFields f;
    std::string_view rest = text::trim(text.substr(close + 1));
    size_t count = 2;
    while (count < kFieldCount) {
        std::string_view token = text::next_token(rest);
        if (token.empty()) break;
        f.at[++count] = token;
    }
    if (count < kFieldCount) {
        return stat_error(
            "only " + std::to_string(count) + " of " + std::to_string(kFieldCount) + " fields in", text);
    }
    if (f.at[3].size() != 1) return stat_error("bad state", f.at[3]);
    s.state = f.at[3][0];
    parse_numbers(f, s);
    if (f.bad_field) return stat_error(std::string("bad ") + f.bad_field, f.bad_text);
    return s;
}

Result<TaskStat> read_stat(pid_t pid, pid_t tid) {
    std::string buf;
    STASIS_TRY(read_task_file_into(pid, tid, "stat", buf));
    return parse_stat(buf).context(tid ? task_path(pid, tid, "stat") : proc_path(pid, "stat"));
}

}  // namespace stasis::proc
