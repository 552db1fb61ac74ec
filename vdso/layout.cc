#include "vdso/layout.h"

#include <algorithm>
#include <cstdio>

#include "common/ptrace/ptrace.h"
#include "vdso/elf_symbols.h"

namespace stasis::vdso {
namespace {

images::VmaKind special_kind(const std::string &name) {
    if (name == "[vdso]") return images::VMA_VDSO;
    if (name == "[vvar]") return images::VMA_VVAR;
    if (name == "[vvar_vclock]") return images::VMA_VVAR_VCLOCK;
    if (name == "[sigpage]") return images::VMA_SIGPAGE;
    return images::VMA_KIND_UNSPECIFIED;
}

std::string hex(uint64_t v) {
    char b[32];
    std::snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
    return b;
}

}  // namespace

Result<images::VdsoInfo> describe_process(pid_t pid, const std::vector<proc::Mapping> &maps) {
    images::VdsoInfo info;
    for (const auto &m : maps) {
        auto kind = special_kind(m.path);
        if (kind == images::VMA_KIND_UNSPECIFIED) continue;
        auto *a = info.add_areas();
        a->set_kind(kind);
        a->set_start(m.start);
        a->set_end(m.end);
        if (kind != images::VMA_VDSO) continue;
        std::vector<uint8_t> image(m.size());
        STASIS_TRY(std::move(ptrace::read_mem(pid, m.start, image.data(), image.size())).context("read [vdso]"));
        STASIS_ASSIGN(ElfSymbols syms, std::move(parse_elf_symbols(image)).context("[vdso]"));
        info.set_size(m.size());
        info.set_build_id(syms.build_id);
        info.set_image(image.data(), image.size());
        for (const auto &s : syms.symbols) {
            if (s.type != 2 /* STT_FUNC */ && s.type != 1 /* STT_OBJECT */) continue;
            auto *out = info.add_symbols();
            out->set_name(s.version.empty() ? s.name : s.name + "@" + s.version);
            out->set_offset(s.offset);
        }
    }
    return info;
}

Status check_in_place(const images::VdsoInfo &saved, const images::VdsoInfo &current) {
    if (saved.areas_size() != current.areas_size())
        return Error("the dumped process had " + std::to_string(saved.areas_size()) +
                     " vDSO/vvar areas, this kernel provides " + std::to_string(current.areas_size()));
    if (saved.areas_size() == 0) return ok();
    int64_t saved_base = int64_t(saved.areas(0).start()), cur_base = int64_t(current.areas(0).start());
    for (int i = 0; i < saved.areas_size(); ++i) {
        const auto &s = saved.areas(i), &c = current.areas(i);
        if (s.kind() != c.kind())
            return Error("area #" + std::to_string(i) + " is " + images::VmaKind_Name(s.kind()) + " in the image but " +
                         images::VmaKind_Name(c.kind()) + " here");
        if (s.end() - s.start() != c.end() - c.start())
            return Error(images::VmaKind_Name(s.kind()) + " is " + hex(s.end() - s.start()) + " bytes in the image, " +
                         hex(c.end() - c.start()) + " here");
        if (int64_t(s.start()) - saved_base != int64_t(c.start()) - cur_base)
            return Error(images::VmaKind_Name(s.kind()) + " sits at another offset from the first area than here");
    }
    if (saved.build_id() != current.build_id() || saved.symbols_size() != current.symbols_size()) {
        for (const auto &s : saved.symbols()) {
            auto it = std::find_if(current.symbols().begin(), current.symbols().end(),
                                   [&](const images::VdsoSymbol &c) { return c.name() == s.name(); });
            if (it == current.symbols().end()) return Error("vDSO symbol " + s.name() + " is missing here");
            if (it->offset() != s.offset())
                return Error("vDSO symbol " + s.name() + " is at " + hex(s.offset()) + " in the image, " +
                             hex(it->offset()) + " here");
        }
        if (saved.build_id() != current.build_id()) return Error("the vDSO build-id differs");
    }
    return ok();
}

}  // namespace stasis::vdso
