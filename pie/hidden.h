/*
 * Force-included into every blob source (cmake/Pie.cmake): every symbol a
 * blob declares or defines is hidden, so the compiler knows it is defined
 * in this same blob. -fvisibility=hidden alone covers only definitions; a
 * function merely declared in a header stays "default" and, on aarch64,
 * -fpie takes its address through a GOT slot that the linker fills with a
 * dynamic relocation (R_AARCH64_RELATIVE) the blob cannot have. Entry
 * points that carry an explicit visibility("default") keep it. Assembly
 * sources get it too, and skip it.
 */
#ifndef __ASSEMBLER__
#pragma GCC visibility push(hidden)
#endif
