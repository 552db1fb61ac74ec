#include "common/cli/cli_support.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>

#include "common/util/log.h"

namespace stasis::cli {
namespace {

void print_error_line(const char *command, const std::string &message) {
    std::fprintf(stderr, "stasis %s: error: %s\n", command, message.c_str());
    std::fflush(stderr);
    // With the log on stderr the line above is the log's copy: never twice.
    if (log::has_file()) log::error(message);
}

// The Tgid line of /proc/PID/status; 0 when unreadable.
pid_t thread_group_of(pid_t pid) {
    std::ifstream status(log::cat("/proc/", pid, "/status"));
    std::string key;
    while (status >> key) {
        if (key == "Tgid:") {
            pid_t tgid = 0;
            status >> tgid;
            return tgid;
        }
        status.ignore(4096, '\n');
    }
    return 0;
}

}  // namespace

int fail(const char *command, const Error &error) {
    print_error_line(command, error.message());
    return kExitFailure;
}

int usage_error(const char *command, const Error &error) {
    print_error_line(command, log::cat(error.message(), " (see stasis ", command, " --help)"));
    return kExitUsage;
}

Status apply_logging(const LogSettings &settings, const std::string &base_dir) {
    log::set_level(settings.verbosity);
    if (settings.log_file.empty()) return ok();
    const std::string path = resolve_in(base_dir, settings.log_file);
    if (!log::set_file(path)) return Error::from_errno(log::cat("log file ", path));
    return ok();
}

Status check_images_dir(const std::string &dir, bool for_writing) {
    struct stat st {};
    if (stat(dir.c_str(), &st) != 0) return Error::from_errno(log::cat("images directory ", dir));
    if (!S_ISDIR(st.st_mode)) return Error(log::cat("images directory ", dir, ": not a directory"));
    if (for_writing && access(dir.c_str(), W_OK | X_OK) != 0)
        return Error::from_errno(log::cat("images directory ", dir));
    return ok();
}

Status check_process(pid_t pid) {
    if (kill(pid, 0) != 0 && errno == ESRCH) return Error(log::cat("no process with PID ", pid));
    const pid_t tgid = thread_group_of(pid);
    if (tgid != 0 && tgid != pid)
        return Error(log::cat("PID ", pid, " is a thread of process ", tgid, "; give the process's PID"));
    return ok();
}

}  // namespace stasis::cli
