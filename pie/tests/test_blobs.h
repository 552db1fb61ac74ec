// Test-only blobs (pie/tests/CMakeLists.txt), embedded into tests/unit/pie.
#pragma once

#include "pie/blob.h"

namespace stasis::pie {

// A static table of function pointers: dynamic relocations left.
extern const Blob bad_absolute_relocation;
// A call through a function pointer: an indirect call.
extern const Blob bad_indirect_call;
// stasis_sys_mmap in pie_main, pie_clone3_thread with a reporting
// pie_thread_main (arch_probe.h).
extern const Blob arch_probe;

}  // namespace stasis::pie
