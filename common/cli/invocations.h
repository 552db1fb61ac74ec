// What each subcommand's command line asks for, as plain data: pure functions
// from arguments to the engines' option structs, with no system access, so
// they can be tested anywhere (also under qemu-user). Every Error returned
// here is a usage error.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/dump/dump.h"
#include "common/restore/restore.h"
#include "common/util/result.h"

namespace stasis::cli {

using Args = std::vector<std::string>;

struct LogSettings {
    int verbosity = 2;     // CRIU's levels, 0..4
    std::string log_file;  // empty: stderr; otherwise resolved against the images dir
};

struct DumpInvocation {
    bool help = false;
    dump::DumpOptions options;
    LogSettings log;
};

struct RestoreInvocation {
    bool help = false;
    restore::RestoreOptions options;
    LogSettings log;
};

struct CheckInvocation {
    bool help = false;
    bool json = false;
    std::string feature;  // empty: every feature
    std::string images_dir;  // -D: also explain how its vDSO would be restored
    LogSettings log;
};

// lazy-pages and page-server.
struct ServerInvocation {
    bool help = false;
    std::string images_dir;
    // page-server: where to listen (address may be empty: every address);
    // lazy-pages: the page server to fetch from, when --page-server is given.
    std::optional<pageserver::Endpoint> endpoint;
    LogSettings log;
};

Result<DumpInvocation> parse_dump(const Args &args, bool pre_dump);
Result<RestoreInvocation> parse_restore(const Args &args);
Result<CheckInvocation> parse_check(const Args &args);
Result<ServerInvocation> parse_server(const char *command, const Args &args);

// "size"/"filesize", "build-id"/"buildid", "checksum".
Result<dump::FileValidation> parse_file_validation(std::string_view text);
Result<pid_t> parse_pid(std::string_view text);

// A relative `path` is taken inside `base_dir` (CRIU writes logs and pidfiles
// to its work directory, which defaults to the images directory).
std::string resolve_in(const std::string &base_dir, const std::string &path);

// The exit status of `stasis restore` for a root task that ended with
// `wait_status` (as wait(2) encodes it): its exit code, or 128+N for signal N,
// as a shell reports it.
int exit_code_from_wait_status(int wait_status);

}  // namespace stasis::cli
