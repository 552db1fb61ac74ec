# Cross build for aarch64 with Debian's aarch64-linux-gnu toolchain and multiarch libraries.
set(STASIS_TRIPLE aarch64-linux-gnu)
set(STASIS_PROCESSOR aarch64)
set(STASIS_QEMU qemu-aarch64-static)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
