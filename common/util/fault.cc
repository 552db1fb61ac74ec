#include "common/util/fault.h"

#include <cstdlib>
#include <string>

namespace stasis::fault {

Status check(std::string_view stage) {
    const char *want = std::getenv("STASIS_FAULT");
    if (want && stage == want) return Error("fault injected at stage '" + std::string(stage) + "' (STASIS_FAULT)");
    return ok();
}

}  // namespace stasis::fault
