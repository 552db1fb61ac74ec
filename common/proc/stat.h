// /proc/PID/stat and /proc/PID/task/TID/stat (man proc(5), "/proc/pid/stat").
//
// One line: "pid (comm) state ppid ...", 52 fields on every kernel since
// 3.5. comm is printed raw, so it may contain blanks, ')' and even a newline;
// it is whatever lies between the first '(' and the LAST ')'.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/util/result.h"

namespace stasis::proc {

struct TaskStat {
    pid_t pid = 0;            // (1)
    std::string comm;         // (2) without the parentheses
    char state = 0;           // (3) R S D T t Z X I ...
    pid_t ppid = 0;           // (4)
    pid_t pgrp = 0;           // (5)
    pid_t session = 0;        // (6)
    int tty_nr = 0;           // (7)
    pid_t tpgid = 0;          // (8) foreground process group of the tty, -1 if none
    uint32_t flags = 0;       // (9) PF_* task flags
    int64_t priority = 0;     // (18)
    int64_t nice = 0;         // (19)
    int64_t num_threads = 0;  // (20)
    uint64_t start_time = 0;  // (22) clock ticks after boot
    uint64_t rsslim = 0;      // (25)
    // (26..28, 45..51) memory layout; the kernel shows 0 unless the reader
    // may ptrace the task, and for a task without mm (kernel threads, zombies).
    uint64_t start_code = 0;
    uint64_t end_code = 0;
    uint64_t start_stack = 0;
    int exit_signal = 0;  // (38)
    uint64_t start_data = 0;
    uint64_t end_data = 0;
    uint64_t start_brk = 0;
    uint64_t arg_start = 0;
    uint64_t arg_end = 0;
    uint64_t env_start = 0;
    uint64_t env_end = 0;
    int exit_code = 0;  // (52) as waitpid reports it
};

Result<TaskStat> parse_stat(std::string_view text);
// tid 0: /proc/PID/stat; else /proc/PID/task/TID/stat.
Result<TaskStat> read_stat(pid_t pid, pid_t tid = 0);

}  // namespace stasis::proc
