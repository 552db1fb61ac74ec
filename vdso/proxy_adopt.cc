// The dump's side of the vDSO proxy: recognising one by its mark.
#include <sys/mman.h>
#include <sys/uio.h>

#include <algorithm>
#include <cstring>

#include "common/ptrace/ptrace.h"
#include "common/util/log.h"
#include "vdso/elf_symbols.h"
#include "vdso/proxy.h"

namespace stasis::vdso {

namespace {

// Where a mark could be: the end of every small read-only private
// anonymous mapping.
bool may_hold_mark(const proc::Mapping &m) {
    return m.path.empty() && !m.shared && m.prot == PROT_READ && m.size() <= (1u << 20) && m.size() >= sizeof(ProxyMark);
}

// The mark-sized tails of the candidates, read in batches of one
// process_vm_readv each (a process with thousands of read-only mappings
// cost one open of /proc/PID/mem per mapping, three times per dump);
// `read[i]` says whether candidate i could be read.
void read_tails(pid_t pid, const std::vector<const proc::Mapping *> &cands, std::vector<ProxyMark> &tails,
                std::vector<bool> &read) {
    constexpr size_t kBatch = 1024;  // IOV_MAX
    tails.assign(cands.size(), ProxyMark{});
    read.assign(cands.size(), false);
    std::vector<iovec> local, remote;
    for (size_t i = 0; i < cands.size();) {
        size_t n = std::min(kBatch, cands.size() - i);
        local.resize(n);
        remote.resize(n);
        for (size_t k = 0; k < n; ++k) {
            local[k] = {&tails[i + k], sizeof(ProxyMark)};
            remote[k] = {reinterpret_cast<void *>(uintptr_t(mark_address(cands[i + k]->end))), sizeof(ProxyMark)};
        }
        ssize_t got = process_vm_readv(pid, local.data(), n, remote.data(), n, 0);
        size_t whole = got > 0 ? size_t(got) / sizeof(ProxyMark) : 0;
        for (size_t k = 0; k < whole; ++k) read[i + k] = true;
        if (whole == n) {
            i += n;
            continue;
        }
        // The one the batch stopped at, alone (through /proc/PID/mem), then on.
        read[i + whole] = ptrace::read_mem(pid, mark_address(cands[i + whole]->end), &tails[i + whole],
                                           sizeof(ProxyMark))
                              .ok();
        i += whole + 1;
    }
}

}  // namespace

Result<std::optional<ProxyMark>> find_proxy_mark(pid_t pid, const std::vector<proc::Mapping> &maps) {
    std::vector<const proc::Mapping *> cands;
    for (const auto &m : maps)
        if (may_hold_mark(m)) cands.push_back(&m);
    std::vector<ProxyMark> tails;
    std::vector<bool> read;
    read_tails(pid, cands, tails, read);
    for (size_t c = 0; c < cands.size(); ++c) {
        const proc::Mapping &m = *cands[c];
        const ProxyMark &mark = tails[c];
        if (!read[c] || std::memcmp(mark.magic, ProxyMark::kMagic, sizeof mark.magic) != 0) continue;
        if (mark.version != ProxyMark::kVersion || mark.nr_areas == 0 || mark.nr_areas > ProxyMark::kMaxAreas)
            return Error(log::cat("vDSO proxy mark at ", log::hex(m.start), " has version ", mark.version, " and ",
                                  mark.nr_areas, " areas: not one this stasis made"));
        // Every area it names must still be there, exactly.
        bool has_vdso = false;
        for (uint32_t i = 0; i < mark.nr_areas; ++i) {
            const auto &a = mark.areas[i];
            auto kind = images::VmaKind(a.kind);
            if (!stands_in_proxy(kind)) return Error(log::cat("vDSO proxy mark names an area of kind ", a.kind));
            has_vdso |= kind == images::VMA_VDSO;
            // The kernel may have merged neighbouring stand-ins ([vvar] and
            // [vvar_vclock]) into one mapping: inside one is enough.
            bool there = std::any_of(maps.begin(), maps.end(), [&](const proc::Mapping &x) {
                return x.start <= a.start && a.end <= x.end && x.path.empty() && !x.shared;
            });
            if (!there)
                return Error(log::cat("the vDSO proxy's ", area_name(kind), " at ", log::hex(a.start),
                                      " was unmapped or changed since the restore: cannot dump the original vDSO"));
        }
        if (!has_vdso) return Error("vDSO proxy mark without a [vdso] area");
        return std::optional<ProxyMark>(mark);
    }
    return std::optional<ProxyMark>();
}

Result<bool> adopt_proxy(pid_t pid, std::vector<proc::Mapping> &maps) {
    STASIS_ASSIGN(auto mark, find_proxy_mark(pid, maps));
    return adopt_proxy(mark, maps);
}

bool adopt_proxy(const std::optional<ProxyMark> &mark, std::vector<proc::Mapping> &maps) {
    if (!mark) return false;
    // The kernel's own areas behind the proxy are not the process's.
    maps.erase(std::remove_if(maps.begin(), maps.end(),
                              [](const proc::Mapping &x) {
                                  return x.path == "[vdso]" || x.path == "[vvar]" || x.path == "[vvar_vclock]";
                              }),
               maps.end());
    // One mapping per area again, named as the kernel named it; what else
    // a merged mapping held stays plain anonymous memory.
    std::vector<proc::Mapping> out;
    for (const auto &x : maps) {
        uint64_t cursor = x.start;
        if (x.path.empty() && !x.shared) {
            std::vector<ProxyMark::Area> inside;
            for (uint32_t i = 0; i < mark->nr_areas; ++i)
                if (x.start <= mark->areas[i].start && mark->areas[i].end <= x.end) inside.push_back(mark->areas[i]);
            std::sort(inside.begin(), inside.end(), [](auto &a, auto &b) { return a.start < b.start; });
            for (const auto &a : inside) {
                if (a.start > cursor) {
                    out.push_back(x);
                    out.back().start = cursor, out.back().end = a.start;
                }
                out.push_back(x);
                out.back().start = a.start, out.back().end = a.end;
                out.back().path = area_name(images::VmaKind(a.kind));
                cursor = a.end;
            }
        }
        if (cursor == x.start) {
            out.push_back(x);
        } else if (cursor < x.end) {
            out.push_back(x);
            out.back().start = cursor;
        }
    }
    maps = std::move(out);
    return true;
}

std::vector<std::pair<uint64_t, uint64_t>> code_ranges(const std::vector<proc::Mapping> &maps,
                                                       const std::optional<ProxyMark> &mark) {
    std::vector<std::pair<uint64_t, uint64_t>> out;
    for (const auto &m : maps)
        if (m.path == "[vdso]") out.push_back({m.start, m.end});
    if (mark)
        for (uint32_t i = 0; i < mark->nr_areas; ++i)
            if (mark->areas[i].kind == images::VMA_VDSO) out.push_back({mark->areas[i].start, mark->areas[i].end});
    return out;
}

Result<std::vector<ReturnTwin>> signal_return_twins(pid_t pid, const std::vector<proc::Mapping> &maps,
                                                    const std::optional<ProxyMark> &mark) {
    std::vector<ReturnTwin> out;
    if (!mark) return out;
    auto kernel = std::find_if(maps.begin(), maps.end(), [](const proc::Mapping &m) { return m.path == "[vdso]"; });
    const ProxyMark::Area *copy = nullptr;
    for (uint32_t i = 0; i < mark->nr_areas; ++i)
        if (mark->areas[i].kind == images::VMA_VDSO) copy = &mark->areas[i];
    if (kernel == maps.end() || !copy) return out;
    auto symbols_at = [pid](uint64_t start, uint64_t len) -> Result<ElfSymbols> {
        std::vector<uint8_t> image(len);
        STASIS_TRY(std::move(ptrace::read_mem(pid, start, image.data(), image.size()))
                       .context(log::cat("read the vDSO image at ", log::hex(start))));
        return parse_elf_symbols(image);
    };
    STASIS_ASSIGN(ElfSymbols now, std::move(symbols_at(kernel->start, kernel->size())).context("this kernel's vDSO"));
    STASIS_ASSIGN(ElfSymbols orig, std::move(symbols_at(copy->start, copy->end - copy->start)).context("the proxy's copy"));
    for (const auto &s : now.symbols) {
        if (!keeps_own_code(s.name)) continue;
        const ElfSymbol *twin = orig.find(s.name);
        if (!twin) continue;
        out.push_back({kernel->start + s.offset, std::max<uint64_t>(s.size, 1), copy->start + twin->offset});
    }
    return out;
}

}  // namespace stasis::vdso
