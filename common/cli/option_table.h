// The options of every subcommand as data: one table per subcommand, which
// the parser, `--help` and (later) the man pages all read. Spellings follow
// CRIU's so that users' scripts carry over.
#pragma once

#include <span>
#include <string_view>

namespace stasis::cli {

enum class ValueKind {
    flag,       // --shell-job
    text,       // -D DIR
    verbosity,  // CRIU's -v: -v, -vv, -v4, --verbosity[=N]
};

struct OptionSpec {
    const char *long_name;   // "images-dir"
    char short_name;         // 'D', or 0 for none
    const char *value_name;  // "DIR"; nullptr for flags
    ValueKind kind;
    const char *help;  // one sentence, no trailing period
};

struct CommandSpec {
    const char *name;      // "dump"
    const char *synopsis;  // "-t PID -D DIR [options]"
    const char *description;
    std::span<const OptionSpec> options;  // the command's own options
};

// Options every subcommand accepts: logging and --help.
std::span<const OptionSpec> common_options();
// The subcommands that stasis parses itself (`image` parses its own), in
// `stasis --help` order.
std::span<const CommandSpec> command_specs();
// nullptr when `name` is not one of command_specs().
const CommandSpec *find_command_spec(std::string_view name);

}  // namespace stasis::cli
