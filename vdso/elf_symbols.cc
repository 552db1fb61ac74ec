#include "vdso/elf_symbols.h"

#include <elf.h>

#include <cstring>
#include <optional>
#include <utility>

#include "common/util/log.h"

namespace stasis::vdso {
namespace {

using log::hex;

// Where the fields we read sit in each ELF class (ELF gABI). p_type, d_tag
// and st_name are at offset 0 in both classes.
struct Layout {
    uint64_t word_size;  // Elf_Addr / Elf_Off / Elf_Xword
    uint64_t ehdr_size, e_phoff_at, e_phentsize_at, e_phnum_at;
    uint64_t phdr_size, p_offset_at, p_vaddr_at, p_filesz_at, p_align_at;
    uint64_t dyn_size;
    uint64_t sym_size, st_value_at, st_size_at, st_info_at, st_shndx_at;
};
constexpr Layout kLayout32{.word_size = 4,
                           .ehdr_size = 52,
                           .e_phoff_at = 28,
                           .e_phentsize_at = 42,
                           .e_phnum_at = 44,
                           .phdr_size = 32,
                           .p_offset_at = 4,
                           .p_vaddr_at = 8,
                           .p_filesz_at = 16,
                           .p_align_at = 28,
                           .dyn_size = 8,
                           .sym_size = 16,
                           .st_value_at = 4,
                           .st_size_at = 8,
                           .st_info_at = 12,
                           .st_shndx_at = 14};
constexpr Layout kLayout64{.word_size = 8,
                           .ehdr_size = 64,
                           .e_phoff_at = 32,
                           .e_phentsize_at = 54,
                           .e_phnum_at = 56,
                           .phdr_size = 56,
                           .p_offset_at = 8,
                           .p_vaddr_at = 16,
                           .p_filesz_at = 32,
                           .p_align_at = 48,
                           .dyn_size = 16,
                           .sym_size = 24,
                           .st_value_at = 8,
                           .st_size_at = 16,
                           .st_info_at = 4,
                           .st_shndx_at = 6};

// Bounds-checked reads in the image's byte order.
class Bytes {
  public:
    Bytes(std::span<const uint8_t> bytes, ByteOrder order) : bytes_(bytes), order_(order) {}

    uint64_t size() const { return bytes_.size(); }
    // True when [offset, offset + length) lies inside the image (overflow-safe).
    bool has(uint64_t offset, uint64_t length) const {
        return offset <= bytes_.size() && length <= bytes_.size() - offset;
    }
    std::optional<uint64_t> read(uint64_t offset, uint64_t width) const {
        if (!has(offset, width)) return std::nullopt;
        uint64_t v = 0;
        for (uint64_t i = 0; i < width; i++) {
            uint64_t byte = bytes_[offset + (order_ == ByteOrder::little ? width - 1 - i : i)];
            v = (v << 8) | byte;
        }
        return v;
    }
    const uint8_t *data(uint64_t offset) const { return bytes_.data() + offset; }

  private:
    std::span<const uint8_t> bytes_;
    ByteOrder order_;
};

Error malformed(std::string_view what) { return Error(log::cat("malformed ELF image: ", what)); }

struct LoadSegment {
    uint64_t offset, vaddr, filesz;
};

// What PT_DYNAMIC tells us; 0 means absent.
struct DynamicInfo {
    uint64_t hash = 0, gnu_hash = 0, symtab = 0, strtab = 0, strsz = 0, syment = 0;
    uint64_t versym = 0, verdef = 0, verdefnum = 0;
};

class Parser {
  public:
    explicit Parser(std::span<const uint8_t> image) : bytes_(image, ByteOrder::little) {}

    Result<ElfSymbols> run();

  private:
    Status read_ident();
    Status read_program_headers();
    Status read_dynamic();
    Result<uint64_t> file_offset(uint64_t vaddr, uint64_t length, std::string_view what) const;
    Result<uint32_t> count_symbols() const;
    Result<uint32_t> count_symbols_gnu_hash() const;
    Result<uint32_t> count_symbols_sysv_hash() const;
    Result<std::string_view> string_at(uint64_t name_offset) const;
    Status read_version_definitions();
    Status read_symbols(uint32_t count);
    Status read_build_id(uint64_t offset, uint64_t size, uint64_t align);

