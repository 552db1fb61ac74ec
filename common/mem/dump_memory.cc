#include "common/mem/dump_memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "common/mem/page_copy.h"
#include "common/mem/vma_classify.h"
#include "common/proc/pagemap.h"
#include "common/proc/read_file.h"
#include "common/util/log.h"

namespace stasis::mem {
namespace {

std::string range_name(uint64_t start, uint64_t end) {
    char b[64];
    std::snprintf(b, sizeof b, "%llx-%llx", (unsigned long long)start, (unsigned long long)end);
    return b;
}

// A mapping registered with our own userfaultfd (dirty tracking) is the
// program's mapping as it was: the "uw" flag is ours.
void strip_own_uffd_wp(proc::Mapping &m) {
    m.vm_flags &= ~uint64_t(proc::VmFlag::uffd_wp);
    std::string t;
    size_t pos = 0;
    while (pos < m.vm_flags_text.size()) {
        size_t sp = m.vm_flags_text.find(' ', pos);
        std::string_view word(m.vm_flags_text.data() + pos, (sp == std::string::npos ? m.vm_flags_text.size() : sp) - pos);
        if (!word.empty() && word != "uw") {
            if (!t.empty()) t += ' ';
            t += word;
        }
        if (sp == std::string::npos) break;
        pos = sp + 1;
    }
    m.vm_flags_text = t;
}

// Pages of a file-backed private mapping that are the task's own copies:
// present but not file pages (COW'ed), or swapped out (only anonymous pages
// swap).
Status anon_copies(proc::PagemapReader &pm, uint64_t start, uint64_t end, std::vector<proc::PageRun> &out) {
    std::vector<uint64_t> entries;
    STASIS_TRY(pm.read(start, end, entries));
    uint64_t page = pm.page_size();
    out.clear();
    for (size_t i = 0; i < entries.size(); ++i) {
        uint64_t e = entries[i];
        bool own = (proc::pagemap::present(e) && !proc::pagemap::file_or_shared_anon(e)) || proc::pagemap::swapped(e);
        if (!own || proc::pagemap::guard_region(e)) continue;
        uint64_t addr = start + i * page;
        if (!out.empty() && out.back().start + out.back().npages * page == addr)
            ++out.back().npages;
        else
            out.push_back({addr, 1});
    }
    return ok();
}

// The data extents of the shmem object behind a shared anonymous mapping,
// found with SEEK_DATA/SEEK_HOLE on /proc/PID/map_files: pages this process
// never touched (or dropped with MADV_DONTNEED) but which hold data are
// found too, and nothing is faulted in.
Status shared_object_runs(pid_t pid, const proc::Mapping &m, uint64_t page, std::vector<proc::PageRun> &out, int *fd_out) {
    std::string link = proc::proc_path(pid, "map_files/" + range_name(m.start, m.end));
    int fd = ::open(link.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Error::from_errno("open " + link);
    out.clear();
    off_t begin = off_t(m.pgoff), end = off_t(m.pgoff + m.size());
    off_t pos = begin;
    while (pos < end) {
        off_t data = ::lseek(fd, pos, SEEK_DATA);
        if (data < 0 || data >= end) break;
        off_t hole = ::lseek(fd, data, SEEK_HOLE);
        if (hole < 0 || hole > end) hole = end;
        uint64_t a = uint64_t(data) / page * page, b = (uint64_t(hole) + page - 1) / page * page;
        out.push_back({m.start + (a - m.pgoff), (b - a) / page});
        pos = hole;
    }
    *fd_out = fd;
    return ok();
}

// Copies a shared object's extents from its file (not through the
// process's page tables) into the pages image.
Status copy_from_object(int src, const proc::Mapping &m, const std::vector<proc::PageRun> &runs, uint64_t page,
                        images::RawImageWriter &pages) {
    for (const auto &r : runs) {
        loff_t in = loff_t(m.pgoff + (r.start - m.start));
        uint64_t left = r.npages * page;
        while (left) {
            // A page server's image has no local fd: plain copy.
            ssize_t n = pages.fd() >= 0 ? ::copy_file_range(src, &in, pages.fd(), nullptr, left, 0) : -1;
            if (n <= 0) {
                // Not supported across these file systems: plain copy.
                std::vector<char> buf(std::min<uint64_t>(left, 1 << 20));
                ssize_t got = ::pread(src, buf.data(), buf.size(), in);
                if (got <= 0) return Error::from_errno("read shared memory object");
                STASIS_TRY(pages.append(buf.data(), size_t(got)));
                n = got;
                in += got;
            }
            left -= uint64_t(n);
        }
    }
    return ok();
}

// The parent's private anonymous mapping with exactly this range, if any:
// the one a fork gave this task (seed 002: same start and end).
const proc::Mapping *cow_source(const proc::Mapping &m, const MemoryDumpContext &ctx) {
    if (!ctx.parent_maps || m.shared || m.has(proc::VmFlag::grows_down)) return nullptr;
    for (const auto &p : *ctx.parent_maps) {
        if (p.start != m.start || p.end != m.end) continue;
        VmaClass pc{};
        proc::Mapping plain = p;  // its "uw" flag may be our dirty tracking
        plain.vm_flags &= ~uint64_t(proc::VmFlag::uffd_wp);
        if (auto c = classify(plain); c.ok()) pc = *c;
        if (pc.kind == images::VMA_ANON_PRIVATE && !p.has(proc::VmFlag::grows_down)) return &p;
        return nullptr;
    }
    return nullptr;
}

// Splits a VMA shared copy-on-write with the parent into the pages that are
// this task's own (present with another frame than the parent's, or
// swapped) and the pages it does not have although the parent does (to be
// dropped from the inherited copy). Frames the two share are neither.
Status cow_runs(proc::PagemapReader &mine, proc::PagemapReader &parent, const proc::Mapping &m,
                std::vector<proc::PageRun> &own, std::vector<proc::PageRun> &zero) {
    std::vector<uint64_t> a, b;
    STASIS_TRY(mine.read(m.start, m.end, a));
    STASIS_TRY(parent.read(m.start, m.end, b));
    uint64_t page = mine.page_size();
    auto add = [page](std::vector<proc::PageRun> &v, uint64_t addr) {
        if (!v.empty() && v.back().start + v.back().npages * page == addr) ++v.back().npages;
        else v.push_back({addr, 1});
    };
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
        uint64_t addr = m.start + i * page;
        bool a_data = proc::pagemap::has_data(a[i]), b_data = proc::pagemap::has_data(b[i]);
        if (!a_data) {
            if (b_data) add(zero, addr);
            continue;
        }
        bool shared = proc::pagemap::present(a[i]) && proc::pagemap::present(b[i]) &&
                      proc::pagemap::pfn(a[i]) != 0 && proc::pagemap::pfn(a[i]) == proc::pagemap::pfn(b[i]);
        if (!shared) add(own, addr);
    }
    return ok();
}

// Queues a run for copying, split where pages are shared with another
// process (pagemap's exclusive bit clear): those must be read through
// /proc/PID/mem so the copy leaves them shared (see page_copy.h).
// `entries` may hold the pagemap of the run already (from `entries_at`).
// `unshared`: the run is known to be the process's own (no pagemap read).
Status add_copy_runs(proc::PagemapReader &pm, const proc::PageRun &r, uint64_t page, bool readable,
                     std::vector<CopyRun> &copy, const uint64_t *entries = nullptr, bool unshared = false) {
    if (!readable || unshared) {
        const bool via_proc_mem = !readable;
        if (!copy.empty() && copy.back().via_proc_mem == via_proc_mem && copy.back().vaddr + copy.back().len == r.start)
            copy.back().len += r.npages * page;
        else
            copy.push_back({r.start, r.npages * page, via_proc_mem});
        return ok();
    }
    std::vector<uint64_t> read;
    if (!entries) {
        STASIS_TRY(pm.read(r.start, r.start + r.npages * page, read));
        entries = read.data();
    }
    const uint64_t *e = entries;
    for (size_t i = 0; i < r.npages; ++i) {
        bool shared = proc::pagemap::present(e[i]) && !proc::pagemap::exclusive(e[i]);
        uint64_t addr = r.start + i * page;
        if (!copy.empty() && copy.back().via_proc_mem == shared && copy.back().vaddr + copy.back().len == addr)
            copy.back().len += page;
        else
            copy.push_back({addr, page, shared});
    }
    return ok();
}


// Emits the pagemap entries of runs of pages with data and queues their
// copies. In an incremental dump, pages the parent images hold and that
// did not change become PAGEMAP_IN_PARENT entries instead.
class Emitter {
public:
    // A pagemap read costs about as much as walking 32 page table entries.
    static constexpr uint64_t kPiecesPerWholeRead = 32;

