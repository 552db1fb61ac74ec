// `stasis pre-dump`: freeze, record the layout and arm tracking, release,
// then copy the pages of the running tree (seed 003).
#include "common/dump/pre_dump.h"

#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
#include <vector>

#include "common/dump/dump_steps.h"
#include "common/dump/incremental.h"
#include "common/dump/tracking_keeper.h"
#include "common/images/images.h"
#include "common/mem/dump_memory.h"
#include "common/mem/live_copy.h"
#include "common/proc/maps.h"
#include "common/proc/stat.h"
#include "common/ptrace/frozen_tree.h"
#include "common/util/fault.h"
#include "common/util/log.h"
#include "vdso/proxy.h"

namespace stasis::dump {
namespace {

struct PreDumped {
    images::TaskImages task;
    std::vector<mem::CopyRun> to_copy;
};

// While frozen: what a pre-dump records of one process (its tree entry,
// thread ids, mappings and which pages to copy), with tracking armed.
Result<PreDumped> record_process(ptrace::FrozenProcess &proc, const DumpOptions &opts, Incremental &inc,
                                 std::map<pid_t, std::vector<proc::Mapping>> &maps_of) {
    pid_t pid = proc.pid;
    PreDumped out;
    STASIS_ASSIGN(proc::TaskStat stat, proc::read_stat(pid));
    STASIS_ASSIGN(auto maps, proc::read_smaps(pid));
    STASIS_TRY(inc.track(proc, maps));
    STASIS_TRY(vdso::adopt_proxy(pid, maps).status());  // its pages are not the program's
    mem::MemoryDumpContext mctx;
    mctx.pre_dump = true;
    mctx.parent_pages = inc.parent_pages(pid);
    mctx.own_uffd_wp = inc.own_uffd_wp(pid);
    if (pid != opts.pid) {
        auto parent = maps_of.find(stat.ppid);
        if (parent != maps_of.end()) {
            mctx.parent_pid = stat.ppid;
            mctx.parent_maps = &parent->second;
        }
    }
    STASIS_ASSIGN(mem::DumpedMemory mem, mem::dump_memory(pid, maps, mctx));
    maps_of[pid] = std::move(maps);
    auto &t = out.task;
    t.tree = tree_entry(opts, proc, stat);
    t.core.set_comm(stat.comm);
    for (const auto &th : proc.threads) {
        images::ThreadCore core;
        core.set_tid(th.tid);
        t.threads.push_back(core);
    }
    t.vmas = std::move(mem.vmas);
    t.pagemap = std::move(mem.pagemap);
    t.pagemap_head.set_pages_id(uint32_t(pid));
    out.to_copy = std::move(mem.deferred);
    return out;
}

}  // namespace

Status pre_dump_tree(const DumpOptions &opts) {
    STASIS_TRY(check_target(opts.pid));
    if (opts.images_dir.empty()) return Error("no image directory: give -D DIR");
    STASIS_TRY(prepare_images_dir(opts.images_dir));
    uint32_t page_size = uint32_t(sysconf(_SC_PAGESIZE));
    STASIS_ASSIGN(std::unique_ptr<Incremental> inc, Incremental::open(opts, page_size));

    images::Checkpoint cp;
    std::vector<std::vector<mem::CopyRun>> to_copy;
    double frozen = 0;
    {
        auto frozen_at = std::chrono::steady_clock::now();
        STASIS_ASSIGN(ptrace::FrozenTree tree, ptrace::FrozenTree::freeze(opts.pid, true));
        if (tree.processes().front().zombie) return Error("process " + std::to_string(opts.pid) + " is a zombie");
        STASIS_TRY(fault::check("after-seize"));
        std::map<pid_t, std::vector<proc::Mapping>> maps_of;
        for (auto &proc : tree.processes()) {
            if (proc.zombie) {
                STASIS_ASSIGN(images::TaskImages z, dump_zombie(proc.pid));
                cp.tasks.push_back(std::move(z));
                to_copy.emplace_back();
                continue;
            }
            STASIS_ASSIGN(PreDumped pd, std::move(record_process(proc, opts, *inc, maps_of))
                                            .context("process " + std::to_string(proc.pid)));
            cp.tasks.push_back(std::move(pd.task));
            to_copy.push_back(std::move(pd.to_copy));
        }
        STASIS_TRY(fault::check("pre-dump-frozen"));
        STASIS_TRY(tree.release());
        frozen = frozen_ms(frozen_at);
    }

    // The tree runs again: copy its pages from outside.
    std::vector<images::RawImageWriter> pages;
    uint64_t copied = 0, in_parent = 0, gone_pages = 0;
    for (size_t i = 0; i < cp.tasks.size(); ++i) {
        auto &t = cp.tasks[i];
        if (t.tree.zombie()) continue;
        pid_t pid = t.tree.pid();
        STASIS_ASSIGN(auto w, images::RawImageWriter::create(opts.images_dir, "pages-" + std::to_string(pid) + ".img",
                                                             images::IMAGE_PAGES, page_size));
        STASIS_ASSIGN(mem::Ranges gone, std::move(mem::copy_running(pid, to_copy[i], w, page_size))
                                            .context("process " + std::to_string(pid)));
        mem::drop_pages(t.pagemap, gone, page_size);
        for (const auto &g : gone) gone_pages += (g.second - g.first) / page_size;
        for (const auto &e : t.pagemap)
            (e.flags() & images::PAGEMAP_IN_PARENT ? in_parent : copied) +=
                e.flags() & images::PAGEMAP_ZERO ? 0 : e.nr_pages();
        pages.push_back(std::move(w));
    }
    STASIS_TRY(fault::check("pre-dump-copied"));

    cp.inventory = basic_inventory(opts, page_size, "pre-dump");
    cp.inventory.set_task_count(uint32_t(cp.tasks.size()));
    inc->describe(cp.inventory);
    images::ReadOptions check;
    check.expect_arch = arch::kImageArch;
    check.expect_page_size = page_size;
    STASIS_TRY(std::move(images::validate_checkpoint(cp, check)).context("the images about to be written"));
    for (auto &p : pages) STASIS_TRY(p.commit());
    std::vector<pid_t> pids;
    for (const auto &t : cp.tasks)
        if (!t.tree.zombie()) pids.push_back(t.tree.pid());
    STASIS_TRY(inc->finish(cp.inventory, pids));
    images::WriteOptions wopts;
    wopts.durable = false;
    if (auto st = images::write_checkpoint(opts.images_dir, cp, wopts); !st.ok()) {
        stop_keeper(cp.inventory.keeper());
        return st;
    }
    log::info("pre-dump complete: ", copied, " pages copied, ", in_parent, " unchanged in the parent images",
              gone_pages ? log::cat(", ", gone_pages, " unmapped while copying") : "");
    log::info("the tree was frozen for ", frozen, " ms");
    return ok();
}

}  // namespace stasis::dump
