#include "common/images/page_chain.h"

#include <algorithm>
#include <set>

#include "common/images/crc32c.h"
#include "common/images/file_io.h"
#include "common/images/format.h"
#include "common/util/log.h"

namespace stasis::images {

std::string parent_path(const std::string &dir, const Inventory &inv) {
    const std::string &p = inv.parent_dir();
    if (p.empty() || p.front() == '/') return p;
    return dir + "/" + p;
}

Result<uint32_t> inventory_crc32c(const std::string &dir) {
    STASIS_ASSIGN(Fd fd, std::move(open_dir(dir, false)).context("parent images dir " + dir));
    STASIS_ASSIGN(std::string bytes, std::move(read_regular_file(fd.get(), inventory_file_name(), kMaxImageFileBytes))
                                         .context(dir));
    return crc32c_update(0, bytes.data(), bytes.size());
}

Result<std::vector<ChainLevel>> read_parents(const std::string &dir, const Inventory &inv, const ReadOptions &opts) {
    std::vector<ChainLevel> chain;
    std::string child_dir = dir;
    const Inventory *child = &inv;
    std::set<std::string> seen;
    while (!child->parent_dir().empty()) {
        if (chain.size() == kMaxParentChain)
            return Error(log::cat("more than ", kMaxParentChain, " parent image directories (a loop?)"));
        std::string path = parent_path(child_dir, *child);
        std::string what = log::cat("parent images ", path);
        STASIS_ASSIGN(uint32_t crc, std::move(inventory_crc32c(path)).context(what));
        if (crc != child->parent_inventory_crc32c())
            return Error(log::cat(what, ": not the checkpoint ", child_dir,
                                  " was made from (its inventory.img changed since)"));
        // A directory seen twice with the same inventory is a loop.
        std::string key = log::cat(crc, ":", path);
        if (!seen.insert(key).second) return Error(log::cat(what, ": the parent chain loops"));
        ReadOptions ro = opts;
        ro.expect_arch = inv.arch();
        ro.expect_page_size = inv.page_size();
        ChainLevel level;
        level.dir = path;
        STASIS_ASSIGN(level.cp, std::move(read_checkpoint(path, ro)).context(what));
        if (level.cp.inventory.root_pid() != inv.root_pid())
            return Error(log::cat(what, ": a checkpoint of tree ", level.cp.inventory.root_pid(), ", not of ",
                                  inv.root_pid()));
        if (level.cp.inventory.created_unix_ns() > child->created_unix_ns())
            return Error(log::cat(what, ": made after the checkpoint that names it as parent"));
        chain.push_back(std::move(level));
        child_dir = path;
        child = &chain.back().cp.inventory;
    }
    return chain;
}

TaskPageChain task_chain(pid_t pid, const TaskImages &own, std::span<const ChainLevel> parents) {
    TaskPageChain c;
    c.pagemaps.push_back(&own.pagemap);
    c.pages_ids.push_back(own.pagemap_head.pages_id());
    for (const auto &level : parents) {
        const TaskImages *found = nullptr;
        for (const auto &t : level.cp.tasks)
            if (t.tree.pid() == pid && !t.tree.zombie()) found = &t;
        // A task missing from a parent was not there yet: deeper levels, if
        // they have this pid, had another process.
        if (!found) break;
        c.pagemaps.push_back(&found->pagemap);
        c.pages_ids.push_back(found->pagemap_head.pages_id());
    }
    return c;
}

namespace {

// Appends the part [start, end) of `deeper` (sorted, disjoint) to `out`;
// false when some page of the range is not there.
bool take_range(const std::vector<PageSource> &deeper, uint64_t start, uint64_t end, std::vector<PageSource> &out) {
    auto it = std::upper_bound(deeper.begin(), deeper.end(), start,
                               [](uint64_t a, const PageSource &s) { return a < s.vaddr; });
    if (it != deeper.begin()) --it;
    uint64_t at = start;
    for (; it != deeper.end() && at < end; ++it) {
        uint64_t s_end = it->vaddr + it->len;
        if (s_end <= at) continue;
        if (it->vaddr > at) return false;  // a hole
        uint64_t take_end = std::min(end, s_end);
        PageSource piece = *it;
        piece.vaddr = at;
        piece.len = take_end - at;
        if (piece.level >= 0) piece.file_off = it->file_off + (at - it->vaddr);
        else piece.file_off = 0;
        if (!out.empty() && out.back().level == piece.level && out.back().vaddr + out.back().len == piece.vaddr &&
            (piece.level < 0 || out.back().file_off + out.back().len == piece.file_off))
            out.back().len += piece.len;
        else
            out.push_back(piece);
        at = take_end;
    }
    return at == end;
}

}  // namespace

Result<std::vector<PageSource>> resolve_pages(const TaskPageChain &chain, uint64_t page_size) {
    std::vector<PageSource> deeper;
    for (size_t n = chain.pagemaps.size(); n-- > 0;) {
        std::vector<PageSource> here;
        uint64_t file_off = page_size;
        for (const auto &e : *chain.pagemaps[n]) {
            uint64_t len = e.nr_pages() * page_size;
            if (e.flags() & PAGEMAP_IN_PARENT) {
                if (n + 1 == chain.pagemaps.size())
                    return Error(log::cat("pages ", log::hex(e.vaddr()), "+", e.nr_pages(), " at level ", n,
                                          " are in the parent, but there is no parent image with this task"));
                if (!take_range(deeper, e.vaddr(), e.vaddr() + len, here))
                    return Error(log::cat("pages ", log::hex(e.vaddr()), "+", e.nr_pages(), " at level ", n,
                                          " are in the parent, but the parent image does not have them all"));
                continue;
            }
            PageSource s;
            s.vaddr = e.vaddr();
            s.len = len;
            if (e.flags() & PAGEMAP_ZERO) {
                s.level = -1;
            } else {
                s.level = int(n);
                s.file_off = file_off;
                file_off += len;
            }
            here.push_back(s);
        }
        deeper = std::move(here);
    }
    return deeper;
}

std::vector<std::pair<uint64_t, uint64_t>> data_ranges(const std::vector<PageSource> &sources) {
    std::vector<std::pair<uint64_t, uint64_t>> out;
    for (const auto &s : sources) {
        if (s.level < 0) continue;
        if (!out.empty() && out.back().second == s.vaddr) out.back().second += s.len;
        else out.push_back({s.vaddr, s.vaddr + s.len});
    }
    return out;
}

}  // namespace stasis::images
