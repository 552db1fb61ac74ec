#include "common/cli/option_table.h"

namespace stasis::cli {
namespace {

constexpr OptionSpec kCommon[] = {
    {"log-file", 'o', "FILE", ValueKind::text,
     "write the log to FILE, created with mode 0600 (a relative FILE is placed in the images directory, as "
     "CRIU does); errors are shown on stderr as well"},
    {"verbosity", 'v', "N", ValueKind::verbosity,
     "log level: 0 nothing, 1 errors, 2 warnings (default), 3 info, 4 debug; -v raises it by one, -vv by "
     "two"},
    {"help", 'h', nullptr, ValueKind::flag, "show the options of this command"},
};

constexpr OptionSpec kFileValidation = {"file-validation", 0, "MODE", ValueKind::text,
                                        "how restore recognises mapped files: size, build-id (default) or "
                                        "checksum; CRIU's spellings filesize and "
                                        "buildid are accepted"};
constexpr OptionSpec kShellJob = {"shell-job", 0, nullptr, ValueKind::flag,
                                  "the tree was started from a shell and shares its terminal and session"};

constexpr OptionSpec kAddress = {"address", 0, "ADDR", ValueKind::text,
                                 "with --page-server: the page server's address (default 127.0.0.1)"};
constexpr OptionSpec kPort = {"port", 0, "PORT", ValueKind::text, "with --page-server: its TCP port (required)"};

constexpr OptionSpec kDump[] = {
    {"tree", 't', "PID", ValueKind::text, "root of the process tree to checkpoint (required)"},
    {"images-dir", 'D', "DIR", ValueKind::text, "existing directory to write the images to (required)"},
    {"leave-running", 0, nullptr, ValueKind::flag,
     "let the tree run on after the dump instead of killing it"},
    kShellJob,
    {"track-mem", 0, nullptr, ValueKind::flag,
     "with --leave-running: keep tracking memory writes so that a later dump on top of this one writes only "
     "the pages that changed"},
    {"prev-images-dir", 0, "DIR", ValueKind::text,
     "images of the previous pre-dump, absolute or relative to the images directory; pages unchanged since "
     "stay there and the restore reads them from there"},
    {"no-pre-copy", 0, nullptr, ValueKind::flag,
     "with --prev-images-dir: save every page written since the parent with the tree frozen, instead of "
     "first copying them while it runs (into DIR/pre-copy, when the parent's dirty tracking is alive)"},
    {"lazy-pages", 0, nullptr, ValueKind::flag,
     "meant for a lazy restore (recorded in the images; any dump can be restored lazily); with --page-server "
     "the page server stays up to serve the pages"},
    {"page-server", 0, nullptr, ValueKind::flag,
     "send the memory to `stasis page-server` at --address/--port instead of writing pages images here (the "
     "other images are written here; copy them to the page server's directory, or restore with "
     "--page-server)"},
    kAddress,
    kPort,
    kFileValidation,
    {"ext-unix-sk", 0, nullptr, ValueKind::flag,
     "accept dgram unix sockets connected to a named socket outside the tree (/dev/log, say): the restore "
     "connects them to that name again; without it such sockets refuse the dump"},
};

constexpr OptionSpec kPreDump[] = {
    {"tree", 't', "PID", ValueKind::text, "root of the process tree to copy (required)"},
    {"images-dir", 'D', "DIR", ValueKind::text, "existing directory to write the images to (required)"},
    {"prev-images-dir", 0, "DIR", ValueKind::text,
     "images of the previous pre-dump, absolute or relative to the images directory"},
    {"track-mem", 0, nullptr, ValueKind::flag,
     "accepted for CRIU compatibility: pre-dump always tracks memory"},
    kShellJob,
};

constexpr OptionSpec kRestore[] = {
    {"images-dir", 'D', "DIR", ValueKind::text, "directory holding the images of a complete dump (required)"},
    {"restore-detached", 'd', nullptr, ValueKind::flag,
     "exit once the tree runs; without it stasis waits and exits with the tree root's exit code (128+N when "
     "killed by signal N)"},
    kShellJob,
    {"lazy-pages", 0, nullptr, ValueKind::flag,
     "fill anonymous memory on first touch from a running `stasis lazy-pages`"},
    {"page-server", 0, nullptr, ValueKind::flag,
     "read the pages from `stasis page-server` at --address/--port instead of the images directory (with "
     "--lazy-pages only those that are not filled lazily)"},
    kAddress,
    kPort,
    kFileValidation,
    {"pidfile", 0, "FILE", ValueKind::text,
     "write the PID of the restored root to FILE (a relative FILE is placed in the images directory)"},
};

constexpr OptionSpec kCheck[] = {
    {"json", 0, nullptr, ValueKind::flag, "print the report as JSON"},
    {"feature", 0, "NAME", ValueKind::text, "probe only this feature (a name from the FEATURE column)"},
    {"images-dir", 'D', "DIR", ValueKind::text,
     "also say how the vDSO of the checkpoint in DIR would be restored here: in place, or through a proxy and "
     "why (what differs from this kernel's vDSO)"},
};

constexpr OptionSpec kLazyPages[] = {
    {"images-dir", 'D', "DIR", ValueKind::text, "images of the lazily restored tree (required)"},
    {"page-server", 0, nullptr, ValueKind::flag,
     "fetch the pages from `stasis page-server` at --address/--port instead of the images directory (post-copy "
     "migration: the images here need no pages files)"},
    kAddress,
    kPort,
};

constexpr OptionSpec kPageServer[] = {
    {"images-dir", 'D', "DIR", ValueKind::text,
     "existing directory to store received pages images in and to serve them from (required)"},
    {"address", 0, "ADDR", ValueKind::text, "address to listen on (default: every address)"},
    {"port", 0, "PORT", ValueKind::text, "TCP port to listen on (required)"},
};

constexpr CommandSpec kCommands[] = {
    {"dump", "-t PID -D DIR [options]",
     "Checkpoint the process tree rooted at PID into the image directory DIR. The tree is killed once its "
     "images are complete (see --leave-running); on any failure it keeps running unharmed.",
     kDump},
    {"pre-dump", "-t PID -D DIR [options]",
     "Copy the memory of a running tree ahead of a dump. The tree keeps running and its memory writes are "
     "tracked, so that the final dump (with --prev-images-dir) writes only the pages that changed.",
     kPreDump},
    {"restore", "-D DIR [options]", "Restore the process tree checkpointed in DIR, with its original PIDs.",
     kRestore},
    {"check", "[--json] [--feature NAME] [-D DIR]",
     "Probe the running kernel for every feature checkpoint and restore use, and show this kernel's vDSO "
     "layout. Exits 0 when checkpoint/restore can work here.",
     kCheck},
    {"lazy-pages", "-D DIR [options]",
     "Serve the memory of a lazily restored tree (restore --lazy-pages) as it touches it, and the rest in the "
     "background; start it before the restore. It exits once every restored process has all its memory.",
     kLazyPages},
    {"page-server", "-D DIR --port PORT [options]",
     "Receive the pages images of `dump --page-server` over TCP into DIR, and serve them to `lazy-pages "
     "--page-server` and `restore --page-server`. It exits once a dump without --lazy-pages, or a lazy-pages "
     "that delivered every page, has finished and no client is connected; or on SIGTERM.",
     kPageServer},
};

}  // namespace

std::span<const OptionSpec> common_options() { return kCommon; }
std::span<const CommandSpec> command_specs() { return kCommands; }

const CommandSpec *find_command_spec(std::string_view name) {
    for (const auto &c : kCommands)
        if (name == c.name) return &c;
    return nullptr;
}

}  // namespace stasis::cli