    Emitter(pid_t pid, proc::PagemapReader &pm, const MemoryDumpContext &ctx, DumpedMemory &out,
            std::vector<CopyRun> &copy)
        : pid_(pid), pm_(pm), page_(pm.page_size()), ctx_(ctx), out_(out), copy_(copy) {}
    ~Emitter() {
        if (mem_ >= 0) ::close(mem_);
    }

    Status data(const proc::PageRun &r, bool readable) {
        const ParentPages *parent = ctx_.parent_pages;
        if (!parent) return save(r, readable);
        // Per page: 1 unchanged in the parent, 0 saved, 2 to compare, 3
        // saved and known to be the process's own (written_pages_private).
        std::vector<uint8_t> verdict(r.npages, 0);
        const uint8_t written = ctx_.written_pages_private ? 3 : 0;
        bool compare = false;
        RangeCursor in_parent(parent->data, r.start);
        std::optional<RangeCursor> dirty;
        if (parent->dirty) dirty.emplace(*parent->dirty, r.start);
        for (uint64_t i = 0; i < r.npages; ++i) {
            uint64_t a = r.start + i * page_;
            if (!in_parent.overlaps(a, a + page_)) continue;
            if (dirty) verdict[i] = dirty->overlaps(a, a + page_) ? written : 1;
            else if (!ctx_.pre_dump) verdict[i] = 2, compare = true;
            // A pre-dump without tracking saves everything: comparing would
            // keep the tree frozen for a full read of its memory.
        }
        if (compare) STASIS_TRY(compare_pages(r, verdict));
        // The saved pieces' pagemap entries: one read of the whole run when
        // they are many, one read per piece when they are few (a few
        // scattered pages written in a 1 GiB mapping: reading all its
        // entries walks 262144 page table entries, with the tree frozen).
        uint64_t pieces = 0;
        for (uint64_t i = 0; i < r.npages; ++i)
            if (verdict[i] == 0 && (i == 0 || verdict[i - 1] != 0)) ++pieces;
        const bool whole = readable && pieces * kPiecesPerWholeRead >= r.npages;
        if (whole) STASIS_TRY(pm_.read(r.start, r.start + r.npages * page_, entries_));
        for (uint64_t i = 0; i < r.npages;) {
            uint64_t j = i;
            while (j < r.npages && verdict[j] == verdict[i]) ++j;
            proc::PageRun piece{r.start + i * page_, j - i};
            if (verdict[i] == 1) {
                images::PagemapEntry e;
                e.set_vaddr(piece.start);
                e.set_nr_pages(piece.npages);
                e.set_flags(images::PAGEMAP_IN_PARENT);
                out_.pagemap.push_back(e);
                out_.in_parent += piece.npages;
            } else {
                STASIS_TRY(save(piece, readable, whole ? entries_.data() + i : nullptr, verdict[i] == 3));
            }
            i = j;
        }
        return ok();
    }

