// Checks of mm-<pid>.img, pagemap-<pid>.img and vdso-<pid>.img: every
// address range the restorer will map or fill is sorted, disjoint, aligned
// and inside the mappings it belongs to.
#include <sys/mman.h>

#include <algorithm>
#include <limits>

#include "common/images/format.h"
#include "common/images/validate.h"
#include "common/util/log.h"

namespace stasis::images::validate {
namespace {

constexpr uint64_t kKnownPagemapFlags = PAGEMAP_IN_PARENT | PAGEMAP_LAZY | PAGEMAP_ZERO;

bool aligned(uint64_t v, uint64_t page_size) { return (v & (page_size - 1)) == 0; }

bool file_backed(VmaKind kind) { return kind == VMA_FILE_PRIVATE || kind == VMA_FILE_SHARED; }

// Mappings the kernel provides whose content is not the task's: pages
// recorded for them could only be written over kernel data at restore.
bool never_has_pages(VmaKind kind) {
    return kind == VMA_VVAR || kind == VMA_VVAR_VCLOCK || kind == VMA_VSYSCALL || kind == VMA_VECTORS;
}

bool vdso_like(VmaKind kind) {
    return kind == VMA_VDSO || kind == VMA_VVAR || kind == VMA_VVAR_VCLOCK || kind == VMA_SIGPAGE ||
           kind == VMA_VECTORS || kind == VMA_VSYSCALL;
}

std::string vma_label(const std::vector<Vma> &vmas, size_t i) {
    return log::cat("vma #", i, " ", range(vmas[i].start(), vmas[i].end()));
}

// Checks that [start, end) lies inside the (sorted, disjoint) vmas without a
// gap. With `pages`, also refuses vmas that never have page data.
Status covered_by_vmas(const std::vector<Vma> &vmas, uint64_t start, uint64_t end, bool pages) {
    auto it = std::upper_bound(vmas.begin(), vmas.end(), start,
                               [](uint64_t addr, const Vma &v) { return addr < v.end(); });
    uint64_t at = start;
    for (; at < end; ++it) {
        if (it == vmas.end() || it->start() > at) return Error("lies outside every vma");
        if (pages && never_has_pages(it->kind()))
            return Error(log::cat("has pages in ", vma_label(vmas, size_t(it - vmas.begin())), " (",
                                  VmaKind_Name(it->kind()), "), which never has page data"));
        at = it->end();
    }
    return ok();
}

Status mm_fields(const MmHeader &mm, const FileIndex &files) {
    if (mm.exe_file_id() != 0) {
        auto f = files.find(mm.exe_file_id());
        if (f == files.end() || !f->second->has_reg())
            return Error(log::cat("exe_file_id ", mm.exe_file_id(), " is not a regular file in files.img"));
    }
    if (mm.auxv_size() % 2 != 0 || uint32_t(mm.auxv_size()) > kMaxAuxvWords)
        return Error(log::cat("auxv of ", mm.auxv_size(), " words (pairs, at most ", kMaxAuxvWords, ")"));
    struct Pair {
        const char *names;
        uint64_t lo, hi;
    };
    for (const Pair &p : {Pair{"start_code > end_code", mm.start_code(), mm.end_code()},
                          Pair{"start_data > end_data", mm.start_data(), mm.end_data()},
                          Pair{"start_brk > brk", mm.start_brk(), mm.brk()},
                          Pair{"arg_start > arg_end", mm.arg_start(), mm.arg_end()},
                          Pair{"env_start > env_end", mm.env_start(), mm.env_end()}}) {
        if (p.lo > p.hi) return Error(log::cat(p.names, " (", log::hex(p.lo), " > ", log::hex(p.hi), ")"));
    }
    return ok();
}

Status one_vma(const std::vector<Vma> &vmas, size_t i, const FileIndex &files, uint64_t page_size, bool pre_dump) {
    const Vma &v = vmas[i];
    if (!VmaKind_IsValid(v.kind()) || v.kind() == VMA_KIND_UNSPECIFIED)
        return Error(log::cat("unknown kind ", int(v.kind())));
    if (v.start() >= v.end()) return Error("is empty or inverted");
    for (auto [field, value] : {std::pair{"start", v.start()}, {"end", v.end()}, {"pgoff", v.pgoff()}}) {
        if (!aligned(value, page_size))
            return Error(log::cat(field, " ", log::hex(value), " is not aligned to the page size ", page_size));
    }
    if (v.pgoff() > std::numeric_limits<uint64_t>::max() - (v.end() - v.start()))
        return Error(log::cat("file offset ", log::hex(v.pgoff()), " + length overflows"));
    if (i > 0) {
        const Vma &prev = vmas[i - 1];
        if (v.start() < prev.start()) return Error(log::cat("is not in address order after ", vma_label(vmas, i - 1)));
        if (v.start() < prev.end()) return Error(log::cat("overlaps ", vma_label(vmas, i - 1)));
    }
    if (v.cow_from_parent() && (v.kind() != VMA_ANON_PRIVATE || (v.flags() & MAP_GROWSDOWN)))
        return Error(log::cat("is shared copy-on-write with the parent, but is ", VmaKind_Name(v.kind()),
                              (v.flags() & MAP_GROWSDOWN) ? " growing down" : "", " (only private anonymous memory is)"));
    // A pre-dump records no files: it is only ever read for its pages.
    if (file_backed(v.kind()) && v.file_id() == 0 && !pre_dump) return Error(log::cat(VmaKind_Name(v.kind()), " without file_id"));
    if (v.file_id() != 0 && !files.count(v.file_id()))
        return Error(log::cat("file_id ", v.file_id(), " is not in files.img"));
    STASIS_TRY(name_bytes("name", v.name(), kMaxPathBytes + 16));  // a path and " (deleted)"
    return name_bytes("vm_flags", v.vm_flags(), 256);
}

Status one_pagemap_entry(const TaskImages &task, size_t i, uint64_t page_size, bool has_parent) {
    const PagemapEntry &e = task.pagemap[i];
    if (e.flags() & ~kKnownPagemapFlags) return Error(log::cat("unknown flags ", log::hex(e.flags())));
    if ((e.flags() & PAGEMAP_IN_PARENT) && !has_parent)
        return Error("is in the parent image, but inventory.img names no parent_dir");
    if (e.nr_pages() == 0) return Error(log::cat("at ", log::hex(e.vaddr()), " has zero pages"));
    if (!aligned(e.vaddr(), page_size))
        return Error(log::cat("vaddr ", log::hex(e.vaddr()), " not aligned to the page size ", page_size));
    constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
    if (e.nr_pages() > kMax / page_size || e.nr_pages() * page_size > kMax - e.vaddr())
        return Error(log::cat(e.nr_pages(), " pages from ", log::hex(e.vaddr()), " run past the address space"));
    uint64_t end = e.vaddr() + e.nr_pages() * page_size;
    if (i > 0) {
        const PagemapEntry &prev = task.pagemap[i - 1];
        uint64_t prev_end = prev.vaddr() + prev.nr_pages() * page_size;
        if (e.vaddr() < prev.vaddr()) return Error("is not in address order");
        if (e.vaddr() < prev_end)
            return Error(log::cat(range(e.vaddr(), end), " overlaps entry #", i - 1, " ",
                                  range(prev.vaddr(), prev_end)));
    }
    // Context made only on failure: pagemaps have hundreds of thousands of entries.
    if (auto st = covered_by_vmas(task.vmas, e.vaddr(), end, true); !st.ok())
        return std::move(st).error().context(range(e.vaddr(), end));
    if (e.flags() & PAGEMAP_ZERO) {
        // "The parent has these pages, this task has not": only meaningful
        // inside memory inherited from the parent.
        if (e.flags() != PAGEMAP_ZERO) return Error(log::cat("combines PAGEMAP_ZERO with flags ", log::hex(e.flags())));
        auto it = std::upper_bound(task.vmas.begin(), task.vmas.end(), e.vaddr(),
                                   [](uint64_t addr, const Vma &v) { return addr < v.end(); });
        for (; it != task.vmas.end() && it->start() < end; ++it)
            if (!it->cow_from_parent())
                return Error(log::cat(range(e.vaddr(), end), ": PAGEMAP_ZERO in ",
                                      vma_label(task.vmas, size_t(it - task.vmas.begin())),
                                      ", which is not shared copy-on-write with the parent"));
    }
    return ok();
}

}  // namespace

Status mm(const TaskImages &task, const FileIndex &files, uint64_t page_size, bool pre_dump) {
    STASIS_TRY(mm_fields(task.mm, files));
    if (task.vmas.size() > kMaxVmas) return Error(log::cat(task.vmas.size(), " vmas (at most ", kMaxVmas, ")"));
    for (size_t i = 0; i < task.vmas.size(); i++)
        STASIS_TRY(std::move(one_vma(task.vmas, i, files, page_size, pre_dump)).context(vma_label(task.vmas, i)));
    return ok();
}

Status pagemap(const TaskImages &task, uint64_t page_size, bool has_parent) {
    if (task.pagemap.size() > kMaxPagemapEntries)
        return Error(log::cat(task.pagemap.size(), " entries (at most ", kMaxPagemapEntries, ")"));
    for (size_t i = 0; i < task.pagemap.size(); i++) {
        if (auto st = one_pagemap_entry(task, i, page_size, has_parent); !st.ok())
            return std::move(st).error().context(log::cat("entry #", i));
    }
    return ok();
}

Status vdso(const TaskImages &task, uint64_t page_size) {
    const VdsoInfo &v = task.vdso;
    if (uint32_t(v.areas_size()) > kMaxVdsoAreas)
        return Error(log::cat(v.areas_size(), " areas (at most ", kMaxVdsoAreas, ")"));
    std::vector<std::pair<uint64_t, uint64_t>> sorted;
    for (int i = 0; i < v.areas_size(); i++) {
        const VdsoArea &a = v.areas(i);
        std::string who = log::cat("area #", i, " ", range(a.start(), a.end()));
        if (!VmaKind_IsValid(a.kind()) || !vdso_like(a.kind()))
            return Error(log::cat(who, ": kind ", int(a.kind()), " is not a vDSO-like mapping"));
        if (a.start() >= a.end() || !aligned(a.start(), page_size) || !aligned(a.end(), page_size))
            return Error(log::cat(who, ": empty or not page-aligned"));
        STASIS_TRY(std::move(covered_by_vmas(task.vmas, a.start(), a.end(), false)).context(who));
        sorted.emplace_back(a.start(), a.end());
    }
    std::sort(sorted.begin(), sorted.end());
    for (size_t i = 1; i < sorted.size(); i++) {
        if (sorted[i].first < sorted[i - 1].second)
            return Error(log::cat("areas ", range(sorted[i - 1].first, sorted[i - 1].second), " and ",
                                  range(sorted[i].first, sorted[i].second), " overlap"));
    }
    if (uint32_t(v.symbols_size()) > kMaxVdsoSymbols)
        return Error(log::cat(v.symbols_size(), " symbols (at most ", kMaxVdsoSymbols, ")"));
    for (int i = 0; i < v.symbols_size(); i++) {
        const VdsoSymbol &s = v.symbols(i);
        if (s.name().empty() || s.name().size() > 256)
            return Error(log::cat("symbol #", i, ": name of ", s.name().size(), " bytes"));
        if (s.offset() >= v.size())
            return Error(log::cat("symbol ", s.name(), ": offset ", log::hex(s.offset()), " beyond the vDSO size ",
                                  log::hex(v.size())));
    }
    if (v.build_id().size() > kMaxBuildIdBytes) return Error(log::cat("build_id of ", v.build_id().size(), " bytes"));
    if (v.image().size() > kMaxVdsoImageBytes || v.image().size() > v.size())
        return Error(log::cat("vDSO image of ", v.image().size(), " bytes for a vDSO of ", v.size(), " bytes"));
    return ok();
}

}  // namespace stasis::images::validate
