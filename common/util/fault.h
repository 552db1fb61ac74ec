// Fault injection for tests: STASIS_FAULT=<stage> makes the engine fail at
// that named stage, as if a real error had happened there. The tests use it
// to prove that a failed dump leaves the tree running and a failed restore
// leaves nothing behind. Stages: after-seize, after-parasite, after-memory,
// before-inventory, restore-after-fork, restore-after-memory,
// restore-before-resume.
#pragma once

#include <string_view>

#include "common/util/result.h"

namespace stasis::fault {

// An Error when STASIS_FAULT names `stage`, ok() otherwise.
Status check(std::string_view stage);

}  // namespace stasis::fault
