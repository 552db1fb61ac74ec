// `stasis image show DIR`: a short human summary of a checkpoint.
#pragma once

#include <string>

#include "common/util/result.h"

namespace stasis::images {

// Reads and checks the checkpoint in `dir` (of any architecture and page
// size) and summarises tasks, memory by vma kind, pages and files.
Result<std::string> show_checkpoint(const std::string &dir);

}  // namespace stasis::images
