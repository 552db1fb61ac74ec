// Whole-file reads of /proc, and the one rule for a task that vanished.
//
// /proc files report st_size 0 and hand out their text in pieces (seq_file),
// so a file is read with a loop of read(2) until it returns 0, never sized
// by fstat. Errors name the path: "/proc/1234/smaps: read: ...".
//
// A task can exit while it is being inspected. Its /proc directory then
// disappears (ENOENT on open) or an already open file fails with ESRCH. Both
// become one error with errno ESRCH, "process 1234 exited" (or "thread 1235
// of process 1234 exited"), which callers test with is_task_gone(): the dump
// reports it instead of treating it as a parser or permission failure.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <string_view>

#include "common/util/result.h"

namespace stasis::proc {

// Reads all of `path` into `out` (replacing its content, reusing its
// capacity). Works for files larger than one read and for /proc's zero size.
Status read_file_into(const std::string &path, std::string &out);
Result<std::string> read_file(const std::string &path);

// readlink(2) of `path`, without truncation however long the target is.
Result<std::string> read_link(const std::string &path);

// "/proc/PID/leaf" and "/proc/PID/task/TID/leaf" (leaf may be empty).
std::string proc_path(pid_t pid, std::string_view leaf);
std::string task_path(pid_t pid, pid_t tid, std::string_view leaf);

// Like read_file_into, for /proc/PID/<leaf> (tid 0) or /proc/PID/task/TID/<leaf>;
// a vanished task becomes the ESRCH "exited" error described above.
Status read_task_file_into(pid_t pid, pid_t tid, std::string_view leaf, std::string &out);
Result<std::string> read_task_file(pid_t pid, pid_t tid, std::string_view leaf);

// The same file handed over a line at a time as it is read (each without
// its '\n'; a last line may lack one), in a buffer that never holds more
// than a read and a line: for big files parsed on the fly (smaps of a
// process with thousands of mappings is megabytes, and a whole-file buffer
// that size is fresh memory to fault in on every read). The first error of
// `on_line` stops the read and is returned with the path as context.
Status read_task_file_lines(pid_t pid, pid_t tid, std::string_view leaf,
                            const std::function<Status(std::string_view)> &on_line);

// True for the error of a task (process or thread) that no longer exists.
bool is_task_gone(const Error &e);

// Turns a failed system call on a /proc path of task (pid, tid) into an
// error: the "exited" error if the task is gone (ESRCH, or ENOENT while its
// /proc directory no longer exists), otherwise "path: what: strerror".
// tid 0 means the whole process.
Error task_file_error(pid_t pid, pid_t tid, const std::string &path, std::string_view what, int err);

}  // namespace stasis::proc
