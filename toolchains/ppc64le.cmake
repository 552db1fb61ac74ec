# Cross build for ppc64le with Debian's powerpc64le-linux-gnu toolchain and multiarch libraries.
set(STASIS_TRIPLE powerpc64le-linux-gnu)
set(STASIS_PROCESSOR ppc64le)
set(STASIS_QEMU qemu-ppc64le-static)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
