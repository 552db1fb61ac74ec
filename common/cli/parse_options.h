// Command-line parsing of one subcommand's arguments against its option table
// (option_table.h), with Boost.Program_options underneath. Every Error it
// returns is a usage error (exit status 2).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/cli/option_table.h"
#include "common/util/result.h"

namespace stasis::cli {

inline constexpr int kDefaultVerbosity = 2;  // warnings, as CRIU
inline constexpr int kMaxVerbosity = 4;

struct ParsedOptions {
    std::map<std::string, std::string, std::less<>> values;  // long name -> value
    std::set<std::string, std::less<>> flags;                // long names of flags given
    int verbosity = kDefaultVerbosity;

    bool flag(std::string_view long_name) const { return flags.count(long_name) != 0; }
    std::optional<std::string> value(std::string_view long_name) const;
};

// Parses `args` (what follows the subcommand name) for `spec` plus the common
// options.
Result<ParsedOptions> parse_options(const CommandSpec &spec, const std::vector<std::string> &args);

// Applies one CRIU-style -v argument to `level`: "" (-v) adds one, "v..." (-vv,
// -vvv) adds one per v plus one, a digit string sets the level. Clamped to 0..4.
Result<int> apply_verbosity(int level, std::string_view argument);

// `stasis <cmd> --help`, rendered from the table.
std::string render_help(const CommandSpec &spec);

}  // namespace stasis::cli
