#include "common/files/build_id.h"

#include <elf.h>
#include <unistd.h>

#include <cstring>
#include <vector>

namespace stasis::files {
namespace {

template <typename Ehdr, typename Phdr, typename Nhdr>
Result<std::string> scan(int fd, const unsigned char *ident) {
    Ehdr eh;
    if (::pread(fd, &eh, sizeof eh, 0) != ssize_t(sizeof eh)) return std::string();
    (void)ident;
    if (eh.e_phentsize != sizeof(Phdr) || eh.e_phnum == 0 || eh.e_phnum > 4096) return std::string();
    std::vector<Phdr> ph(eh.e_phnum);
    size_t bytes = ph.size() * sizeof(Phdr);
    if (::pread(fd, ph.data(), bytes, off_t(eh.e_phoff)) != ssize_t(bytes)) return std::string();
    for (const auto &p : ph) {
        if (p.p_type != PT_NOTE || p.p_filesz == 0 || p.p_filesz > (1 << 16)) continue;
        std::vector<unsigned char> notes(p.p_filesz);
        if (::pread(fd, notes.data(), notes.size(), off_t(p.p_offset)) != ssize_t(notes.size())) continue;
        size_t off = 0;
        while (off + sizeof(Nhdr) <= notes.size()) {
            Nhdr n;
            std::memcpy(&n, notes.data() + off, sizeof n);
            size_t name_at = off + sizeof n;
            size_t desc_at = name_at + ((n.n_namesz + 3) & ~size_t(3));
            size_t next = desc_at + ((n.n_descsz + 3) & ~size_t(3));
            if (n.n_namesz > notes.size() || n.n_descsz > notes.size() || next > notes.size()) break;
            if (n.n_type == NT_GNU_BUILD_ID && n.n_namesz == 4 &&
                std::memcmp(notes.data() + name_at, "GNU", 4) == 0 && n.n_descsz <= 64)
                return std::string(reinterpret_cast<const char *>(notes.data() + desc_at), n.n_descsz);
            off = next;
        }
    }
    return std::string();
}

}  // namespace

Result<std::string> read_build_id(int fd) {
    unsigned char ident[EI_NIDENT];
    ssize_t n = ::pread(fd, ident, sizeof ident, 0);
    if (n < 0) return Error::from_errno("read ELF header");
    if (n != EI_NIDENT || std::memcmp(ident, ELFMAG, SELFMAG) != 0) return std::string();
    // Only files of this machine's class and byte order can be mapped by
    // the processes stasis dumps.
    const uint16_t probe = 1;
    int native_data = *reinterpret_cast<const uint8_t *>(&probe) == 1 ? ELFDATA2LSB : ELFDATA2MSB;
    if (ident[EI_DATA] != native_data) return std::string();
    if (ident[EI_CLASS] == ELFCLASS64) return scan<Elf64_Ehdr, Elf64_Phdr, Elf64_Nhdr>(fd, ident);
    if (ident[EI_CLASS] == ELFCLASS32) return scan<Elf32_Ehdr, Elf32_Phdr, Elf32_Nhdr>(fd, ident);
    return std::string();
}

}  // namespace stasis::files
