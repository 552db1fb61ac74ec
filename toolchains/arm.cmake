# Cross build for arm with Debian's arm-linux-gnueabihf toolchain and multiarch libraries.
set(STASIS_TRIPLE arm-linux-gnueabihf)
set(STASIS_PROCESSOR arm)
set(STASIS_QEMU qemu-arm-static)
# GCC notes an ABI change of 2017 (GCC 7.1) at every std::vector iterator
# passed by value; nothing here links against code built before it.
set(CMAKE_CXX_FLAGS_INIT "-Wno-psabi")
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
