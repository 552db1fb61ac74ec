# cmake -DELF=<linked blob> -DBIN=<raw blob> -DSYMS=<nm output> -DREL=<readelf -r output>
cmake_minimum_required(VERSION 3.25)
#       -DNAME=<c identifier> -DOUT=<file.cc> -P EmbedBlob.cmake
#
# Embeds one PIE blob into the stasis binary: the raw bytes (objcopy -O
# binary), the offset of every global symbol (entry points, the argument
# block), and the number of dynamic relocations the linker left. The blob
# checker (tests/unit) refuses a blob with any relocation left; the engine
# refuses to inject it too.
file(READ "${BIN}" _hex HEX)
string(LENGTH "${_hex}" _hexlen)
math(EXPR _size "${_hexlen} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," _bytes "${_hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" _bytes "${_bytes}")

file(STRINGS "${SYMS}" _symlines)
# Offsets are taken from pie_blob_start, the first byte of the .blob section
# (the ELF headers may precede it in the linked file).
set(_base "")
foreach(_l IN LISTS _symlines)
  if(_l MATCHES "^pie_blob_start [A-Za-z] ([0-9a-f]+)")
    set(_base ${CMAKE_MATCH_1})
  endif()
endforeach()
if(_base STREQUAL "")
  message(FATAL_ERROR "${ELF}: no pie_blob_start symbol (link with pie/blob.lds)")
endif()
math(EXPR _base "0x${_base}")
set(_syms "")
foreach(_l IN LISTS _symlines)
  # nm -P: "name type value size"
  if(_l MATCHES "^([A-Za-z_][A-Za-z0-9_]*) [TtDdBbRr] ([0-9a-f]+)")
    set(_sym ${CMAKE_MATCH_1})
    set(_val ${CMAKE_MATCH_2})
    if(_sym MATCHES "^pie_")
      math(EXPR _off "0x${_val} - ${_base}")
      string(APPEND _syms "    {\"${_sym}\", ${_off}},\n")
    endif()
  endif()
  # ARM/AArch64 mapping symbols ($a ARM code, $t Thumb code, $x A64 code, $d
  # data, optionally with a ".n" suffix): the blob checker decodes only code.
  if(_l MATCHES "^\\$([adtx])(\\.[0-9]+)? [A-Za-z] ([0-9a-f]+)")
    math(EXPR _off "0x${CMAKE_MATCH_3} - ${_base}")
    string(APPEND _syms "    {\"$${CMAKE_MATCH_1}\", ${_off}},\n")
  endif()
endforeach()

file(STRINGS "${REL}" _rellines)
set(_nrel 0)
foreach(_l IN LISTS _rellines)
  if(_l MATCHES "^[0-9a-f]+ +[0-9a-f]+ +R_")
    math(EXPR _nrel "${_nrel} + 1")
  endif()
endforeach()

file(WRITE "${OUT}" "// Generated from ${ELF} by cmake/EmbedBlob.cmake. Do not edit.
#include \"pie/blob.h\"

namespace stasis::pie {
namespace {
alignas(64) const unsigned char kBytes[] = {
${_bytes}
};
const BlobSymbol kSymbols[] = {
${_syms}};
}  // namespace

// extern: a namespace-scope const has internal linkage otherwise, and not
// every blob is declared in pie/blob.h (test blobs are not).
extern const Blob ${NAME};
const Blob ${NAME} = {
    \"${NAME}\",
    kBytes,
    ${_size},
    kSymbols,
    sizeof(kSymbols) / sizeof(kSymbols[0]),
    ${_nrel},
};
}  // namespace stasis::pie
")
