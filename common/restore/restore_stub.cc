// Placeholder until the restore engine lands (issue: single-process C/R).
#include "common/restore/restore.h"

namespace stasis::restore {
Result<int> run(const RestoreOptions &) { return Error("restore: not implemented yet in this build"); }
}  // namespace stasis::restore
