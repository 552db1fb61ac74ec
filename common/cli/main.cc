// stasis: checkpoint/restore of Linux process trees.
#include <cstdio>
#include <cstring>
#include <string>

#include "common/cli/commands.h"
#include "stasis_version.h"

int main(int argc, char **argv) {
    using namespace stasis::cli;
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
        std::printf("usage: stasis <command> [options]\n\ncommands:\n");
        for (const auto &c : commands()) std::printf("  %-12s %s\n", c.name, c.summary);
        std::printf("\nstasis <command> --help shows the options of a command.\n");
        return argc < 2 ? 1 : 0;
    }
    if (!std::strcmp(argv[1], "--version")) {
        std::printf("stasis %s (%s, %s)\n", STASIS_VERSION, STASIS_GIT_REVISION, STASIS_ARCH_NAME);
        return 0;
    }
    for (const auto &c : commands()) {
        if (std::string(argv[1]) == c.name) return c.run(Args(argv + 2, argv + argc));
    }
    std::fprintf(stderr, "stasis: unknown command '%s' (see stasis --help)\n", argv[1]);
    return 1;
}
