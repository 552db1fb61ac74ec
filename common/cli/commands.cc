#include "common/cli/commands.h"

#include "common/cli/run_commands.h"
#include "common/images/image_command.h"

namespace stasis::cli {

const std::vector<Command> &commands() {
    static const std::vector<Command> all = {
        {"dump", "checkpoint a process tree into an image directory", run_dump},
        {"pre-dump", "copy the memory of a running tree ahead of a dump", run_pre_dump},
        {"restore", "restore a process tree from an image directory", run_restore},
        {"check", "probe the running kernel for every feature stasis uses", run_check},
        {"lazy-pages", "serve the memory of a lazily restored tree", run_lazy_pages},
        {"page-server", "receive pages over TCP from a dump and serve them to a lazy restore", run_page_server},
        {"image", "decode, encode or summarise image files", stasis::images::image_command},
    };
    return all;
}

}  // namespace stasis::cli
