# Finds the Debian-packaged libraries stasis uses: protobuf (images), capstone
# (instruction decoding), Boost.Program_options (CLI), GoogleTest (tests).
# With STASIS_STATIC=ON only static archives are accepted, so the result is
# one self-contained binary (the target-device build).
if(STASIS_STATIC)
  set(CMAKE_FIND_LIBRARY_SUFFIXES .a)
  set(Boost_USE_STATIC_LIBS ON)
  set(Protobuf_USE_STATIC_LIBS ON)
endif()

set(THREADS_PREFER_PTHREAD_FLAG ON)
find_package(Threads REQUIRED)
find_package(Protobuf REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS program_options)
find_package(PkgConfig REQUIRED)
pkg_check_modules(CAPSTONE REQUIRED IMPORTED_TARGET capstone)

# capstone's .pc names the shared library; for a static link point at the
# archive explicitly.
if(STASIS_STATIC)
  find_library(CAPSTONE_STATIC_LIB NAMES libcapstone.a REQUIRED)
  add_library(stasis_capstone INTERFACE)
  target_link_libraries(stasis_capstone INTERFACE ${CAPSTONE_STATIC_LIB})
  target_include_directories(stasis_capstone INTERFACE ${CAPSTONE_INCLUDE_DIRS})
  find_library(ZLIB_STATIC_LIB NAMES libz.a REQUIRED)
else()
  add_library(stasis_capstone INTERFACE)
  target_link_libraries(stasis_capstone INTERFACE PkgConfig::CAPSTONE)
endif()

if(STASIS_TESTS)
  find_package(GTest REQUIRED)
endif()
