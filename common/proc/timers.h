// /proc/PID/timers: the POSIX timers of a process (timer_create(2); needs
// CONFIG_CHECKPOINT_RESTORE). Per timer, four lines (fs/proc/base.c,
// documented in man proc(5)):
//   ID: 0
//   signal: 14/00007ffd2a1c3e40      signal number / sigev_value (hex)
//   notify: signal/pid.1234          "signal"|"thread"|"none" / "pid"|"tid" . id
//   ClockID: 1
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/util/result.h"

namespace stasis::proc {

struct PosixTimerInfo {
    int id = 0;
    int signal = 0;
    uint64_t sigev_value = 0;
    std::string notify;             // "signal", "thread" or "none"
    bool notify_thread_id = false;  // "tid." (SIGEV_THREAD_ID) rather than "pid."
    pid_t notify_tid = 0;           // the pid or tid after the '.'
    int clock_id = 0;
};

Result<std::vector<PosixTimerInfo>> parse_timers(std::string_view text);
Result<std::vector<PosixTimerInfo>> read_timers(pid_t pid);

}  // namespace stasis::proc
