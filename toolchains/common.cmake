# Shared part of every cross toolchain file: Debian cross compilers plus
# Debian multiarch libraries (dpkg --add-architecture <debarch>).
# The including file sets STASIS_TRIPLE, STASIS_PROCESSOR and STASIS_QEMU.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR ${STASIS_PROCESSOR})
set(CMAKE_C_COMPILER ${STASIS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${STASIS_TRIPLE}-g++)
set(CMAKE_ASM_COMPILER ${STASIS_TRIPLE}-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE ${STASIS_TRIPLE})

# Multiarch libraries live in /usr/lib/<triple> and headers in
# /usr/include(/<triple>), so the "root" is the host root; programs (protoc)
# are always the native ones.
set(CMAKE_FIND_ROOT_PATH /usr/${STASIS_TRIPLE} /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${STASIS_TRIPLE}/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# Cross unit tests run under qemu-user, invoked explicitly (binfmt_misc may
# not be mounted). No -L: with multiarch libc6:<arch> installed the binary's
# own interpreter path resolves to the multiarch loader, and -L /usr/<triple>
# would pair the cross toolchain's loader with the multiarch libc (ppc64le
# and s390x then abort with "stack smashing detected").
find_program(STASIS_QEMU_PATH ${STASIS_QEMU} REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR ${STASIS_QEMU_PATH})
