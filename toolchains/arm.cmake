# Cross build for arm with Debian's arm-linux-gnueabihf toolchain and multiarch libraries.
set(STASIS_TRIPLE arm-linux-gnueabihf)
set(STASIS_PROCESSOR arm)
set(STASIS_QEMU qemu-arm-static)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
