// The pre-copy pass of an incremental dump: what it leaves to do frozen.
//
// A dump on top of a pre-dump (--prev-images-dir) saves, frozen, every
// page written since that pre-dump: everything the tree wrote while the
// pre-dump copied and while the operator waited before dumping. When the
// parent's dirty tracking is still armed, the dump first makes one more
// pre-dump of its own, into DIR/pre-copy, while the tree runs; the frozen
// pass on top of it then saves only what was written during that short
// pass. The restore reads DIR, then DIR/pre-copy, then the user's chain,
// like any chain of pre-dumps. --no-pre-copy dumps in one frozen pass.
#pragma once

#include "common/dump/dump.h"
#include "common/util/result.h"

namespace stasis::dump {

// The pass's directory under the images directory.
inline constexpr char kPreCopyDir[] = "pre-copy";

// Runs the pass when it pays (an incremental dump whose parent's tracking
// is armed and alive) and points `opts` at it (prev_images_dir becomes
// kPreCopyDir). A failed pass fails the dump: the tree keeps running,
// unharmed, as after any failed pre-dump.
Status pre_copy(DumpOptions &opts);

}  // namespace stasis::dump