    void zero(const proc::PageRun &r) {
        images::PagemapEntry e;
        e.set_vaddr(r.start);
        e.set_nr_pages(r.npages);
        e.set_flags(images::PAGEMAP_ZERO);
        out_.pagemap.push_back(e);
    }

private:
    Status save(const proc::PageRun &r, bool readable, const uint64_t *entries = nullptr, bool unshared = false) {
        images::PagemapEntry e;
        e.set_vaddr(r.start);
        e.set_nr_pages(r.npages);
        out_.pagemap.push_back(e);
        out_.pages += r.npages;
        return add_copy_runs(pm_, r, page_, readable, copy_, entries, unshared);
    }

    // Content comparison (no tracking to trust): pages equal to the parent's
    // copy become 1, the others 0. Read through /proc/PID/mem, which leaves
    // pages shared copy-on-write as they are, in batches: the process's
    // pages a few hundred at a time, the parent's copy in pieces as long as
    // they lie back to back in one pages file.
    Status compare_pages(const proc::PageRun &r, std::vector<uint8_t> &verdict) {
        const ParentPages &parent = *ctx_.parent_pages;
        if (mem_ < 0) {
            std::string path = proc::proc_path(pid_, "mem");
            mem_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
            if (mem_ < 0) return Error::from_errno("open " + path);
        }
        constexpr uint64_t kBatch = 256;
        mine_.resize(kBatch * page_);
        theirs_.resize(kBatch * page_);
        for (uint64_t i = 0; i < r.npages;) {
            if (verdict[i] != 2) {
                ++i;
                continue;
            }
            uint64_t j = i;
            while (j < r.npages && j - i < kBatch && verdict[j] == 2) ++j;
            uint64_t a = r.start + i * page_, len = (j - i) * page_;
            ssize_t got = ::pread(mem_, mine_.data(), len, off_t(a));
            // Pages that cannot be read here are saved: the copy says why.
            uint64_t readable = got > 0 ? uint64_t(got) / page_ : 0;
            for (uint64_t k = i; k < j;) {
                uint64_t addr = r.start + k * page_;
                verdict[k] = 0;
                if (k - i >= readable) {
                    ++k;
                    continue;
                }
                auto it = std::upper_bound(parent.sources.begin(), parent.sources.end(), addr,
                                           [](uint64_t v, const images::PageSource &s) { return v < s.vaddr; });
                if (it == parent.sources.begin() || (--it)->level < 0 || addr >= it->vaddr + it->len ||
                    size_t(it->level) >= parent.level_fds.size()) {
                    ++k;
                    continue;
                }
                // As many pages as this source and the batch both cover.
                uint64_t n = std::min({j - k, readable - (k - i), (it->vaddr + it->len - addr) / page_});
                off_t off = off_t(it->file_off + (addr - it->vaddr));
                if (::pread(parent.level_fds[size_t(it->level)], theirs_.data(), n * page_, off) !=
                    ssize_t(n * page_))
                    return Error::from_errno(log::cat("read the parent images' copy of page ", log::hex(addr)));
                for (uint64_t q = 0; q < n; ++q)
                    verdict[k + q] =
                        std::memcmp(mine_.data() + (k + q - i) * page_, theirs_.data() + q * page_, page_) == 0;
                k += n;
            }
            i = j;
        }
        return ok();
    }

