// The subcommands stasis parses itself; each returns the process exit status.
#pragma once

#include "common/cli/invocations.h"

namespace stasis::cli {

int run_dump(const Args &args);
int run_pre_dump(const Args &args);
int run_restore(const Args &args);
int run_check(const Args &args);
int run_lazy_pages(const Args &args);
int run_page_server(const Args &args);

}  // namespace stasis::cli