    uint64_t word(uint64_t offset) const { return *bytes_.read(offset, layout_->word_size); }

    Bytes bytes_;
    const Layout *layout_ = &kLayout64;
    ElfSymbols out_;
    std::vector<LoadSegment> loads_;
    std::vector<std::pair<uint64_t, uint64_t>> notes_;  // offset, size
    std::vector<uint64_t> note_aligns_;
    std::optional<std::pair<uint64_t, uint64_t>> dynamic_;  // offset, size
    DynamicInfo dyn_;
    uint64_t strtab_offset_ = 0;
    std::vector<std::pair<uint16_t, std::string>> version_names_;  // verdef index -> name
};

Status Parser::read_ident() {
    if (!bytes_.has(0, EI_NIDENT))
        return malformed(log::cat("image of ", bytes_.size(), " bytes is shorter than e_ident"));
    if (std::memcmp(bytes_.data(0), ELFMAG, SELFMAG) != 0) return malformed("no ELF magic");
    uint8_t elf_class = *bytes_.data(EI_CLASS), data = *bytes_.data(EI_DATA),
            version = *bytes_.data(EI_VERSION);
    if (elf_class != ELFCLASS32 && elf_class != ELFCLASS64)
        return malformed(log::cat("unknown class ", int(elf_class)));
    if (data != ELFDATA2LSB && data != ELFDATA2MSB)
        return malformed(log::cat("unknown byte order ", int(data)));
    if (version != EV_CURRENT) return malformed(log::cat("unknown ELF version ", int(version)));
    out_.elf_class = elf_class == ELFCLASS32 ? ElfClass::elf32 : ElfClass::elf64;
    out_.byte_order = data == ELFDATA2LSB ? ByteOrder::little : ByteOrder::big;
    layout_ = elf_class == ELFCLASS32 ? &kLayout32 : &kLayout64;
    bytes_ = Bytes(std::span<const uint8_t>(bytes_.data(0), bytes_.size()), out_.byte_order);
    if (!bytes_.has(0, layout_->ehdr_size)) return malformed("truncated ELF header");
    out_.machine = uint16_t(*bytes_.read(18, 2));
    return ok();
}

Status Parser::read_program_headers() {
    const uint64_t phoff = word(layout_->e_phoff_at);
    const uint64_t phentsize = *bytes_.read(layout_->e_phentsize_at, 2);
    const uint64_t phnum = *bytes_.read(layout_->e_phnum_at, 2);
    if (phnum == 0 || phnum > kMaxProgramHeaders) return malformed(log::cat("e_phnum ", phnum));
    if (phentsize < layout_->phdr_size) return malformed(log::cat("e_phentsize ", phentsize));
    if (!bytes_.has(phoff, phentsize * phnum))
        return malformed(log::cat("program headers at ", hex(phoff), " run past the image end"));
    for (uint64_t i = 0; i < phnum; i++) {
        const uint64_t ph = phoff + i * phentsize;
        const uint64_t type = *bytes_.read(ph, 4);
        const uint64_t offset = word(ph + layout_->p_offset_at);
        const uint64_t vaddr = word(ph + layout_->p_vaddr_at);
        const uint64_t filesz = word(ph + layout_->p_filesz_at);
        if (type != PT_LOAD && type != PT_DYNAMIC && type != PT_NOTE) continue;
        if (!bytes_.has(offset, filesz))
            return malformed(log::cat("program header ", i, " (type ", type, ") covers ", hex(offset), "+",
                                      hex(filesz), ", outside the image of ", hex(bytes_.size()), " bytes"));
        if (type == PT_LOAD) loads_.push_back({offset, vaddr, filesz});
        if (type == PT_DYNAMIC) dynamic_ = {offset, filesz};
        if (type == PT_NOTE) {
            notes_.emplace_back(offset, filesz);
            note_aligns_.push_back(word(ph + layout_->p_align_at));
        }
    }
    if (loads_.empty()) return malformed("no PT_LOAD segment");
    if (!dynamic_) return malformed("no PT_DYNAMIC segment");
    out_.load_bias = loads_.front().vaddr - loads_.front().offset;
    return ok();
}

Status Parser::read_dynamic() {
    const auto [offset, size] = *dynamic_;
    const uint64_t entries = size / layout_->dyn_size;
    bool terminated = false;
    for (uint64_t i = 0; i < entries && !terminated; i++) {
        const uint64_t at = offset + i * layout_->dyn_size;
        const uint64_t tag = word(at);
        const uint64_t value = word(at + layout_->word_size);
        switch (tag) {
            case DT_NULL:
                terminated = true;
                break;
            case DT_HASH:
                dyn_.hash = value;
                break;
            case DT_GNU_HASH:
                dyn_.gnu_hash = value;
                break;
            case DT_SYMTAB:
                dyn_.symtab = value;
                break;
            case DT_STRTAB:
                dyn_.strtab = value;
                break;
            case DT_STRSZ:
                dyn_.strsz = value;
                break;
            case DT_SYMENT:
                dyn_.syment = value;
                break;
            case DT_VERSYM:
                dyn_.versym = value;
                break;
            case DT_VERDEF:
                dyn_.verdef = value;
                break;
            case DT_VERDEFNUM:
                dyn_.verdefnum = value;
                break;
            default:
                break;
        }
    }
    if (!terminated) return malformed("PT_DYNAMIC has no DT_NULL terminator");
    if (!dyn_.symtab || !dyn_.strtab || !dyn_.strsz)
        return malformed("DT_SYMTAB, DT_STRTAB or DT_STRSZ missing");
    if (!dyn_.hash && !dyn_.gnu_hash)
        return malformed("neither DT_HASH nor DT_GNU_HASH: symbol count unknown");
    if (dyn_.syment && dyn_.syment != layout_->sym_size)
        return malformed(log::cat("DT_SYMENT ", dyn_.syment));
    STASIS_ASSIGN(strtab_offset_, file_offset(dyn_.strtab, dyn_.strsz, "DT_STRTAB"));
    return ok();
}

// Translates a link-time address into an offset in the image through the
// PT_LOAD segment that contains all `length` bytes.
Result<uint64_t> Parser::file_offset(uint64_t vaddr, uint64_t length, std::string_view what) const {
    for (const auto &load : loads_) {
        if (vaddr < load.vaddr) continue;
        const uint64_t delta = vaddr - load.vaddr;
        if (delta > load.filesz || length > load.filesz - delta) continue;
        return load.offset + delta;
    }
    return malformed(log::cat(what, " ", hex(vaddr), "+", hex(length), " is not inside a loaded segment"));
}

// DT_GNU_HASH: the symbol count is one past the last index of the longest
// chain: start at the largest bucket and walk until the end-of-chain bit.
// Buckets and chains are 32-bit words in every class; bloom words are class-sized.
Result<uint32_t> Parser::count_symbols_gnu_hash() const {
    STASIS_ASSIGN(uint64_t h, file_offset(dyn_.gnu_hash, 16, "DT_GNU_HASH"));
    const uint64_t nbuckets = *bytes_.read(h, 4), symoffset = *bytes_.read(h + 4, 4);
    const uint64_t bloom_size = *bytes_.read(h + 8, 4);
    if (nbuckets > kMaxSymbols || bloom_size > kMaxSymbols || symoffset > kMaxSymbols)
        return malformed(log::cat("DT_GNU_HASH sizes nbuckets=", nbuckets, " bloom=", bloom_size));
    const uint64_t buckets = h + 16 + bloom_size * layout_->word_size;
    if (!bytes_.has(buckets, nbuckets * 4)) return malformed("DT_GNU_HASH buckets run past the image end");
    uint64_t last = 0;
    for (uint64_t b = 0; b < nbuckets; b++) last = std::max<uint64_t>(last, *bytes_.read(buckets + b * 4, 4));
    if (last == 0) return uint32_t(symoffset);
    if (last < symoffset) return malformed("DT_GNU_HASH bucket points below symoffset");
    const uint64_t chains = buckets + nbuckets * 4;
    for (uint64_t index = last; index < kMaxSymbols; index++) {
        auto entry = bytes_.read(chains + (index - symoffset) * 4, 4);
        if (!entry) return malformed("DT_GNU_HASH chain runs past the image end");
        if (*entry & 1) return uint32_t(index + 1);
    }
    return malformed("DT_GNU_HASH chain longer than the symbol limit");
}

// DT_HASH: nchain is the symbol count. Its words are 32-bit, except on 64-bit
// s390 where the psABI makes them 64-bit (glibc's Elf_Symndx agrees).
Result<uint32_t> Parser::count_symbols_sysv_hash() const {
    const uint64_t entry = (out_.machine == EM_S390 && out_.elf_class == ElfClass::elf64) ? 8 : 4;
    STASIS_ASSIGN(uint64_t h, file_offset(dyn_.hash, 2 * entry, "DT_HASH"));
    const uint64_t nchain = *bytes_.read(h + entry, entry);
    if (nchain > kMaxSymbols) return malformed(log::cat("DT_HASH nchain ", nchain));
    return uint32_t(nchain);
}

Result<uint32_t> Parser::count_symbols() const {
    return dyn_.gnu_hash ? count_symbols_gnu_hash() : count_symbols_sysv_hash();
}

Result<std::string_view> Parser::string_at(uint64_t name_offset) const {
    if (name_offset >= dyn_.strsz)
        return malformed(log::cat("string offset ", name_offset, " past DT_STRSZ"));
    const char *start = reinterpret_cast<const char *>(bytes_.data(strtab_offset_ + name_offset));
    const size_t room = dyn_.strsz - name_offset;
    const void *nul = std::memchr(start, 0, room);
    if (!nul)
        return malformed(log::cat("string at ", name_offset, " is not terminated inside the string table"));
    return std::string_view(start, static_cast<const char *>(nul) - start);
}

// DT_VERDEF: a chain of Elf_Verdef (vd_version, vd_flags, vd_ndx, vd_cnt,
// vd_hash, vd_aux, vd_next) whose first Elf_Verdaux names the version. The
// layout is the same in both classes. Links only move forward, so a bounded
// walk always ends.
Status Parser::read_version_definitions() {
    if (!dyn_.verdef || !dyn_.versym) return ok();
    STASIS_ASSIGN(uint64_t at, file_offset(dyn_.verdef, 20, "DT_VERDEF"));
    const uint64_t limit = dyn_.verdefnum ? std::min<uint64_t>(dyn_.verdefnum, 0x7fff) : 0x7fff;
    for (uint64_t i = 0; i < limit; i++) {
        if (!bytes_.has(at, 20)) return malformed("DT_VERDEF entry runs past the image end");
        if (*bytes_.read(at, 2) != VER_DEF_CURRENT) return malformed("unknown vd_version");
        const uint64_t flags = *bytes_.read(at + 2, 2), index = *bytes_.read(at + 4, 2);
        const uint64_t aux = *bytes_.read(at + 12, 4), next = *bytes_.read(at + 16, 4);
        auto name_offset = bytes_.read(at + aux, 4);
        if (!name_offset) return malformed("DT_VERDEF aux entry runs past the image end");
        STASIS_ASSIGN(std::string_view name, string_at(*name_offset));
        if (!(flags & VER_FLG_BASE)) version_names_.emplace_back(uint16_t(index & 0x7fff), std::string(name));
        if (next == 0) break;
        at += next;
    }
    return ok();
}

Status Parser::read_symbols(uint32_t count) {
    STASIS_ASSIGN(uint64_t table, file_offset(dyn_.symtab, uint64_t(count) * layout_->sym_size, "DT_SYMTAB"));
    std::optional<uint64_t> versym;
    if (!version_names_.empty()) {
        STASIS_ASSIGN(versym, file_offset(dyn_.versym, uint64_t(count) * 2, "DT_VERSYM"));
    }
    for (uint32_t i = 1; i < count; i++) {  // index 0 is the reserved null symbol
        const uint64_t sym = table + uint64_t(i) * layout_->sym_size;
        const uint64_t shndx = *bytes_.read(sym + layout_->st_shndx_at, 2);
        const uint64_t name_offset = *bytes_.read(sym, 4);
        // Undefined symbols import nothing from a vDSO; SHN_ABS ones name its
        // version definitions ("LINUX_2.6") and are not code.
        if (shndx == SHN_UNDEF || shndx == SHN_ABS || name_offset == 0) continue;
        STASIS_ASSIGN(std::string_view name, string_at(name_offset));
        ElfSymbol s;
        s.name = std::string(name);
        s.value = word(sym + layout_->st_value_at);
        s.size = word(sym + layout_->st_size_at);
        const uint8_t info = uint8_t(*bytes_.read(sym + layout_->st_info_at, 1));
        s.type = info & 0xf;
        s.binding = info >> 4;
        s.offset = s.value - out_.load_bias;
        if (!bytes_.has(s.offset, s.size))
            return malformed(log::cat("symbol ", s.name, " at ", hex(s.offset), "+", hex(s.size),
                                      " lies outside the image"));
        if (versym) {
            const uint64_t index = *bytes_.read(*versym + uint64_t(i) * 2, 2) & 0x7fff;
            for (const auto &[ndx, version] : version_names_)
                if (ndx == index) s.version = version;
        }
        out_.symbols.push_back(std::move(s));
    }
    return ok();
}

// PT_NOTE: namesz, descsz, type, then name and desc, each padded to the
// segment's alignment (4, or 8 for notes linked with 8-byte alignment).
Status Parser::read_build_id(uint64_t offset, uint64_t size, uint64_t align) {
    const uint64_t pad = align == 8 ? 8 : 4;
    auto round_up = [pad](uint64_t v) { return (v + pad - 1) / pad * pad; };
    uint64_t at = offset;
    while (at + 12 <= offset + size) {
        const uint64_t namesz = *bytes_.read(at, 4), descsz = *bytes_.read(at + 4, 4);
        const uint64_t type = *bytes_.read(at + 8, 4);
        if (namesz > size || descsz > size) return malformed("PT_NOTE entry larger than its segment");
        const uint64_t name_at = at + 12, desc_at = name_at + round_up(namesz);
        const uint64_t end = desc_at + round_up(descsz);
        if (end > offset + size) return malformed("PT_NOTE entry runs past its segment");
        if (type == NT_GNU_BUILD_ID && namesz == 4 && std::memcmp(bytes_.data(name_at), "GNU", 4) == 0) {
            static const char digits[] = "0123456789abcdef";
            for (uint64_t i = 0; i < descsz; i++) {
                const uint8_t b = *bytes_.data(desc_at + i);
                out_.build_id += digits[b >> 4];
                out_.build_id += digits[b & 0xf];
            }
            return ok();
        }
        at = end;
    }
    return ok();
}

Result<ElfSymbols> Parser::run() {
    STASIS_TRY(read_ident());
    STASIS_TRY(read_program_headers());
    STASIS_TRY(read_dynamic());
    STASIS_ASSIGN(uint32_t count, count_symbols());
    STASIS_TRY(read_version_definitions());
    STASIS_TRY(read_symbols(count));
    for (size_t i = 0; i < notes_.size() && out_.build_id.empty(); i++)
        STASIS_TRY(read_build_id(notes_[i].first, notes_[i].second, note_aligns_[i]));
    return std::move(out_);
}

}  // namespace

const ElfSymbol *ElfSymbols::find(std::string_view name) const {
    for (const auto &s : symbols)
        if (s.name == name) return &s;
    return nullptr;
}

Result<ElfSymbols> parse_elf_symbols(std::span<const uint8_t> image) { return Parser(image).run(); }

}  // namespace stasis::vdso