    pid_t pid_;
    proc::PagemapReader &pm_;
    uint64_t page_;
    const MemoryDumpContext &ctx_;
    DumpedMemory &out_;
    std::vector<CopyRun> &copy_;
    std::vector<uint64_t> entries_;
    std::vector<char> mine_, theirs_;
    int mem_ = -1;
};

// The pagemap of a small mapping is read together with its small
// neighbours': one pread for as many of them as fit in a window of
// kReadAheadPages pages of address space.
constexpr uint64_t kReadAheadPages = 2048;

Status read_ahead(proc::PagemapReader &pm, const std::vector<proc::Mapping> &maps, size_t index) {
    const proc::Mapping &m = maps[index];
    const uint64_t window = kReadAheadPages * pm.page_size();
    if (pm.read_ahead_covers(m.start, m.end) || m.size() > window / 2) return ok();
    size_t last = index;
    while (last + 1 < maps.size() && maps[last + 1].end - m.start <= window) ++last;
    if (last == index) return ok();  // alone: nothing to share a read with
    return pm.read_ahead(m.start, maps[last].end);
}

}  // namespace

Result<DumpedMemory> dump_memory(pid_t pid, const std::vector<proc::Mapping> &maps, MemoryDumpContext &ctx) {
    DumpedMemory out;
    STASIS_ASSIGN(auto pm, proc::PagemapReader::open(pid));
    std::optional<proc::PagemapReader> parent_pm;
    if (ctx.parent_pid) {
        STASIS_ASSIGN(auto ppm, proc::PagemapReader::open(ctx.parent_pid));
        parent_pm.emplace(std::move(ppm));
    }
    uint64_t page = pm.page_size();
    uint64_t cow_vmas = 0;
    std::vector<CopyRun> copy;
    std::vector<proc::PageRun> runs;
    auto flush = [&]() -> Status {
        if (copy.empty()) return ok();
        STASIS_TRY(copy_runs_to_image(pid, copy, *ctx.pages).status());
        copy.clear();
        return ok();
    };
    Emitter emit(pid, pm, ctx, out, copy);
    for (size_t index = 0; index < maps.size(); ++index) {
        const proc::Mapping &mapping = maps[index];
        if (mapping.start >= ctx.exclude_start && mapping.end <= ctx.exclude_end) continue;
        proc::Mapping m = mapping;
        if (ctx.own_uffd_wp && std::find(ctx.own_uffd_wp->begin(), ctx.own_uffd_wp->end(), m.start) !=
                                   ctx.own_uffd_wp->end())
            strip_own_uffd_wp(m);
        std::string what = "mapping " + range_name(m.start, m.end) + (m.path.empty() ? "" : " " + m.path);
        STASIS_ASSIGN(VmaClass c, classify(m));
        images::Vma v;
        v.set_start(m.start);
        v.set_end(m.end);
        v.set_pgoff(m.pgoff);
        v.set_prot(m.prot);
        v.set_flags(map_flags(m, c));
        v.set_kind(c.kind);
        v.set_madv(madvise_bits(m));
        v.set_heap(m.is_heap());
        v.set_stack(m.is_stack());
        v.set_vm_flags(m.vm_flags_text);
        v.set_name(m.path);
        if (c.kind == images::VMA_SYSV_SHM && ctx.files) {
            v.set_shmid(int32_t(m.inode));
            STASIS_ASSIGN(uint32_t id, std::move(ctx.files->add_sysv_shm(pid, m)).context(what));
            v.set_file_id(id);
        }
        if (c.kind == images::VMA_ANON_SHARED) v.set_shmem_id(m.inode);
        if (c.file_backed && ctx.files) {
            STASIS_ASSIGN(uint32_t id, std::move(ctx.files->add_mapping(pid, m)).context(what));
            v.set_file_id(id);
        }
        out.vmas.push_back(v);

        runs.clear();
        if (c.content == ContentSource::present_pages || c.content == ContentSource::anon_pages)
            STASIS_TRY(std::move(read_ahead(pm, maps, index)).context(what));
        int object_fd = -1;
        if (const proc::Mapping *src = parent_pm ? cow_source(m, ctx) : nullptr) {
            (void)src;
            std::vector<proc::PageRun> zero;
            STASIS_TRY(std::move(cow_runs(pm, *parent_pm, m, runs, zero)).context(what));
            out.vmas.back().set_cow_from_parent(true);
            ++cow_vmas;
            // Entries in address order: own pages carry data, zero runs none.
            size_t zi = 0;
            bool readable = (m.prot & PROT_READ) != 0;
            for (const auto &r : runs) {
                for (; zi < zero.size() && zero[zi].start < r.start; ++zi) emit.zero(zero[zi]);
                STASIS_TRY(std::move(emit.data(r, readable)).context(what));
            }
            for (; zi < zero.size(); ++zi) emit.zero(zero[zi]);
            continue;
        }
        switch (c.content) {
            case ContentSource::none:
            case ContentSource::file_content: continue;
            case ContentSource::present_pages:
                STASIS_TRY(std::move(pm.present_runs(m.start, m.end, runs)).context(what));
                break;
            case ContentSource::anon_pages:
                STASIS_TRY(std::move(anon_copies(pm, m.start, m.end, runs)).context(what));
                break;
            case ContentSource::shared_object:
                if (ctx.pre_dump) continue;  // not tracked: the dump saves it whole
                STASIS_TRY(std::move(shared_object_runs(pid, m, page, runs, &object_fd)).context(what));
                break;
        }
        if (object_fd >= 0) {
            for (const auto &r : runs) {
                images::PagemapEntry e;
                e.set_vaddr(r.start);
                e.set_nr_pages(r.npages);
                out.pagemap.push_back(e);
                out.pages += r.npages;
            }
            STASIS_TRY(flush());
            auto st = copy_from_object(object_fd, m, runs, page, *ctx.pages);
            ::close(object_fd);
            STASIS_TRY(std::move(st).context(what));
            continue;
        }
        bool readable = (m.prot & PROT_READ) != 0;
        for (const auto &r : runs) STASIS_TRY(std::move(emit.data(r, readable)).context(what));
    }
    if (ctx.pre_dump) out.deferred = std::move(copy);
    else STASIS_TRY(flush());
    log::info("process ", pid, ": ", out.vmas.size(), " mappings, ", out.pages, " pages (",
              out.pages * page / (1024 * 1024), " MiB) ", ctx.pre_dump ? "to copy" : "saved",
              ctx.parent_pages ? log::cat(", ", out.in_parent, " unchanged in the parent images") : "",
              cow_vmas ? ", " : "",
              cow_vmas ? std::to_string(cow_vmas) + " mapping(s) shared copy-on-write with the parent" : "");
    return out;
}

}  // namespace stasis::mem
