# Maps the target processor to stasis's architecture name and collects the
# per-architecture compiler flags of the freestanding (pie/) code.
#
# Adding an architecture: a branch here, arch/<name>/, toolchains/<name>.cmake.
string(TOLOWER "${CMAKE_SYSTEM_PROCESSOR}" _proc)
if(_proc MATCHES "^(x86_64|amd64)$")
  set(STASIS_ARCH x86_64)
  # The parasite and restorer run inside another process: they must not touch
  # FP/vector registers (the engine saves them, but general-regs-only code
  # also needs no aligned vector spills on a foreign stack).
  set(STASIS_PIE_ARCH_FLAGS -mgeneral-regs-only -mno-red-zone)
  set(STASIS_CAPSTONE_ARCH x86_64)
elseif(_proc MATCHES "^(aarch64|arm64)$")
  set(STASIS_ARCH aarch64)
  set(STASIS_PIE_ARCH_FLAGS -mgeneral-regs-only)
elseif(_proc MATCHES "^arm")
  set(STASIS_ARCH arm)
  # ARM state (not Thumb) for the blob: fixed 4-byte instructions make the
  # blob checker and the entry code simpler; the target's own code may be
  # either.
  set(STASIS_PIE_ARCH_FLAGS -marm -mfloat-abi=hard -mfpu=vfpv3-d16 -mgeneral-regs-only)
elseif(_proc MATCHES "^(ppc64le|powerpc64le)$")
  set(STASIS_ARCH ppc64le)
  set(STASIS_PIE_ARCH_FLAGS -mno-altivec -mno-vsx -msoft-float -mcmodel=medium)
elseif(_proc MATCHES "^s390x$")
  set(STASIS_ARCH s390x)
  set(STASIS_PIE_ARCH_FLAGS -msoft-float -mno-vx -mpacked-stack)
else()
  message(FATAL_ERROR "stasis: unsupported processor '${CMAKE_SYSTEM_PROCESSOR}' "
                      "(supported: x86_64, aarch64, arm, ppc64le, s390x)")
endif()
message(STATUS "stasis: target architecture ${STASIS_ARCH}")
