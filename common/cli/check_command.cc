// `stasis check [--json] [--feature NAME] [-D DIR]`.
#include <unistd.h>

#include <cstdio>

#include "arch/arch.h"

#include "common/check/check.h"
#include "common/cli/cli_support.h"
#include "common/cli/option_table.h"
#include "common/cli/parse_options.h"
#include "common/cli/run_commands.h"
#include "common/images/images.h"
#include "common/restore/vdso_restore.h"
#include "common/util/log.h"

namespace stasis::cli {
namespace {

constexpr const char *kCommand = "check";

int check_one(const CheckInvocation &inv) {
    auto feature = check::run_one(inv.feature);
    if (!feature.ok()) return usage_error(kCommand, feature.error());
    if (inv.json) {
        std::printf("%s\n", check::render_feature_json(*feature).c_str());
    } else {
        std::printf("%s: %s (%s)\n  %s\n", feature->name.c_str(), check::outcome_name(feature->outcome),
                    feature->needed_for.c_str(), feature->detail.c_str());
    }
    std::fflush(stdout);
    if (feature->outcome == check::Outcome::missing)
        return fail(kCommand, Error(log::cat("feature ", feature->name, " is missing: ", feature->detail)));
    return kExitOk;
}

// -D DIR: how this checkpoint's vDSO would come back on this kernel.
int explain_images(const CheckInvocation &inv) {
    images::ReadOptions ro;
    ro.expect_arch = arch::kImageArch;
    ro.expect_page_size = uint32_t(::sysconf(_SC_PAGESIZE));
    ro.check_pages = false;
    auto cp = images::read_checkpoint(inv.images_dir, ro);
    if (!cp.ok()) return fail(kCommand, std::move(cp).error());
    auto lines = restore::explain_vdso(*cp);
    if (!lines.ok()) return fail(kCommand, std::move(lines).error());
    std::printf("---- %s ----\n", inv.images_dir.c_str());
    for (const auto &l : *lines) std::printf("%s\n", l.c_str());
    std::fflush(stdout);
    return kExitOk;
}

}  // namespace

int run_check(const Args &args) {
    auto inv = parse_check(args);
    if (!inv.ok()) return usage_error(kCommand, inv.error());
    if (inv->help) {
        std::fputs(render_help(*find_command_spec(kCommand)).c_str(), stdout);
        return kExitOk;
    }
    if (auto st = apply_logging(inv->log, ""); !st.ok()) return fail(kCommand, st.error());
    if (!inv->feature.empty()) return check_one(*inv);
    const check::Report report = check::run_all();
    const std::string out = inv->json ? check::render_json(report) : check::render_table(report);
    std::fputs(out.c_str(), stdout);
    std::fflush(stdout);
    if (const check::FeatureResult *missing = report.first_missing_required()) {
        return fail(kCommand, Error(log::cat("required kernel feature missing: ", missing->name,
                                             " (needed for ", missing->needed_for, "): ", missing->detail)));
    }
    if (!inv->images_dir.empty()) return explain_images(*inv);
    return kExitOk;
}

}  // namespace stasis::cli
