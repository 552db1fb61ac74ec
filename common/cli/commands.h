// The subcommands of the stasis CLI. Each takes its own argument vector
// (after the subcommand name) and returns the process exit status.
#pragma once

#include <string>
#include <vector>

namespace stasis::cli {

using Args = std::vector<std::string>;

struct Command {
    const char *name;
    const char *summary;
    int (*run)(const Args &args);
};

// All subcommands, in the order `stasis --help` lists them.
const std::vector<Command> &commands();

}  // namespace stasis::cli
