#include "common/dump/incremental.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"
#include "common/dump/tracking_keeper.h"
#include "common/linux/uapi.h"
#include "common/parasite/remote_fd.h"
#include "common/util/log.h"
#include "stasis_syscalls.h"

namespace stasis::dump {
namespace {

std::string resolve_parent(const DumpOptions &opts) {
    const std::string &p = opts.prev_images_dir;
    if (p.empty() || p.front() == '/') return p;
    return opts.images_dir + "/" + p;
}

}  // namespace

Result<std::unique_ptr<Incremental>> Incremental::open(const DumpOptions &opts, uint32_t page_size) {
    std::unique_ptr<Incremental> inc(new Incremental());
    inc->opts_ = opts;
    inc->page_size_ = page_size;
    bool keep_tracking = opts.track_mem && opts.leave_running;
    if (!opts.prev_images_dir.empty()) {
        std::string path = resolve_parent(opts);
        STASIS_ASSIGN(inc->parent_crc_, std::move(images::inventory_crc32c(path))
                                             .context("--prev-images-dir " + opts.prev_images_dir));
        // The chain as this dump's inventory will name it.
        images::Inventory self;
        self.set_parent_dir(opts.prev_images_dir);
        self.set_parent_inventory_crc32c(inc->parent_crc_);
        self.set_root_pid(opts.pid);
        self.set_arch(arch::kImageArch);
        self.set_page_size(page_size);
        timespec now{};
        clock_gettime(CLOCK_REALTIME, &now);
        self.set_created_unix_ns(uint64_t(now.tv_sec) * 1000000000ull + uint64_t(now.tv_nsec));
        images::ReadOptions ro;
        STASIS_ASSIGN(inc->parents_, std::move(images::read_parents(opts.images_dir, self, ro))
                                         .context("--prev-images-dir " + opts.prev_images_dir));
        const images::Inventory &parent = inc->parents_.front().cp.inventory;
        STASIS_ASSIGN(mem::DirtyMode was, std::move(mem::parse_dirty_mode(parent.dirty_tracking()))
                                              .context("--prev-images-dir " + opts.prev_images_dir));
        inc->parent_keeper_ = parent.keeper();
        inc->collect_ = mem::DirtyMode::content;
        if ((was == mem::DirtyMode::uffd_wp || was == mem::DirtyMode::soft_dirty) && parent.keeper().pid() > 0) {
            if (!keeper_alive(parent.keeper())) {
                log::warn("the dirty tracking of ", opts.prev_images_dir, " is gone (its keeper, process ",
                          parent.keeper().pid(), ", exited): comparing memory with it instead");
            } else if (was == mem::DirtyMode::uffd_wp) {
                auto fds = take_uffds(parent.keeper());
                if (fds.ok()) {
                    inc->kept_uffds_ = std::move(*fds);
                    inc->collect_ = was;
                } else {
                    log::warn(fds.error().message(), ": comparing memory with ", opts.prev_images_dir, " instead");
                }
            } else {
                inc->collect_ = was;
            }
        }
        log::info("incremental on ", opts.prev_images_dir, " (", inc->parents_.size(),
                  " image director", inc->parents_.size() == 1 ? "y" : "ies", "), changes found by ",
                  mem::dirty_mode_name(inc->collect_));
        // Where each page of the parent chain lies, before the tree is
        // frozen (the chain does not change; resolving it took 15 ms of a
        // 1 GiB process's freeze behind three levels).
        for (const auto &task : inc->parents_.front().cp.tasks) {
            if (task.tree.zombie()) continue;
            pid_t pid = task.tree.pid();
            STASIS_TRY(inc->load_parent_pages(pid, inc->tasks_[pid]));
        }
    }
    if (keep_tracking) {
        STASIS_ASSIGN(inc->arm_, mem::choose_dirty_mode());
        log::info("dirty tracking for the next dump: ", mem::dirty_mode_name(inc->arm_));
    }
    return inc;
}

Incremental::~Incremental() {
    if (!finished_ && consumed_ && parent_keeper_.pid() > 0) stop_keeper(parent_keeper_);
}

Status Incremental::load_parent_pages(pid_t pid, Task &t) {
    if (t.loaded || parents_.empty()) return ok();
    t.loaded = true;
    const auto &first = parents_.front().cp;
    const images::TaskImages *mine = nullptr;
    for (const auto &task : first.tasks)
        if (task.tree.pid() == pid && !task.tree.zombie()) mine = &task;
    if (!mine) return ok();  // a task the parent did not have: everything is new
    images::TaskPageChain chain =
        images::task_chain(pid, *mine, std::span<const images::ChainLevel>(parents_).subspan(1));
    std::string what = log::cat("the parent images of process ", pid);
    STASIS_ASSIGN(t.parent.sources, std::move(images::resolve_pages(chain, page_size_)).context(what));
    t.parent.data = images::data_ranges(t.parent.sources);
    t.has_parent = true;
    if (collect_ == mem::DirtyMode::content) {
        for (size_t level = 0; level < chain.pagemaps.size(); ++level) {
            uint64_t pages = images::pages_in_file(*chain.pagemaps[level]);
            int fd = -1;
            if (pages) {
                STASIS_ASSIGN(fd, std::move(images::open_pages(parents_[level].dir, chain.pages_ids[level],
                                                               page_size_, pages))
                                      .context(what));
            }
            t.level_fds.emplace_back(fd);
            t.parent.level_fds.push_back(fd);
        }
        t.parent.dirty = nullptr;
    } else {
        t.parent.dirty = &t.dirty;
    }
    return ok();
}

Status Incremental::track(ptrace::FrozenProcess &proc, const std::vector<proc::Mapping> &maps) {
    pid_t pid = proc.pid;
    Task &t = tasks_[pid];
    STASIS_TRY(load_parent_pages(pid, t));
    log::debug("process ", pid, ": parent pages loaded");
    bool rearm_uffd = arm_ == mem::DirtyMode::uffd_wp;

    // What changed since the parent.
    if (t.has_parent && collect_ == mem::DirtyMode::uffd_wp) {
        auto kept = kept_uffds_.find(pid);
        if (kept == kept_uffds_.end()) {
            for (const auto &m : maps) mem::add_range(t.dirty, m.start, m.end);  // never tracked
        } else {
            // Re-protecting or unregistering changes what the parent's
            // keeper certifies; a plain scan does not.
            if (rearm_uffd || opts_.leave_running) consumed_ = true;
            mem::UffdTracker tracker(pid, kept->second.get());
            // A tree killed after the dump needs no cleaning up.
            STASIS_TRY(tracker.collect(maps, rearm_uffd, opts_.leave_running, t.dirty, t.ours));
            if (rearm_uffd) t.uffd = std::move(kept->second);
        }
    } else if (t.has_parent && collect_ == mem::DirtyMode::soft_dirty) {
        STASIS_ASSIGN(auto pm, proc::PagemapReader::open(pid));
        STASIS_TRY(mem::soft_dirty_pages(pm, maps, t.dirty));
        consumed_ = true;
    }

    // Tracking for the next stage.
    if (arm_ == mem::DirtyMode::soft_dirty) {
        STASIS_TRY(std::move(mem::clear_soft_dirty(pid)).context(log::cat("process ", pid)));
        consumed_ = true;
    } else if (rearm_uffd && !t.uffd.valid()) {
        auto made = parasite::take_remote_fd(
            proc, sys::userfaultfd, {uint64_t(O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY), 0, 0, 0, 0, 0});
        Status st = made.ok() ? mem::UffdTracker::enable(made->get()) : Status(std::move(made).error());
        if (st.ok()) {
            mem::Ranges all_new;
            t.uffd = std::move(*made);
            mem::UffdTracker tracker(pid, t.uffd.get());
            st = tracker.collect(maps, true, false, all_new, t.ours);
        }
        if (!st.ok()) {
            // Not fatal: the next dump saves this process's memory in full.
            log::warn("process ", pid, ": cannot track its memory (", st.error().message(),
                      "): the next dump saves it in full");
            t.uffd = images::Fd();
            t.ours.clear();
        }
    }
    return ok();
}

const mem::ParentPages *Incremental::parent_pages(pid_t pid) const {
    auto it = tasks_.find(pid);
    return it != tasks_.end() && it->second.has_parent ? &it->second.parent : nullptr;
}

const std::vector<uint64_t> *Incremental::own_uffd_wp(pid_t pid) const {
    auto it = tasks_.find(pid);
    return it != tasks_.end() && !it->second.ours.empty() ? &it->second.ours : nullptr;
}

void Incremental::describe(images::Inventory &inv) const {
    if (!opts_.prev_images_dir.empty()) {
        inv.set_parent_dir(opts_.prev_images_dir);
        inv.set_parent_inventory_crc32c(parent_crc_);
    }
    inv.set_dirty_tracking(mem::dirty_mode_name(arm_));
}

Status Incremental::finish(images::Inventory &inv, const std::vector<pid_t> &tasks) {
    if (arm_ == mem::DirtyMode::uffd_wp || arm_ == mem::DirtyMode::soft_dirty) {
        std::vector<std::pair<pid_t, int>> uffds;
        for (const auto &[pid, t] : tasks_)
            if (t.uffd.valid()) uffds.push_back({pid, t.uffd.get()});
        STASIS_ASSIGN(*inv.mutable_keeper(), start_keeper(uffds, tasks));
    }
    if (parent_keeper_.pid() > 0) stop_keeper(parent_keeper_);
    finished_ = true;
    return ok();
}

}  // namespace stasis::dump
