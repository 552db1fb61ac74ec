// dump, pre-dump, restore, lazy-pages and page-server: parse, check what can
// be checked up front, run the engine, turn its result into one exit status.
#include "common/cli/run_commands.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "common/cli/cli_support.h"
#include "common/cli/option_table.h"
#include "common/cli/parse_options.h"
#include "common/lazy/lazy_pages.h"
#include "common/pageserver/server.h"
#include "common/util/log.h"

namespace stasis::cli {
namespace {

int print_help(const char *command) {
    std::fputs(render_help(*find_command_spec(command)).c_str(), stdout);
    return kExitOk;
}

int run_dump_like(const Args &args, bool pre_dump) {
    const char *command = pre_dump ? "pre-dump" : "dump";
    auto inv = parse_dump(args, pre_dump);
    if (!inv.ok()) return usage_error(command, inv.error());
    if (inv->help) return print_help(command);
    dump::DumpOptions &opts = inv->options;
    if (auto st = check_images_dir(opts.images_dir, true); !st.ok()) return fail(command, st.error());
    if (auto st = apply_logging(inv->log, opts.images_dir); !st.ok()) return fail(command, st.error());
    if (auto st = check_process(opts.pid); !st.ok()) return fail(command, st.error());
    opts.progress = isatty(STDERR_FILENO);
    log::info(command, ": tree ", opts.pid, " into ", opts.images_dir);
    if (auto st = dump::run(opts); !st.ok()) return fail(command, st.error());
    return kExitOk;
}

}  // namespace

int run_dump(const Args &args) { return run_dump_like(args, false); }
int run_pre_dump(const Args &args) { return run_dump_like(args, true); }

int run_restore(const Args &args) {
    const char *command = "restore";
    auto inv = parse_restore(args);
    if (!inv.ok()) return usage_error(command, inv.error());
    if (inv->help) return print_help(command);
    const restore::RestoreOptions &opts = inv->options;
    if (auto st = check_images_dir(opts.images_dir, false); !st.ok()) return fail(command, st.error());
    if (auto st = apply_logging(inv->log, opts.images_dir); !st.ok()) return fail(command, st.error());
    log::info(command, ": from ", opts.images_dir, opts.detach ? " (detached)" : "");
    auto status = restore::run(opts);
    if (!status.ok()) return fail(command, status.error());
    if (opts.detach) return kExitOk;
    const int code = exit_code_from_wait_status(*status);
    log::info(command, ": the restored tree's root ended; exit status ", code);
    return code;
}

int run_lazy_pages(const Args &args) {
    const char *command = "lazy-pages";
    auto inv = parse_server(command, args);
    if (!inv.ok()) return usage_error(command, inv.error());
    if (inv->help) return print_help(command);
    if (inv->images_dir.empty()) return usage_error(command, Error("give the images directory: -D DIR"));
    if (auto st = check_images_dir(inv->images_dir, false); !st.ok()) return fail(command, st.error());
    if (auto st = apply_logging(inv->log, inv->images_dir); !st.ok()) return fail(command, st.error());
    lazy::LazyOptions opts;
    opts.images_dir = inv->images_dir;
    opts.page_server = inv->endpoint;
    if (const char *d = std::getenv("STASIS_LAZY_BACKGROUND_DELAY_MS")) opts.background_delay_ms = std::atoi(d);
    if (auto st = lazy::serve(opts); !st.ok()) return fail(command, st.error());
    return kExitOk;
}

namespace {
// Tells whoever started the page server (a script, a test) where it
// listens, once it does.
void announce(uint16_t port) {
    std::printf("page-server: listening on port %u\n", unsigned(port));
    std::fflush(stdout);
}
}  // namespace

int run_page_server(const Args &args) {
    const char *command = "page-server";
    auto inv = parse_server(command, args);
    if (!inv.ok()) return usage_error(command, inv.error());
    if (inv->help) return print_help(command);
    if (inv->images_dir.empty()) return usage_error(command, Error("give the images directory: -D DIR"));
    if (auto st = check_images_dir(inv->images_dir, true); !st.ok()) return fail(command, st.error());
    if (auto st = apply_logging(inv->log, inv->images_dir); !st.ok()) return fail(command, st.error());
    pageserver::ServerOptions opts;
    opts.images_dir = inv->images_dir;
    opts.listen = *inv->endpoint;
    opts.page_size = uint32_t(::sysconf(_SC_PAGESIZE));
    opts.on_listening = announce;
    log::info(command, ": ", opts.images_dir, " on ", opts.listen.text());
    if (auto st = pageserver::serve(opts); !st.ok()) return fail(command, st.error());
    return kExitOk;
}

}  // namespace stasis::cli
