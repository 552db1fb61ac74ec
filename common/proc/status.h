// /proc/PID/status and /proc/PID/task/TID/status (man proc(5),
// Documentation/filesystems/proc.rst table 1-2): "Key:\tvalue" lines.
//
// Keys that appeared in later kernels are std::optional (absent on older
// ones); keys this parser does not know are ignored. Name, State, Tgid, Pid,
// PPid, Uid and Gid are present on every kernel and required.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/util/result.h"

namespace stasis::proc {

struct TaskStatus {
    std::string name;               // "Name:", unescaped (the kernel escapes '\n' and '\\')
    std::optional<uint32_t> umask;  // 4.7+
    char state = 0;                 // first character of "State:", e.g. 'S' of "S (sleeping)"
    pid_t tgid = 0;
    pid_t pid = 0;
    pid_t ppid = 0;
    pid_t tracer_pid = 0;
    std::array<uint32_t, 4> uid{};  // real, effective, saved, filesystem
    std::array<uint32_t, 4> gid{};
    std::vector<uint32_t> groups;  // supplementary groups
    // Ids in each nested pid namespace, outermost first (4.1+); the last is
    // the id as the task itself sees it.
    std::vector<pid_t> ns_tgid;
    std::vector<pid_t> ns_pid;
    std::vector<pid_t> ns_pgid;
    std::vector<pid_t> ns_sid;
    std::optional<bool> kernel_thread;  // "Kthread:" (6.5+)
    int64_t threads = 0;
    uint64_t sigq_queued = 0;  // "SigQ: queued/limit"
    uint64_t sigq_limit = 0;
    uint64_t sig_pending = 0;         // SigPnd: this thread's pending signals (bit n-1 = signal n)
    uint64_t shared_sig_pending = 0;  // ShdPnd: process-wide pending
    uint64_t sig_blocked = 0;
    uint64_t sig_ignored = 0;
    uint64_t sig_caught = 0;
    uint64_t cap_inheritable = 0;
    uint64_t cap_permitted = 0;
    uint64_t cap_effective = 0;
    uint64_t cap_bounding = 0;
    std::optional<uint64_t> cap_ambient;      // 4.3+
    std::optional<bool> no_new_privs;         // 4.10+
    std::optional<int> seccomp;               // 0 disabled, 1 strict, 2 filter (CONFIG_SECCOMP)
    std::optional<int> seccomp_filters;       // 5.9+
    std::optional<bool> core_dumping;         // 4.15+
    std::optional<bool> thp_enabled;          // 5.0+
    std::string speculation_store_bypass;     // text as shown, "" if absent
    std::string speculation_indirect_branch;  // text as shown, "" if absent
};

Result<TaskStatus> parse_status(std::string_view text);
// tid 0: /proc/PID/status; else /proc/PID/task/TID/status.
Result<TaskStatus> read_status(pid_t pid, pid_t tid = 0);

}  // namespace stasis::proc
