#include "common/mem/dump_memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>

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
            ssize_t n = ::copy_file_range(src, &in, pages.fd(), nullptr, left, 0);
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

}  // namespace

Result<DumpedMemory> dump_memory(pid_t pid, const std::vector<proc::Mapping> &maps, MemoryDumpContext &ctx) {
    DumpedMemory out;
    STASIS_ASSIGN(auto pm, proc::PagemapReader::open(pid));
    uint64_t page = pm.page_size();
    std::vector<CopyRun> copy;
    std::vector<proc::PageRun> runs;
    auto flush = [&]() -> Status {
        if (copy.empty()) return ok();
        uint64_t at = ctx.pages->data_offset() + ctx.pages->size();
        STASIS_TRY(copy_runs_to_file(pid, copy, ctx.pages->fd(), at).status());
        ::lseek(ctx.pages->fd(), 0, SEEK_END);
        copy.clear();
        return ok();
    };
    for (const auto &m : maps) {
        if (m.start >= ctx.exclude_start && m.end <= ctx.exclude_end) continue;
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
        if (c.kind == images::VMA_SYSV_SHM) {
            v.set_shmid(int32_t(m.inode));
            STASIS_ASSIGN(uint32_t id, std::move(ctx.files->add_sysv_shm(pid, m)).context(what));
            v.set_file_id(id);
        }
        if (c.kind == images::VMA_ANON_SHARED) v.set_shmem_id(m.inode);
        if (c.file_backed) {
            STASIS_ASSIGN(uint32_t id, std::move(ctx.files->add_mapping(pid, m)).context(what));
            v.set_file_id(id);
        }
        out.vmas.push_back(v);

        runs.clear();
        int object_fd = -1;
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
                STASIS_TRY(std::move(shared_object_runs(pid, m, page, runs, &object_fd)).context(what));
                break;
        }
        for (const auto &r : runs) {
            images::PagemapEntry e;
            e.set_vaddr(r.start);
            e.set_nr_pages(r.npages);
            out.pagemap.push_back(e);
            out.pages += r.npages;
        }
        if (object_fd >= 0) {
            STASIS_TRY(flush());
            auto st = copy_from_object(object_fd, m, runs, page, *ctx.pages);
            ::close(object_fd);
            STASIS_TRY(std::move(st).context(what));
            continue;
        }
        bool readable = (m.prot & PROT_READ) != 0;
        for (const auto &r : runs) copy.push_back({r.start, r.npages * page, readable});
    }
    STASIS_TRY(flush());
    log::info("process ", pid, ": ", out.vmas.size(), " mappings, ", out.pages, " pages (",
              out.pages * page / (1024 * 1024), " MiB) saved");
    return out;
}

}  // namespace stasis::mem
