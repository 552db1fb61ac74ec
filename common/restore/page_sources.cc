#include "common/restore/page_sources.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "common/images/format.h"
#include "common/util/log.h"

namespace stasis::restore {

Result<std::vector<TaskPages>> resolve_tree_pages(const std::string &dir, const images::Checkpoint &cp,
                                                  const std::vector<images::ChainLevel> &parents,
                                                  uint64_t page_size) {
    std::vector<TaskPages> out(cp.tasks.size());
    for (size_t i = 0; i < cp.tasks.size(); ++i) {
        const auto &t = cp.tasks[i];
        if (t.tree.zombie()) continue;
        pid_t pid = t.tree.pid();
        images::TaskPageChain chain = images::task_chain(pid, t, parents);
        STASIS_ASSIGN(out[i].sources, std::move(images::resolve_pages(chain, page_size))
                                          .context(images::pagemap_file_name(pid)));
        for (size_t level = 0; level < chain.pagemaps.size(); ++level) {
            TaskPages::Level l;
            l.dir = level == 0 ? dir : parents[level - 1].dir;
            l.pages_id = chain.pages_ids[level];
            l.pages = images::pages_in_file(*chain.pagemaps[level]);
            out[i].levels.push_back(l);
        }
    }
    return out;
}

Result<std::vector<VmaPiece>> split_by_vma(const std::vector<images::PageSource> &sources,
                                           const std::vector<images::Vma> &vmas) {
    std::vector<VmaPiece> out;
    size_t vi = 0;
    for (const auto &s : sources) {
        for (uint64_t addr = s.vaddr, end = s.vaddr + s.len; addr < end;) {
            while (vi < vmas.size() && vmas[vi].end() <= addr) ++vi;
            if (vi == vmas.size() || vmas[vi].start() > addr)
                return Error(log::cat("pages at ", log::hex(addr), " lie outside every vma"));
            uint64_t len = std::min(end, vmas[vi].end()) - addr;
            out.push_back({vi, addr, len, s.level, s.level < 0 ? 0 : s.file_off + (addr - s.vaddr)});
            addr += len;
        }
    }
    return out;
}

Result<std::vector<int>> open_levels(const TaskPages &pages, uint32_t page_size) {
    std::vector<int> fds;
    for (const auto &l : pages.levels) {
        if (!l.pages) {
            fds.push_back(-1);
            continue;
        }
        auto fd = l.fetched ? Result<int>(::fcntl(l.fetched->get(), F_DUPFD_CLOEXEC, 0))
                            : images::open_pages(l.dir, l.pages_id, page_size, l.pages);
        if (fd.ok() && *fd < 0) fd = Error::from_errno("duplicate the fetched pages");
        if (!fd.ok()) {
            for (int f : fds)
                if (f >= 0) ::close(f);
            return std::move(fd).error().context(l.dir);
        }
        fds.push_back(*fd);
    }
    return fds;
}

}  // namespace stasis::restore
