# cmake -DTABLE=arch/<arch>/syscalls.tbl -DOUT=<dir>/stasis_syscalls.h -P GenSyscalls.cmake
cmake_minimum_required(VERSION 3.25)
#
# Turns one declarative syscall table ("name number" per line, '#' comments)
# into a header usable from freestanding C (pie/) and from the C++ engine.
# The rest of the code names syscalls (STASIS_NR_mmap, stasis::sys::mmap);
# no number is written anywhere else.
file(STRINGS "${TABLE}" _lines)
set(_defs "")
set(_cxx "")
set(_names "")
set(_seen_names "")
foreach(_line IN LISTS _lines)
  string(REGEX REPLACE "#.*$" "" _line "${_line}")
  string(STRIP "${_line}" _line)
  if(_line STREQUAL "")
    continue()
  endif()
  if(NOT _line MATCHES "^([a-z_][a-z0-9_]*)[ \t]+([0-9]+)$")
    message(FATAL_ERROR "${TABLE}: malformed line '${_line}' (want: name number)")
  endif()
  set(_name ${CMAKE_MATCH_1})
  set(_nr ${CMAKE_MATCH_2})
  if(_name IN_LIST _seen_names)
    message(FATAL_ERROR "${TABLE}: syscall '${_name}' listed twice")
  endif()
  list(APPEND _seen_names ${_name})
  string(APPEND _defs "#define STASIS_NR_${_name} ${_nr}\n")
  string(APPEND _cxx "inline constexpr long ${_name} = ${_nr};\n")
  string(APPEND _names "    {${_nr}, \"${_name}\"},\n")
endforeach()
set(_content "/* Generated from ${TABLE} by cmake/GenSyscalls.cmake. Do not edit. */
#ifndef STASIS_SYSCALLS_H
#define STASIS_SYSCALLS_H

${_defs}
#ifdef __cplusplus
namespace stasis::sys {
${_cxx}
struct SyscallName {
    long nr;
    const char *name;
};
inline constexpr SyscallName kNames[] = {
${_names}};
}  // namespace stasis::sys
#endif

#endif
")
# Only touch the output when it changes, so dependents do not rebuild.
if(EXISTS "${OUT}")
  file(READ "${OUT}" _old)
  if(_old STREQUAL _content)
    return()
  endif()
endif()
file(WRITE "${OUT}" "${_content}")
