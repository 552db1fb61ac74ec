# stasis_add_pie_blob(<name> SOURCES <files...> [INCLUDES <dirs...>])
#
# Compiles freestanding position-independent code that runs inside another
# process (the parasite at dump, the restorer at restore), links it at
# address 0 into one self-contained image with a linker script, and embeds
# the raw bytes into the stasis binary as `stasis::pie::<name>` (see
# pie/blob.h). Nothing is left to relocate at run time: the link keeps
# dynamic relocations visible (-pie) only so that EmbedBlob.cmake can count
# them, and the blob checker refuses any.
#
# Result: an object library target <name>_embed to link into the engine.

find_program(STASIS_OBJCOPY NAMES ${CMAKE_OBJCOPY} ${CMAKE_LIBRARY_ARCHITECTURE}-objcopy objcopy REQUIRED)
find_program(STASIS_NM NAMES ${CMAKE_NM} ${CMAKE_LIBRARY_ARCHITECTURE}-nm nm REQUIRED)
find_program(STASIS_READELF NAMES ${CMAKE_LIBRARY_ARCHITECTURE}-readelf readelf REQUIRED)

set(STASIS_PIE_CFLAGS
    -std=gnu11 -O2 -g0 -ffreestanding -nostdlib -fpie -fno-plt
    -fno-stack-protector -fno-stack-clash-protection -fno-exceptions
    -fno-asynchronous-unwind-tables -fno-unwind-tables -fno-jump-tables
    -fno-builtin -fno-common -fvisibility=hidden -fno-tree-vectorize
    -fcf-protection=none
    -include ${PROJECT_SOURCE_DIR}/pie/hidden.h
    -Wall -Wextra -Werror
    ${STASIS_PIE_ARCH_FLAGS})
# -fcf-protection exists only on x86.
if(NOT STASIS_ARCH STREQUAL "x86_64")
  list(REMOVE_ITEM STASIS_PIE_CFLAGS -fcf-protection=none)
endif()
# Debian's aarch64 GCC defaults to -moutline-atomics: __atomic_* become calls
# into libgcc helpers that pick LSE or LL/SC at run time through glibc's
# __getauxval, which a blob does not have. Inline LL/SC works on every
# ARMv8 CPU.
if(STASIS_ARCH STREQUAL "aarch64")
  list(APPEND STASIS_PIE_CFLAGS -mno-outline-atomics)
endif()
# GCC for powerpc64 appends a traceback table (zero words and flag bytes)
# after each function, data in the middle of the code that the blob checker
# could not decode. Nothing in a blob unwinds.
if(STASIS_ARCH STREQUAL "ppc64le")
  list(APPEND STASIS_PIE_CFLAGS -mtraceback=no)
endif()

function(stasis_add_pie_blob name)
  cmake_parse_arguments(PIE "" "" "SOURCES;INCLUDES" ${ARGN})
  set(dir ${CMAKE_CURRENT_BINARY_DIR}/${name})
  file(MAKE_DIRECTORY ${dir})
  set(objs "")
  set(incflags "")
  foreach(inc IN LISTS PIE_INCLUDES)
    list(APPEND incflags -I${inc})
  endforeach()
  foreach(src IN LISTS PIE_SOURCES)
    get_filename_component(abs ${src} ABSOLUTE)
    get_filename_component(base ${src} NAME)
    set(obj ${dir}/${base}.o)
    add_custom_command(
      OUTPUT ${obj}
      COMMAND ${CMAKE_C_COMPILER} ${STASIS_PIE_CFLAGS} ${incflags}
              -I${PROJECT_SOURCE_DIR} -I${PROJECT_SOURCE_DIR}/arch/${STASIS_ARCH}
              -I${STASIS_GENERATED_DIR}
              -MD -MF ${obj}.d -c ${abs} -o ${obj}
      DEPENDS ${abs} stasis_syscalls_h ${PROJECT_SOURCE_DIR}/pie/hidden.h
      DEPFILE ${obj}.d
      COMMENT "PIE ${name}: ${base}"
      VERBATIM)
    list(APPEND objs ${obj})
  endforeach()
  set(elf ${dir}/${name}.elf)
  set(bin ${dir}/${name}.bin)
  set(syms ${dir}/${name}.syms)
  set(rel ${dir}/${name}.rel)
  set(cc ${dir}/${name}_embed.cc)
  set(lds ${PROJECT_SOURCE_DIR}/pie/blob.lds)
  # blob.lds INCLUDEs the arch's code-gap fill (a no-op instruction) from here.
  set(lds_dir ${PROJECT_SOURCE_DIR}/arch/${STASIS_ARCH}/pie)
  add_custom_command(
    OUTPUT ${elf} ${bin} ${syms} ${rel}
    COMMAND ${CMAKE_C_COMPILER} -nostdlib -nostartfiles -static-pie -Wl,--no-dynamic-linker
            -Wl,-L,${lds_dir} -Wl,-T,${lds} -Wl,-z,norelro -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments -Wl,--build-id=none
            -Wl,--no-undefined -Wl,-e,pie_entry
            ${objs} -lgcc -o ${elf}
    COMMAND ${STASIS_OBJCOPY} -O binary --only-section=.blob ${elf} ${bin}
    # --special-syms keeps the ARM/AArch64 mapping symbols ($a/$x code, $d
    # data such as literal pools) that tell the blob checker what to decode.
    COMMAND ${STASIS_NM} -P --defined-only --special-syms ${elf} > ${syms}
    COMMAND ${STASIS_READELF} -W -r ${elf} > ${rel}
    DEPENDS ${objs} ${lds} ${lds_dir}/text_fill.lds
    COMMENT "PIE ${name}: link"
    VERBATIM)
  add_custom_command(
    OUTPUT ${cc}
    COMMAND ${CMAKE_COMMAND} -DELF=${elf} -DBIN=${bin} -DSYMS=${syms} -DREL=${rel}
            -DNAME=${name} -DOUT=${cc} -P ${PROJECT_SOURCE_DIR}/cmake/EmbedBlob.cmake
    DEPENDS ${elf} ${bin} ${syms} ${rel} ${PROJECT_SOURCE_DIR}/cmake/EmbedBlob.cmake
    COMMENT "PIE ${name}: embed"
    VERBATIM)
  add_library(${name}_embed OBJECT ${cc})
  target_include_directories(${name}_embed PRIVATE ${PROJECT_SOURCE_DIR})
endfunction()
