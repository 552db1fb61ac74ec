// The GNU build-id of an ELF file (NT_GNU_BUILD_ID in a PT_NOTE segment),
// used to tell whether a library or executable at restore is the one the
// process had mapped at dump (seed 003: file validation).
#pragma once

#include <cstdint>
#include <string>

#include "common/util/result.h"

namespace stasis::files {

// The build-id bytes, or an empty string when the file is not an ELF file
// of this machine's class and byte order or carries none. Errors only for
// I/O failures.
Result<std::string> read_build_id(int fd);

}  // namespace stasis::files
