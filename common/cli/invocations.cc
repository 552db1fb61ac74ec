#include "common/cli/invocations.h"

#include <sys/wait.h>

#include <charconv>
#include <climits>

#include "common/cli/option_table.h"
#include "common/cli/parse_options.h"
#include "common/util/log.h"

namespace stasis::cli {
namespace {

Result<ParsedOptions> parse_for(const char *command, const Args &args) {
    const CommandSpec *spec = find_command_spec(command);
    if (!spec) return Error(log::cat("no option table for '", command, "'"));
    return parse_options(*spec, args);
}

LogSettings log_settings(const ParsedOptions &p) {
    return LogSettings{p.verbosity, p.value("log-file").value_or("")};
}

Result<std::string> required(const ParsedOptions &p, const char *long_name, const char *spelled) {
    auto v = p.value(long_name);
    if (!v) return Error(log::cat("missing ", spelled));
    if (v->empty()) return Error(log::cat("empty ", spelled));
    return *v;
}

// --page-server with --address/--port: where the page server is. Address
// and port mean nothing without --page-server, and it needs the port.
Result<std::optional<pageserver::Endpoint>> page_server_option(const ParsedOptions &p) {
    auto address = p.value("address"), port = p.value("port");
    if (!p.flag("page-server")) {
        if (address || port) return Error("--address and --port go with --page-server");
        return std::optional<pageserver::Endpoint>();
    }
    if (!port) return Error("--page-server needs --port PORT");
    STASIS_ASSIGN(pageserver::Endpoint where, pageserver::parse_endpoint(address.value_or("127.0.0.1"), *port));
    return std::optional<pageserver::Endpoint>(where);
}

}  // namespace

Result<pid_t> parse_pid(std::string_view text) {
    long long pid = 0;
    auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), pid);
    // PIDs are positive and below PID_MAX_LIMIT (4194304) on every kernel.
    if (err != std::errc() || end != text.data() + text.size() || pid < 1 || pid > INT_MAX)
        return Error(log::cat("invalid PID '", text, "'"));
    return pid_t(pid);
}

Result<dump::FileValidation> parse_file_validation(std::string_view text) {
    if (text == "size" || text == "filesize") return dump::FileValidation::size;
    if (text == "build-id" || text == "buildid") return dump::FileValidation::build_id;
    if (text == "checksum") return dump::FileValidation::checksum;
    return Error(log::cat("invalid --file-validation '", text, "' (want size, build-id or checksum)"));
}

Result<DumpInvocation> parse_dump(const Args &args, bool pre_dump) {
    STASIS_ASSIGN(ParsedOptions p, parse_for(pre_dump ? "pre-dump" : "dump", args));
    DumpInvocation inv;
    inv.log = log_settings(p);
    if (p.flag("help")) {
        inv.help = true;
        return inv;
    }
    STASIS_ASSIGN(std::string tree, required(p, "tree", "-t/--tree PID"));
    STASIS_ASSIGN(inv.options.pid, parse_pid(tree));
    STASIS_ASSIGN(inv.options.images_dir, required(p, "images-dir", "-D/--images-dir DIR"));
    inv.options.leave_running = p.flag("leave-running");
    inv.options.shell_job = p.flag("shell-job");
    inv.options.track_mem = p.flag("track-mem");
    inv.options.prev_images_dir = p.value("prev-images-dir").value_or("");
    inv.options.pre_copy = pre_dump || !p.flag("no-pre-copy");
    inv.options.lazy_pages = p.flag("lazy-pages");
    inv.options.ext_unix_sk = !pre_dump && p.flag("ext-unix-sk");
    if (auto mode = p.value("file-validation")) {
        STASIS_ASSIGN(inv.options.file_validation, parse_file_validation(*mode));
    }
    STASIS_ASSIGN(inv.options.page_server, page_server_option(p));
    if (inv.options.page_server && !inv.options.prev_images_dir.empty())
        return Error("--page-server with --prev-images-dir is not supported: an incremental dump compares with "
                     "and refers to parent images on this machine");
    if (pre_dump) {
        // A pre-dump exists to be followed by a dump that writes only what
        // changed: it always tracks memory and never stops the tree (CRIU
        // enforces the same).
        inv.options.pre_dump = true;
        inv.options.track_mem = true;
        inv.options.leave_running = true;
    }
    return inv;
}

Result<RestoreInvocation> parse_restore(const Args &args) {
    STASIS_ASSIGN(ParsedOptions p, parse_for("restore", args));
    RestoreInvocation inv;
    inv.log = log_settings(p);
    if (p.flag("help")) {
        inv.help = true;
        return inv;
    }
    STASIS_ASSIGN(inv.options.images_dir, required(p, "images-dir", "-D/--images-dir DIR"));
    inv.options.detach = p.flag("restore-detached");
    inv.options.shell_job = p.flag("shell-job");
    inv.options.lazy_pages = p.flag("lazy-pages");
    if (auto mode = p.value("file-validation")) {
        STASIS_ASSIGN(inv.options.file_validation, parse_file_validation(*mode));
    }
    if (auto pidfile = p.value("pidfile")) inv.options.pidfile = resolve_in(inv.options.images_dir, *pidfile);
    STASIS_ASSIGN(inv.options.page_server, page_server_option(p));
    return inv;
}

Result<CheckInvocation> parse_check(const Args &args) {
    STASIS_ASSIGN(ParsedOptions p, parse_for("check", args));
    CheckInvocation inv;
    inv.log = log_settings(p);
    inv.help = p.flag("help");
    inv.json = p.flag("json");
    inv.feature = p.value("feature").value_or("");
    inv.images_dir = p.value("images-dir").value_or("");
    return inv;
}

Result<ServerInvocation> parse_server(const char *command, const Args &args) {
    STASIS_ASSIGN(ParsedOptions p, parse_for(command, args));
    ServerInvocation inv;
    inv.log = log_settings(p);
    if (p.flag("help")) {
        inv.help = true;
        return inv;
    }
    inv.images_dir = p.value("images-dir").value_or("");
    if (std::string_view(command) == "lazy-pages") {
        STASIS_ASSIGN(inv.endpoint, page_server_option(p));
        return inv;
    }
    auto port = p.value("port");
    if (!port) return Error("give the port to listen on: --port PORT");
    STASIS_ASSIGN(inv.endpoint, pageserver::parse_endpoint(p.value("address").value_or(""), *port));
    return inv;
}

std::string resolve_in(const std::string &base_dir, const std::string &path) {
    if (path.empty() || path.front() == '/' || base_dir.empty()) return path;
    return base_dir.back() == '/' ? base_dir + path : base_dir + "/" + path;
}

int exit_code_from_wait_status(int wait_status) {
    if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
    if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
    return 1;  // stopped/continued are not final states; the engine reports only final ones
}

}  // namespace stasis::cli
