#include "common/cli/commands.h"

#include <cstdio>

namespace stasis::cli {
namespace {

int not_built(const char *name) {
    std::fprintf(stderr, "stasis %s: not implemented yet in this build\n", name);
    return 2;
}

}  // namespace

const std::vector<Command> &commands() {
    static const std::vector<Command> all = {
        {"dump", "checkpoint a process tree into an image directory", [](const Args &) { return not_built("dump"); }},
        {"restore", "restore a process tree from an image directory", [](const Args &) { return not_built("restore"); }},
        {"pre-dump", "copy memory of a running tree ahead of a dump", [](const Args &) { return not_built("pre-dump"); }},
        {"check", "probe the kernel for every feature stasis uses", [](const Args &) { return not_built("check"); }},
        {"lazy-pages", "serve memory of a lazily restored tree", [](const Args &) { return not_built("lazy-pages"); }},
        {"page-server", "receive or serve pages over TCP", [](const Args &) { return not_built("page-server"); }},
        {"image", "decode, encode or summarise image files", [](const Args &) { return not_built("image"); }},
    };
    return all;
}

}  // namespace stasis::cli
