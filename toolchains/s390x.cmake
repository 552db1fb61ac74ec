# Cross build for s390x with Debian's s390x-linux-gnu toolchain and multiarch libraries.
set(STASIS_TRIPLE s390x-linux-gnu)
set(STASIS_PROCESSOR s390x)
set(STASIS_QEMU qemu-s390x-static)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
