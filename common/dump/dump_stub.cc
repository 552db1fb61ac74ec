// Placeholder until the dump engine lands (issue: single-process C/R).
#include "common/dump/dump.h"

namespace stasis::dump {
Status run(const DumpOptions &) { return Error("dump: not implemented yet in this build"); }
}  // namespace stasis::dump
