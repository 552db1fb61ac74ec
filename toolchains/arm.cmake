# Cross build for arm with Debian's arm-linux-gnueabihf toolchain and multiarch libraries.
set(STASIS_TRIPLE arm-linux-gnueabihf)
set(STASIS_PROCESSOR arm)
set(STASIS_QEMU qemu-arm-static)
# GCC notes an ABI change of 2017 (GCC 7.1) at every std::vector iterator
# passed by value; nothing here links against code built before it.
# off_t is 32 bits on arm unless asked otherwise: pread/pwrite on
# /proc/PID/mem take the target's addresses as offsets, and those reach
# 4 GiB; image files may exceed 2 GiB.
set(CMAKE_CXX_FLAGS_INIT "-Wno-psabi -D_FILE_OFFSET_BITS=64")
set(CMAKE_C_FLAGS_INIT "-D_FILE_OFFSET_BITS=64")
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
