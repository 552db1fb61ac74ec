// Dynamic symbols of an ELF image that is mapped as one contiguous blob — the
// vDSO as the kernel maps it, or the vDSO bytes a dump recorded.
//
// The parser walks what the dynamic linker walks (program headers, PT_DYNAMIC,
// DT_GNU_HASH or DT_HASH, DT_SYMTAB/DT_STRTAB, DT_VERSYM/DT_VERDEF), never the
// section headers, which a mapped image need not carry. It reads ELF32 and
// ELF64 of either byte order regardless of the host, and treats the bytes as
// hostile: every offset, count and string is bounds-checked and a malformed
// image is refused with an Error naming what is wrong — never a crash.
//
// Used by `stasis check` (the running kernel's vDSO), the dump (recording the
// vDSO's symbols) and the restore's vDSO proxy (matching symbols across
// kernels).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/util/result.h"

namespace stasis::vdso {

enum class ElfClass : uint8_t { elf32 = 1, elf64 = 2 };
enum class ByteOrder : uint8_t { little = 1, big = 2 };

struct ElfSymbol {
    std::string name;
    std::string version;  // version definition name ("LINUX_2.6"), empty if unversioned
    uint64_t value = 0;   // st_value as linked
    uint64_t offset = 0;  // byte offset from the image start: where the code is in the mapping
    uint64_t size = 0;
    uint8_t type = 0;     // STT_*
    uint8_t binding = 0;  // STB_*
};

struct ElfSymbols {
    ElfClass elf_class = ElfClass::elf64;
    ByteOrder byte_order = ByteOrder::little;
    uint16_t machine = 0;            // EM_*
    uint64_t load_bias = 0;          // first PT_LOAD's p_vaddr - p_offset
    std::string build_id;            // NT_GNU_BUILD_ID as lowercase hex, empty if none
    std::vector<ElfSymbol> symbols;  // defined, named dynamic symbols in symbol-table order

    // The first symbol with this name (any version), or nullptr.
    const ElfSymbol *find(std::string_view name) const;
};

// Limits on what a well-formed vDSO can need; anything larger is refused as
// hostile rather than allocated.
inline constexpr uint32_t kMaxSymbols = 1u << 16;
inline constexpr uint32_t kMaxProgramHeaders = 256;

// Parses the dynamic symbols of the ELF image in `image`.
Result<ElfSymbols> parse_elf_symbols(std::span<const uint8_t> image);

}  // namespace stasis::vdso
