// `stasis restore`: read and check everything, clone the root of the tree
// with its original PID (it clones the rest, each with its PID), let every
// task set itself up, run each task's restorer, load registers, and only
// then let the whole tree go at once. Any failure kills everything created;
// the images are only ever read.
#include "common/restore/restore.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "arch/arch.h"
#include "common/files/sysv_shm.h"
#include "common/images/images.h"
#include "common/images/page_chain.h"
#include "common/ptrace/ptrace.h"
#include "common/restore/checks.h"
#include "common/restore/child.h"
#include "common/restore/finish.h"
#include "common/lazy/lazy_socket.h"
#include "common/restore/page_sources.h"
#include "common/restore/remote_pages.h"
#include "common/restore/spawn.h"
#include "common/restore/tree_plan.h"
#include "common/util/fault.h"
#include "common/util/log.h"

namespace stasis::restore {
namespace {

// Kills every process of the half-restored tree on every path out, unless
// released.
class TreeGuard {
public:
    TreeGuard(const images::Checkpoint &cp, const TreePlan &plan) : cp_(cp), plan_(plan) {}
    ~TreeGuard() {
        if (released_) return;
        for (const auto &h : plan_.helpers) ::kill(h.pid, SIGKILL);
        for (const auto &t : cp_.tasks) ::kill(t.tree.pid(), SIGKILL);
        if (root_ > 0) {
            int status;
            ::waitpid(root_, &status, __WALL);
        }
    }
    void set_root(pid_t pid) { root_ = pid; }
    void release() { released_ = true; }

private:
    const images::Checkpoint &cp_;
    const TreePlan &plan_;
    pid_t root_ = -1;
    bool released_ = false;
};

// The shared pages the tasks report through, one per task.
class Controls {
public:
    static Result<Controls> create(size_t n) {
        size_t len = n * sizeof(ChildControl);
        void *p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return Error::from_errno("map the control pages");
        auto *c = static_cast<ChildControl *>(p);
        for (size_t i = 0; i < n; ++i) new (&c[i]) ChildControl();
        return Controls(c, len);
    }
    Controls(Controls &&o) noexcept : c_(o.c_), len_(o.len_) { o.c_ = nullptr; }
    ~Controls() {
        if (c_) ::munmap(c_, len_);
    }
    ChildControl *get() { return c_; }
    ChildControl &operator[](size_t i) { return c_[i]; }

private:
    Controls(ChildControl *c, size_t len) : c_(c), len_(len) {}
    ChildControl *c_;
    size_t len_;
};

Status check_images(const RestoreOptions &opts, const images::Checkpoint &cp, const files::RestoreFileOptions &fo) {
    if (opts.lazy_pages) {
        // Served before anything is created: the daemon must be up.
        STASIS_TRY(lazy::connect_socket(opts.images_dir, 10000).status());
    }
    STASIS_TRY(check_privilege(opts.images_dir, cp));
    STASIS_TRY(std::move(arch::check_cpu_features(cp.inventory.cpu())).context("CPU check"));
    STASIS_TRY(check_vdso(cp));
    STASIS_TRY(files::validate_files(cp.files, fo));
    return check_pids_free(cp);
}

// Seizes every (non-zombie) task as it is created (in any order: a helper
// waits for the tasks it made to be seized before it exits and lets its
// maker go on), then waits until each has set itself up and stopped.
Status attach_tree(const images::Checkpoint &cp, Controls &controls) {
    std::vector<bool> seized(cp.tasks.size());
    size_t left = 0;
    for (size_t i = 0; i < cp.tasks.size(); ++i) left += !cp.tasks[i].tree.zombie();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (left > 0) {
        bool progress = false;
        for (size_t i = 0; i < cp.tasks.size(); ++i) {
            if (controls[i].failed) return Error(controls[i].error);
            if (seized[i] || cp.tasks[i].tree.zombie() || !controls[i].started.load()) continue;
            STASIS_TRY(ptrace::seize(cp.tasks[i].tree.pid(), PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL));
            controls[i].seized.store(1);
            seized[i] = progress = true;
            --left;
        }
        if (progress) {
            deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
            continue;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            for (size_t i = 0; i < cp.tasks.size(); ++i)
                if (!seized[i] && !cp.tasks[i].tree.zombie())
                    return Error("process " + std::to_string(cp.tasks[i].tree.pid()) + " was never created by its parent");
        }
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    STASIS_TRY(fault::check("restore-after-fork"));
    for (size_t i = 0; i < cp.tasks.size(); ++i) {
        if (cp.tasks[i].tree.zombie()) continue;
        pid_t pid = cp.tasks[i].tree.pid();
        STASIS_ASSIGN(ptrace::Stop s, wait_stop_skipping_sigchld(pid, std::chrono::seconds(120)));
        if (s.kind != ptrace::Stop::Kind::signal || s.sig != SIGTRAP) {
            if (controls[i].failed) return Error(controls[i].error);
            return Error("process " + std::to_string(pid) + " " + s.describe() + " while preparing");
        }
    }
    return ok();
}

// Who forks whom (tree_plan.h); the log names every helper.
Result<TreePlan> plan_forks(const images::Checkpoint &cp) {
    std::vector<TaskIds> ids;
    for (const auto &t : cp.tasks)
        ids.push_back(TaskIds{t.tree.pid(), t.tree.ppid(), t.tree.pgid(), t.tree.sid(), t.core.child_subreaper() != 0});
    STASIS_ASSIGN(TreePlan plan, plan_tree(ids));
    for (const auto &h : plan.helpers)
        log::info(describe_helper(h), ": its leader exited before the dump; a helper process takes PID ", h.pid,
                  " to lead it again for process ", cp.tasks[h.first_member].tree.pid(), " and exits");
    return plan;
}

Status write_pidfile(const std::string &path, pid_t pid) {
    std::string text = std::to_string(pid) + "\n";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return Error::from_errno("write pidfile " + path);
    bool written = ::write(fd, text.data(), text.size()) == ssize_t(text.size());
    ::close(fd);
    if (!written) return Error::from_errno("write pidfile " + path);
    return ok();
}

Result<int> restore_tree(const RestoreOptions &opts) {
    if (opts.images_dir.empty()) return Error("no image directory: give -D DIR");
    uint32_t page_size = uint32_t(sysconf(_SC_PAGESIZE));
    images::ReadOptions ro;
    ro.expect_arch = arch::kImageArch;
    ro.expect_page_size = page_size;
    // The page server has the pages files: fetch_pages checks them there.
    ro.check_pages = !opts.page_server;
    STASIS_ASSIGN(images::Checkpoint cp, images::read_checkpoint(opts.images_dir, ro));
    if (cp.inventory.dump_kind() == "pre-dump")
        return Error(opts.images_dir + " is a pre-dump: it holds memory only; restore the dump made with "
                                       "--prev-images-dir on top of it");
    STASIS_ASSIGN(auto parents, images::read_parents(opts.images_dir, cp.inventory, ro));
    STASIS_ASSIGN(std::vector<TaskPages> pages, resolve_tree_pages(opts.images_dir, cp, parents, page_size));
    if (!parents.empty())
        log::info("memory read through ", parents.size(), " parent image director",
                  parents.size() == 1 ? "y" : "ies");
    if (opts.page_server) STASIS_TRY(fetch_pages(*opts.page_server, cp, pages, page_size, opts.lazy_pages));
    files::RestoreFileOptions fo;
    fo.images_dir = opts.images_dir;
    fo.page_size = page_size;
    fo.validation = opts.file_validation;
    fo.shell_job = opts.shell_job;
    STASIS_TRY(check_images(opts, cp, fo));
    STASIS_ASSIGN(TreePlan plan, plan_forks(cp));
    for (const auto &h : plan.helpers) STASIS_TRY(check_pid_free(h.pid, "lead " + describe_helper(h) + " again"));
    files::SysvSegments segments;
    STASIS_TRY(segments.prepare(cp, opts.images_dir, page_size));
    STASIS_ASSIGN(Controls controls, Controls::create(cp.tasks.size()));

    const auto &root = cp.tasks[0];
    pid_t root_pid = root.tree.pid();
    TreeGuard guard(cp, plan);
    STASIS_ASSIGN(pid_t child, clone_with_pid(root_pid));
    if (child == 0) {
        ChildArgs a;
        a.cp = &cp;
        a.index = 0;
        a.opts = &opts;
        a.pages = &pages;
        a.file_opts = fo;
        a.controls = controls.get();
        a.plan = &plan;
        child_main(a);
    }
    guard.set_root(child);
    log::info("restoring ", cp.tasks.size(), " process(es), root ", root_pid);
    STASIS_TRY(attach_tree(cp, controls));
    for (size_t i = 0; i < cp.tasks.size(); ++i) {
        if (cp.tasks[i].tree.zombie()) continue;
        pid_t pid = cp.tasks[i].tree.pid();
        STASIS_TRY(std::move(run_restorer(pid, controls[i])).context("process " + std::to_string(pid)));
    }
    STASIS_TRY(fault::check("restore-after-memory"));
    // Every task is whole; load registers everywhere, then let all go.
    for (size_t i = 0; i < cp.tasks.size(); ++i) {
        if (cp.tasks[i].tree.zombie()) continue;
        pid_t pid = cp.tasks[i].tree.pid();
        STASIS_TRY(std::move(prepare_resume(pid, cp.tasks[i], cp.inventory.cpu(), controls[i])).context("process " + std::to_string(pid)));
    }
    STASIS_TRY(fault::check("restore-before-resume"));
    for (const auto &t : cp.tasks)
        if (!t.tree.zombie()) STASIS_TRY(release_task(t));
    guard.release();
    STASIS_TRY(segments.commit());
    log::info("restored ", cp.tasks.size(), " process(es), root ", root_pid);
    if (!opts.pidfile.empty()) {
        auto st = write_pidfile(opts.pidfile, root_pid);
        if (!st.ok()) log::error(st.error().message());
    }
    if (opts.detach) return 0;
    int status = 0;
    while (::waitpid(child, &status, 0) < 0) {
        if (errno != EINTR) return Error::from_errno("wait for the restored process");
    }
    return status;
}

}  // namespace

Result<int> run(const RestoreOptions &opts) { return restore_tree(opts); }

}  // namespace stasis::restore
