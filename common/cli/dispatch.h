// The top of the command line: `stasis <command> [options]`, --help, --version.
#pragma once

#include <string>
#include <vector>

namespace stasis::cli {

// Runs the whole command line (argv without argv[0]); returns the exit status.
int run_stasis(const std::vector<std::string> &args);

// Where the command sits and what it gets: CRIU accepts options before the
// command too (`criu -v4 dump -t 1`), so leading options are passed to it.
struct Dispatch {
    std::string command;            // empty: none found
    std::vector<std::string> args;  // its arguments, leading options first
};
Dispatch split_command_line(const std::vector<std::string> &args);

}  // namespace stasis::cli
