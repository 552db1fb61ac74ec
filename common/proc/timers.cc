#include "common/proc/timers.h"

#include "common/proc/read_file.h"
#include "common/proc/text.h"

namespace stasis::proc {
namespace {

// "14/00007ffd2a1c3e40"
bool parse_signal(std::string_view value, PosixTimerInfo &t) {
    size_t slash = value.find('/');
    return slash != std::string_view::npos && text::parse_int(value.substr(0, slash), t.signal) &&
           text::parse_hex(value.substr(slash + 1), t.sigev_value);
}

// "signal/pid.1234", "none/tid.1240"
bool parse_notify(std::string_view value, PosixTimerInfo &t) {
    size_t slash = value.find('/');
    if (slash == std::string_view::npos) return false;
    std::string_view how = value.substr(0, slash);
    if (how != "signal" && how != "thread" && how != "none") return false;
    std::string_view target = value.substr(slash + 1);
    if (target.size() < 4 || target[3] != '.') return false;
    std::string_view kind = target.substr(0, 3);
    if (kind != "pid" && kind != "tid") return false;
    t.notify.assign(how);
    t.notify_thread_id = kind == "tid";
    return text::parse_int(target.substr(4), t.notify_tid);
}

}  // namespace

Result<std::vector<PosixTimerInfo>> parse_timers(std::string_view text) {
    std::vector<PosixTimerInfo> timers;
    // Which of the four lines the current timer still expects, in order.
    static constexpr std::string_view kOrder[] = {"ID", "signal", "notify", "ClockID"};
    size_t next = 0;
    text::LineCursor lines(text);
    std::string_view line;
    while (lines.next(line)) {
        std::string_view key, value;
        if (!text::split_key_value(line, key, value) || key != kOrder[next]) {
            return text::line_error(lines.line_number(), "expected '" + std::string(kOrder[next]) + ":', got",
                                    line);
        }
        if (next == 0) timers.emplace_back();
        PosixTimerInfo &t = timers.back();
        bool good = next == 0   ? text::parse_int(value, t.id)
                    : next == 1 ? parse_signal(value, t)
                    : next == 2 ? parse_notify(value, t)
                                : text::parse_int(value, t.clock_id);
        if (!good) return text::line_error(lines.line_number(), "bad " + std::string(key) + " value", value);
        next = (next + 1) % std::size(kOrder);
    }
    if (next != 0) return Error("timer " + std::to_string(timers.back().id) + " is cut short", EINVAL);
    return timers;
}

Result<std::vector<PosixTimerInfo>> read_timers(pid_t pid) {
    std::string buf;
    STASIS_TRY(read_task_file_into(pid, 0, "timers", buf));
    return parse_timers(buf).context(proc_path(pid, "timers"));
}

}  // namespace stasis::proc
