// `stasis pre-dump`: copies the memory of a running tree ahead of a dump
// (seed 003). The tree is frozen only to record its memory layout and to
// arm dirty tracking; the pages are read afterwards, from outside, while it
// runs. A later pre-dump or dump given this directory with
// --prev-images-dir saves only the pages written since.
#pragma once

#include "common/dump/dump.h"
#include "common/util/result.h"

namespace stasis::dump {

Status pre_dump_tree(const DumpOptions &opts);

}  // namespace stasis::dump
