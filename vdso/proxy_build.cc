#include "vdso/proxy.h"

#include <elf.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <span>

#include "arch/vdso_code.h"
#include "common/util/log.h"
#include "vdso/elf_symbols.h"

namespace stasis::vdso {

// A position-independent syscall (s390x's __kernel_restart_syscall is 4
// bytes, too short for any trampoline) that unwinders recognise by its
// bytes.
bool keeps_own_code(std::string_view name) {
    return name.find("sigreturn") != std::string_view::npos || name.find("sigtramp") != std::string_view::npos ||
           name.find("restart_syscall") != std::string_view::npos;
}

namespace {

constexpr uint64_t kMaxStandInBytes = 4 << 20;

std::span<const uint8_t> bytes_of(const std::string &s) {
    return {reinterpret_cast<const uint8_t *>(s.data()), s.size()};
}

struct Entry {
    uint64_t offset = 0;  // from the image start, Thumb bit cleared
    bool thumb = false;
    uint64_t size = 0;
    const ElfSymbol *sym = nullptr;
};

// Function entries by offset (aliases share one: clock_gettime and
// __vdso_clock_gettime on x86_64).
std::vector<Entry> function_entries(const ElfSymbols &syms) {
    std::map<uint64_t, Entry> by_offset;
    for (const auto &s : syms.symbols) {
        if (s.type != STT_FUNC) continue;
        Entry e;
        e.thumb = syms.machine == EM_ARM && (s.offset & 1);
        e.offset = s.offset & ~uint64_t(e.thumb ? 1 : 0);
        e.size = s.size;
        e.sym = &s;
        auto [it, fresh] = by_offset.emplace(e.offset, e);
        // Prefer the __vdso_/__kernel_ spelling: its name decides the fallback.
        if (!fresh && s.name.size() > it->second.sym->name.size()) it->second.sym = &s;
    }
    std::vector<Entry> out;
    for (auto &[off, e] : by_offset) out.push_back(e);
    return out;
}

const ElfSymbol *same_symbol(const ElfSymbols &in, const ElfSymbol &s) {
    for (const auto &c : in.symbols)
        if (c.type == STT_FUNC && c.name == s.name && c.version == s.version) return &c;
    for (const auto &c : in.symbols)
        if (c.type == STT_FUNC && c.name == s.name) return &c;
    return nullptr;
}

}  // namespace

uint64_t fallback_stubs_at(const std::string &image) {
    uint64_t end = image.size();
    while (end > 0 && image[end - 1] == 0) --end;
    uint64_t at = (end + 16 + 15) & ~uint64_t(15);
    return at < image.size() ? at : image.size();
}

std::string area_name(images::VmaKind kind) {
    switch (kind) {
        case images::VMA_VDSO: return "[vdso]";
        case images::VMA_VVAR: return "[vvar]";
        case images::VMA_VVAR_VCLOCK: return "[vvar_vclock]";
        case images::VMA_SIGPAGE: return "[sigpage]";
        case images::VMA_VECTORS: return "[vectors]";
        case images::VMA_VSYSCALL: return "[vsyscall]";
        default: return "[?]";
    }
}

Result<Proxy> build_proxy(const images::VdsoInfo &saved, const std::string &current_image, uint64_t current_vdso_at,
                          uint64_t page_size, bool only_fallbacks) {
    if (saved.image().empty())
        return Error("the images do not hold the dumped vDSO's bytes (made by an older stasis): cannot build a proxy");
    STASIS_ASSIGN(ElfSymbols old_syms, std::move(parse_elf_symbols(bytes_of(saved.image()))).context("dumped vDSO"));
    STASIS_ASSIGN(ElfSymbols new_syms, std::move(parse_elf_symbols(bytes_of(current_image))).context("this kernel's vDSO"));
    if (old_syms.machine != new_syms.machine)
        return Error(log::cat("the dumped vDSO is for ELF machine ", old_syms.machine, ", this kernel's for ",
                              new_syms.machine));

    const images::VdsoArea *old_vdso = nullptr;
    std::vector<const images::VdsoArea *> stand_ins;
    for (const auto &a : saved.areas()) {
        if (!stands_in_proxy(a.kind())) continue;
        if (a.kind() == images::VMA_VDSO) old_vdso = &a;
        stand_ins.push_back(&a);
    }
    if (!old_vdso) return Error("the dumped process had no [vdso] area");
    for (const auto *a : stand_ins) {
        // Kernels map a few pages of vDSO and vvar: a larger area is a
        // hostile image, not something to allocate.
        if (a->end() <= a->start() || a->end() - a->start() > kMaxStandInBytes)
            return Error(log::cat("the dumped ", area_name(a->kind()), " is ", a->end() - a->start(),
                                  " bytes: not a vDSO area"));
    }
    if (stand_ins.size() > ProxyMark::kMaxAreas) return Error("too many vDSO/vvar areas for a proxy");
    const uint64_t vdso_len = old_vdso->end() - old_vdso->start();
    if (saved.image().size() > vdso_len) return Error("the dumped vDSO image is larger than its area");

    Proxy p;
    // The code: the old image, its function entries patched.
    std::vector<uint8_t> code(vdso_len, 0);
    std::memcpy(code.data(), saved.image().data(), saved.image().size());
    const auto olds = function_entries(old_syms);
    uint64_t stubs = fallback_stubs_at(saved.image());
    for (size_t i = 0; i < olds.size(); ++i) {
        const Entry &e = olds[i];
        const ElfSymbol &s = *e.sym;
        if (keeps_own_code(s.name)) {
            ++p.kept;
            continue;
        }
        // Room: the symbol's size, never past the next entry or the image.
        uint64_t limit = i + 1 < olds.size() ? olds[i + 1].offset : saved.image().size();
        uint64_t room = limit > e.offset ? limit - e.offset : 0;
        if (e.size && e.size < room) room = e.size;
        arch::CodeAddr from{old_vdso->start() + e.offset, e.thumb};
        std::vector<uint8_t> patch;
        const ElfSymbol *n = only_fallbacks ? nullptr : same_symbol(new_syms, s);
        if (n) {
            bool thumb = new_syms.machine == EM_ARM && (n->offset & 1);
            arch::CodeAddr to{current_vdso_at + (n->offset & ~uint64_t(thumb ? 1 : 0)), thumb};
            STASIS_ASSIGN(patch, std::move(arch::vdso_trampoline(from, to, room)).context("trampoline for " + s.name));
            ++p.trampolines;
        } else {
            long nr = arch::vdso_fallback_syscall(s.name);
            // In the tail when it has room (see fallback_stubs_at), else
            // at the entry itself.
            arch::CodeAddr stub{old_vdso->start() + stubs, e.thumb};
            const uint64_t tail_room = stubs < saved.image().size() ? saved.image().size() - stubs : 0;
            auto code_there = arch::vdso_fallback(stub, nr, tail_room);
            auto jump = code_there.ok() ? arch::vdso_trampoline(from, stub, room) : Result<std::vector<uint8_t>>(Error(""));
            if (code_there.ok() && jump.ok()) {
                std::memcpy(code.data() + stubs, code_there->data(), code_there->size());
                stubs = (stubs + code_there->size() + 15) & ~uint64_t(15);
                patch = std::move(*jump);
            } else {
                STASIS_ASSIGN(patch, std::move(arch::vdso_fallback(from, nr, room)).context("fallback for " + s.name));
            }
            p.missing.push_back(s.name + (nr < 0 ? " (ENOSYS)" : ""));
            ++p.fallbacks;
        }
        if (patch.size() > room) return Error("code for " + s.name + " does not fit its " + std::to_string(room) + " bytes");
        std::memcpy(code.data() + e.offset, patch.data(), patch.size());
    }

    // The mapping of each stand-in area, in address order.
    std::sort(stand_ins.begin(), stand_ins.end(),
              [](const images::VdsoArea *a, const images::VdsoArea *b) { return a->start() < b->start(); });
    const images::VdsoArea *last_vvar = nullptr;
    for (const auto *a : stand_ins)
        if (a->kind() != images::VMA_VDSO) last_vvar = a;
    if (!last_vvar) return Error("the dumped process had no [vvar] area to carry the proxy mark");
    ProxyMark mark{};
    std::memcpy(mark.magic, ProxyMark::kMagic, sizeof mark.magic);
    mark.version = ProxyMark::kVersion;
    for (const auto *a : stand_ins) {
        if ((a->start() | a->end()) % page_size) return Error("a dumped vDSO area is not page-aligned");
        mark.areas[mark.nr_areas++] = {uint32_t(a->kind()), 0, a->start(), a->end()};
    }
    for (const auto *a : stand_ins) {
        ProxyMapping m;
        m.stands_for = a->kind();
        m.start = a->start();
        m.end = a->end();
        m.offset = p.bytes.size();
        if (a->kind() == images::VMA_VDSO) {
            m.prot = PROT_READ | PROT_EXEC;
            p.bytes.insert(p.bytes.end(), code.begin(), code.end());
        } else {
            m.prot = PROT_READ;
            p.bytes.resize(p.bytes.size() + (a->end() - a->start()), 0);
            if (a == last_vvar) std::memcpy(p.bytes.data() + m.offset + (mark_address(a->end()) - a->start()), &mark, sizeof mark);
        }
        p.mappings.push_back(m);
    }
    return p;
}

}  // namespace stasis::vdso
