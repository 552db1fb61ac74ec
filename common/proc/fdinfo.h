// /proc/PID/fd/ and /proc/PID/fdinfo/N (Documentation/filesystems/proc.rst,
// "3.8 /proc/<pid>/fdinfo/<fd>").
//
// Every fdinfo starts with "pos:", "flags:" (octal), "mnt_id:" and, since
// 5.12, "ino:"; then kind-specific lines:
//   eventfd   "eventfd-count: 5a" (hex), "eventfd-id: 12"
//   signalfd  "sigmask: 0000000000000200"
//   timerfd   "clockid: 0", "ticks: 0", "settime flags: 01",
//             "it_value: (0, 49406829)", "it_interval: (1, 0)"
//   pidfd     "Pid: 1234", "NSpid: 1234"
//   epoll     one "tfd: 5 events: 1d data: ... pos:0 ino:61af sdev:7" per target
//   inotify   one "inotify wd:3 ino:9e7e sdev:800013 mask:800afce ..." per watch
//   fanotify  "fanotify flags:10 event-flags:0" and one "fanotify ..." per mark
//   locks     one "lock: 1: FLOCK ADVISORY WRITE ..." per lock
// Single lines land in `extra` (key without ':', value trimmed); the kinds
// that repeat keep their raw lines, in order, in `entries`.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/util/result.h"

namespace stasis::proc {

struct FdInfo {
    uint64_t pos = 0;    // file position (loff_t; a negative one keeps its bit pattern)
    uint32_t flags = 0;  // O_* file status flags
    int mnt_id = 0;
    uint64_t ino = 0;                                       // 0 on kernels before 5.12
    std::map<std::string, std::string, std::less<>> extra;  // heterogeneous lookup by string_view
    std::vector<std::string> entries;                       // tfd / inotify / fanotify / lock lines, trimmed

    // The value of `key` in extra, or "" if absent.
    std::string_view get(std::string_view key) const;
};

Result<FdInfo> parse_fdinfo(std::string_view text);
Result<FdInfo> read_fdinfo(pid_t pid, int fd);

// The "name:value" fields of one entry line, after its kind word:
//   "tfd: 5 events: 1d data: ffff pos:0 ino:61af sdev:7"
//     -> {tfd,5} {events,1d} {data,ffff} {pos,0} {ino,61af} {sdev,7}
//   "inotify wd:3 ino:9e7e sdev:800013 mask:800afce ignored_mask:0"
//     -> {wd,3} {ino,9e7e} ...
// Numbers stay text: their base differs per field (the kernel prints most in hex).
std::vector<std::pair<std::string_view, std::string_view>> split_fdinfo_entry(std::string_view line);

// The open descriptors of the task, ascending (readdir of /proc/PID/fd).
Result<std::vector<int>> list_fds(pid_t pid);
// parse of one /proc/PID/fd directory entry name: false unless a plain
// non-negative decimal int.
bool parse_fd_name(std::string_view name, int &fd);

// What /proc/PID/fd/N points at: a path (" (deleted)" kept, as the kernel
// shows it), "pipe:[123]", "socket:[456]", "anon_inode:[eventfd]", ...
Result<std::string> read_fd_link(pid_t pid, int fd);

}  // namespace stasis::proc
