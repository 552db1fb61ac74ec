// `stasis image decode|encode|show`.
#pragma once

#include <string>
#include <vector>

namespace stasis::images {

// Runs `stasis image ARGS...` (ARGS after "image"); returns the exit status.
// Errors are one line on stderr and a non-zero status.
int image_command(const std::vector<std::string> &args);

}  // namespace stasis::images
