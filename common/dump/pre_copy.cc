#include "common/dump/pre_copy.h"

#include <string>

#include "common/dump/pre_dump.h"
#include "common/dump/tracking_keeper.h"
#include "common/images/images.h"
#include "common/mem/dirty_tracking.h"
#include "common/util/log.h"

namespace stasis::dump {
namespace {

// Why a pass would not pay, or "" when it does: without live tracking the
// pass would copy (or compare) all memory instead of what changed.
std::string no_pass_reason(const DumpOptions &opts) {
    if (!opts.pre_copy) return "--no-pre-copy";
    const std::string &prev = opts.prev_images_dir;
    std::string path = prev.front() == '/' ? prev : opts.images_dir + "/" + prev;
    images::ReadOptions ro;
    auto parent = images::read_checkpoint_inventory(path, ro);
    if (!parent.ok()) return "the parent images cannot be read";  // the dump proper says why
    const images::Inventory &inv = *parent;
    auto mode = mem::parse_dirty_mode(inv.dirty_tracking());
    if (!mode.ok() || (*mode != mem::DirtyMode::uffd_wp && *mode != mem::DirtyMode::soft_dirty))
        return "the parent images have no dirty tracking";
    if (!keeper_alive(inv.keeper())) return "the dirty tracking of the parent images is gone";
    return "";
}

}  // namespace

Status pre_copy(DumpOptions &opts) {
    if (opts.pre_dump || opts.prev_images_dir.empty() || opts.page_server) return ok();
    if (std::string why = no_pass_reason(opts); !why.empty()) {
        log::info("no pre-copy pass (", why, "): every page written since ", opts.prev_images_dir,
                  " is saved with the tree frozen");
        return ok();
    }
    DumpOptions pass = opts;
    pass.images_dir = opts.images_dir + "/" + kPreCopyDir;
    // Relative parents are relative to the directory naming them: one level
    // further down now.
    if (pass.prev_images_dir.front() != '/') pass.prev_images_dir = "../" + pass.prev_images_dir;
    pass.pre_dump = true;
    pass.track_mem = true;
    pass.leave_running = true;
    pass.lazy_pages = false;
    log::info("pre-copy pass into ", pass.images_dir, ": pages written since ", opts.prev_images_dir,
              " are copied while the tree runs");
    STASIS_TRY(std::move(pre_dump_tree(pass)).context("pre-copy pass"));
    opts.prev_images_dir = kPreCopyDir;
    return ok();
}

}  // namespace stasis::dump
