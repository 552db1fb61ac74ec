// What every subcommand does the same way: exit codes, the one error line,
// logging set-up, and the checks made before an engine runs.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/cli/invocations.h"
#include "common/util/result.h"

namespace stasis::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the operation failed (or is not built)
inline constexpr int kExitUsage = 2;    // the command line is wrong

// Prints the error exactly once on stderr, "stasis <command>: error: <message>",
// and also into the log file when the log goes to one. Returns kExitFailure.
int fail(const char *command, const Error &error);
// Same for a command-line error, with a pointer to --help. Returns kExitUsage.
int usage_error(const char *command, const Error &error);

// Sets the log level and, with -o, the log file (relative to `base_dir`).
Status apply_logging(const LogSettings &log, const std::string &base_dir);

// The images directory exists and is a directory (and, for writing, writable).
Status check_images_dir(const std::string &dir, bool for_writing);
// PID names a live process (not a thread of another one).
Status check_process(pid_t pid);

}  // namespace stasis::cli
