#include "common/cli/dispatch.h"

#include <cstdio>

#include "common/cli/cli_support.h"
#include "common/cli/commands.h"
#include "stasis_version.h"

namespace stasis::cli {
namespace {

void print_usage(FILE *to) {
    std::fprintf(to, "usage: stasis <command> [options]\n\ncommands:\n");
    for (const auto &c : commands()) std::fprintf(to, "  %-12s %s\n", c.name, c.summary);
    std::fprintf(to,
                 "\nstasis <command> --help shows the options of a command.\n"
                 "stasis --version shows the version, git revision and architecture.\n");
}

const Command *find_command(const std::string &name) {
    for (const auto &c : commands())
        if (name == c.name) return &c;
    return nullptr;
}

}  // namespace

Dispatch split_command_line(const std::vector<std::string> &args) {
    for (size_t i = 0; i < args.size(); i++) {
        if (!find_command(args[i])) continue;
        Dispatch d{args[i], std::vector<std::string>(args.begin(), args.begin() + long(i))};
        d.args.insert(d.args.end(), args.begin() + long(i) + 1, args.end());
        return d;
    }
    return {};
}

int run_stasis(const std::vector<std::string> &args) {
    if (args.empty()) {
        print_usage(stderr);
        return kExitUsage;
    }
    const std::string &first = args.front();
    if (first == "--help" || first == "-h") {
        print_usage(stdout);
        return kExitOk;
    }
    if (first == "--version" || first == "-V") {
        std::printf("stasis %s (git %s, %s)\n", STASIS_VERSION, STASIS_GIT_REVISION, STASIS_ARCH_NAME);
        return kExitOk;
    }
    if (first == "help" && args.size() == 2 && find_command(args[1]))  // `stasis help dump`
        return find_command(args[1])->run({"--help"});
    const Dispatch d = split_command_line(args);
    if (d.command.empty()) {
        std::fprintf(
            stderr, "stasis: error: %s (see stasis --help)\n",
            first.starts_with("-") ? "no command given" : ("unknown command '" + first + "'").c_str());
        return kExitUsage;
    }
    return find_command(d.command)->run(d.args);
}

}  // namespace stasis::cli
