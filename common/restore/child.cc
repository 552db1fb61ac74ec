#include "common/restore/child.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "arch/arch.h"
#include "common/files/epoll.h"
#include "common/files/pipe.h"
#include "common/files/tcp_socket.h"
#include "common/files/tty_restore.h"
#include "common/files/unix_socket.h"
#include "common/proc/maps.h"
#include "common/restore/address_space.h"
#include "common/restore/plan.h"
#include "common/lazy/lazy_socket.h"
#include "common/restore/page_sources.h"
#include "common/restore/premap.h"
#include "common/restore/spawn.h"
#include "common/restore/tree_plan.h"
#include "common/restore/tty_session.h"
#include "common/restore/vdso_restore.h"
#include "common/util/log.h"
#include "pie/blob.h"
#include "vdso/layout.h"

namespace stasis::restore {
namespace {

[[noreturn]] void die(ChildControl *c, const Error &e) {
    std::snprintf(c->error, sizeof c->error, "%s", e.message().c_str());
    c->failed = 1;
    _exit(1);
}

const images::TaskImages *find_task(const images::Checkpoint &cp, pid_t pid) {
    for (const auto &t : cp.tasks)
        if (t.tree.pid() == pid) return &t;
    return nullptr;
}

// Session and process group, as planned (tree_plan.h): a session or group
// led by this task, inherited from whoever forked it (its parent or a
// helper), or a group led by a task created before this one. With
// --shell-job the root stays in our session and group (the terminal's).
Status join_session(const ChildArgs &a) {
    const auto &cp = *a.cp;
    const auto &t = cp.tasks[a.index];
    pid_t pid = t.tree.pid();
    const bool terminal = a.index == 0 && a.opts->shell_job;
    if (t.tree.sid() == pid) {
        if (::setsid() < 0) return Error::from_errno("setsid");
    } else if (a.index != 0 && t.tree.sid() == a.plan->born_sid[a.index]) {
        // inherited
    } else if (!terminal) {
        return Error("process " + std::to_string(pid) + " was in session " + std::to_string(t.tree.sid()) +
                     (a.index != 0 ? ", led by a process that is not in the dump or not its parent's"
                                   : " led by a process outside the dump (a shell?): restore it with --shell-job"));
    }
    pid_t pgid = t.tree.pgid();
    if (pgid == pid) {
        if (t.tree.sid() != pid && ::setpgid(0, 0) < 0) return Error::from_errno("setpgid");
    } else if (a.index != 0 && pgid == a.plan->born_pgid[a.index]) {
        // inherited
    } else if (find_task(cp, pgid) && ::getpgid(pgid) == pgid) {
        if (::setpgid(0, pgid) < 0) return Error::from_errno("join process group " + std::to_string(pgid));
    } else if (!terminal) {
        return Error("process " + std::to_string(pid) + " was in process group " + std::to_string(pgid) +
                     " whose leader is not in the dump");
    }
    return ok();
}

// Every recreated ghost file / memfd by ghost id: later descriptions of the
// same file reopen it instead of creating another copy.
std::map<uint32_t, int> g_ghosts;

// Descriptions made together (the ends of a pipe, the unix sockets of the
// tree), moved to fds above `base`.
Result<int> place_together(TreeFiles &files, std::vector<std::pair<uint32_t, int>> ends, const images::FileEntry &entry,
                           int base) {
    Status st = ok();
    for (auto [id, fd] : ends) {
        int high = st.ok() ? ::fcntl(fd, F_DUPFD_CLOEXEC, base) : -1;
        if (st.ok() && high < 0) st = Error::from_errno("move pipe fd out of the way");
        ::close(fd);
        if (high >= 0) files.by_file[id] = high;
    }
    STASIS_TRY(std::move(st));
    return files.by_file.at(entry.id());
}

// Every end of the pipe `entry` is an end of, at fds above `base`: one
// pipe for them all.
Result<int> open_pipe_once(TreeFiles &files, const images::Checkpoint &cp, const images::FileEntry &entry, int base) {
    STASIS_ASSIGN(auto ends, files::open_pipe_ends(cp.files, entry));
    return place_together(files, std::move(ends), entry, base);
}

// Opens file description `id` once, at an fd above `base`.
Result<int> open_once(TreeFiles &files, const images::Checkpoint &cp, uint32_t id,
                      const files::RestoreFileOptions &fo, int base) {
    auto it = files.by_file.find(id);
    if (it != files.by_file.end()) return it->second;
    if (id == 0 || id > cp.files.size()) return Error("file id " + std::to_string(id) + " is not in files.img");
    const auto &entry = cp.files[id - 1];
    if (entry.has_pipe()) return open_pipe_once(files, cp, entry, base);
    if (files::is_controlling_tty(entry)) return -1;  // opened inside its session: tty_session.cc
    if (entry.has_tty()) {
        STASIS_ASSIGN(auto ends, files::open_pty_ends(cp.files, entry));
        return place_together(files, std::move(ends), entry, base);
    }
    if (entry.has_unix_sk()) {
        // Every unix socket of the tree at once: peers are made together.
        // Descriptions in flight on their queues are opened on the way.
        STASIS_ASSIGN(auto sockets, files::open_unix_sockets(cp.files, [&](uint32_t other) {
                          return open_once(files, cp, other, fo, base);
                      }));
        return place_together(files, std::move(sockets), entry, base);
    }
    if (entry.has_tcp_sk()) {
        // Every TCP socket of the tree at once: listeners before the
        // connections that share their ports.
        STASIS_ASSIGN(auto sockets, files::open_tcp_sockets(cp.files));
        return place_together(files, std::move(sockets), entry, base);
    }
    uint32_t ghost = entry.has_reg() ? entry.reg().ghost_id() : 0;
    int fd;
    if (ghost && g_ghosts.count(ghost)) {
        STASIS_ASSIGN(fd, files::reopen_file(g_ghosts[ghost], entry));
    } else {
        STASIS_ASSIGN(fd, files::open_file(entry, fo));
    }
    int high = ::fcntl(fd, F_DUPFD_CLOEXEC, base);
    int err = errno;
    ::close(fd);
    if (high < 0) return Error::from_errno("move file descriptor out of the way", err);
    files.by_file[id] = high;
    if (ghost && !g_ghosts.count(ghost)) g_ghosts[ghost] = high;
    return high;
}

// Shared anonymous memory: one shmem object per Vma.shmem_id, made the way
// the kernel makes them (mmap MAP_SHARED|MAP_ANONYMOUS) and held through
// /proc/self/map_files, so every view, in every task, maps the same object.
Status create_shared_objects(const images::Checkpoint &cp, int base, TreeFiles &files) {
    std::map<uint64_t, uint64_t> size;
    for (const auto &t : cp.tasks)
        for (const auto &v : t.vmas) {
            if (v.kind() != images::VMA_ANON_SHARED || !v.shmem_id()) continue;
            uint64_t &s = size[v.shmem_id()];
            s = std::max(s, v.pgoff() + (v.end() - v.start()));
        }
    for (const auto &[id, len] : size) {
        void *p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return Error::from_errno("create shared memory object");
        char name[96];
        std::snprintf(name, sizeof name, "/proc/self/map_files/%lx-%lx", (unsigned long)uintptr_t(p),
                      (unsigned long)(uintptr_t(p) + len));
        int fd = ::open(name, O_RDWR | O_CLOEXEC);
        int err = errno;
        ::munmap(p, len);
        if (fd < 0) return Error::from_errno("open the new shared memory object", err);
        int high = ::fcntl(fd, F_DUPFD_CLOEXEC, base);
        ::close(fd);
        if (high < 0) return Error::from_errno("move shared memory fd");
        files.shmem[id] = high;
    }
    return ok();
}

// The root: every file description and shared object of the whole tree,
// above every fd number any task uses.
Status open_tree_files(ChildArgs &a) {
    const auto &cp = *a.cp;
    int max_target = 2;
    for (const auto &t : cp.tasks)
        for (const auto &f : t.fds) max_target = std::max(max_target, f.fd());
    struct rlimit lim {};
    ::getrlimit(RLIMIT_NOFILE, &lim);
    rlim_t want = rlim_t(max_target) + 64 + rlim_t(cp.files.size());
    if (want > lim.rlim_cur) {
        lim.rlim_cur = std::min<rlim_t>(lim.rlim_max, want);
        ::setrlimit(RLIMIT_NOFILE, &lim);  // each restorer sets the saved limit later
    }
    int base = max_target + 1;
    for (const auto &t : cp.tasks) {
        std::string who = "process " + std::to_string(t.tree.pid());
        for (const auto &f : t.fds)
            STASIS_TRY(std::move(open_once(a.files, cp, f.file_id(), a.file_opts, base))
                           .status()
                           .context(who + ": fd " + std::to_string(f.fd())));
        for (const auto &v : t.vmas)
            if (v.file_id() && v.kind() != images::VMA_SYSV_SHM)
                STASIS_TRY(std::move(open_once(a.files, cp, v.file_id(), a.file_opts, base)).status().context(who));
        if (t.mm.exe_file_id())
            STASIS_TRY(std::move(open_once(a.files, cp, t.mm.exe_file_id(), a.file_opts, base)).status().context(who));
    }
    return create_shared_objects(cp, base, a.files);
}

struct ServiceFds {
    std::map<uint32_t, int> by_file;
    std::map<uint64_t, int> shmem;
    std::vector<int> pages;  // pages image of each level of the chain (-1: none)
    int lazy = -1;           // connected to `stasis lazy-pages` (the restorer closes it)
    std::vector<int> all;
};

// This task's own fds at their numbers; its service fds (mapped files, the
// exe, shared objects, its pages image) kept for the restorer; everything
// else closed.
Result<ServiceFds> install_fds(const ChildArgs &a) {
    const auto &t = a.cp->tasks[a.index];
    ServiceFds svc;
    int base = 3;
    for (const auto &[id, fd] : a.files.by_file) base = std::max(base, fd + 1);
    for (const auto &[id, fd] : a.files.shmem) base = std::max(base, fd + 1);
    for (const auto &v : t.vmas) {
        if (v.file_id() && v.kind() != images::VMA_SYSV_SHM) svc.by_file[v.file_id()] = a.files.by_file.at(v.file_id());
        if (v.kind() == images::VMA_ANON_SHARED && v.shmem_id()) svc.shmem[v.shmem_id()] = a.files.shmem.at(v.shmem_id());
    }
    if (t.mm.exe_file_id()) svc.by_file[t.mm.exe_file_id()] = a.files.by_file.at(t.mm.exe_file_id());
    STASIS_ASSIGN(std::vector<int> levels, open_levels((*a.pages)[a.index], a.file_opts.page_size));
    for (int fd : levels) {
        int moved = fd < 0 ? -1 : ::fcntl(fd, F_DUPFD_CLOEXEC, base);
        if (fd >= 0) ::close(fd);
        if (fd >= 0 && moved < 0) return Error::from_errno("move pages image fd");
        svc.pages.push_back(moved);
    }
    if (a.opts->lazy_pages) {
        STASIS_ASSIGN(images::Fd conn, lazy::connect_socket(a.opts->images_dir, 10000));
        svc.lazy = ::fcntl(conn.get(), F_DUPFD_CLOEXEC, base);
        if (svc.lazy < 0) return Error::from_errno("move the lazy-pages connection");
    }
    for (const auto &f : t.fds) {
        int src = a.files.by_file.at(f.file_id());
        if (::dup3(src, f.fd(), f.cloexec() ? O_CLOEXEC : 0) < 0)
            return Error::from_errno("dup3 to fd " + std::to_string(f.fd()));
    }
    std::set<int> keep;
    for (const auto &f : t.fds) keep.insert(f.fd());
    for (auto &[id, fd] : svc.by_file) keep.insert(fd), svc.all.push_back(fd);
    for (auto &[id, fd] : svc.shmem) keep.insert(fd), svc.all.push_back(fd);
    for (int fd : svc.pages)
        if (fd >= 0) keep.insert(fd), svc.all.push_back(fd);
    if (svc.lazy >= 0) keep.insert(svc.lazy);
    // Close everything else: other tasks' descriptions and whatever the
    // engine had open (its log, its terminal).
    int prev = -1;
    for (int fd : keep) {
        if (fd > prev + 1) ::syscall(SYS_close_range, prev + 1, fd - 1, 0);
        prev = fd;
    }
    ::syscall(SYS_close_range, prev + 1, ~0u, 0);
    return svc;
}

Status enter_dirs(const images::TaskCore &core) {
    std::string root = core.root(), cwd = core.cwd();
    if (!root.empty() && root != "/") {
        if (::chroot(root.c_str()) < 0) return Error::from_errno("chroot " + root);
    }
    if (!cwd.empty() && ::chdir(cwd.c_str()) < 0) return Error::from_errno("chdir " + cwd);
    return ok();
}

Status build_region(const ChildArgs &a, const ServiceFds &svc) {
    const auto &t = a.cp->tasks[a.index];
    uint64_t page = a.file_opts.page_size;
    STASIS_ASSIGN(auto self, proc::read_maps(::getpid()));
    PlanInputs in;
    in.premapped = a.premap;
    in.premap_ranges = a.premap_ranges;
    in.task = &t;
    in.page_size = page;
    in.sources = &(*a.pages)[a.index].sources;
    in.level_fds = svc.pages;
    in.lazy_sock = svc.lazy;
    in.file_fds = svc.by_file;
    in.shmem_fds = svc.shmem;
    in.close_fds = svc.all;
    for (const auto &m : self) {
        images::VmaKind k = m.path == "[vdso]"          ? images::VMA_VDSO
                            : m.path == "[vvar]"        ? images::VMA_VVAR
                            : m.path == "[vvar_vclock]" ? images::VMA_VVAR_VCLOCK
                            : m.path == "[sigpage]"     ? images::VMA_SIGPAGE
                                                        : images::VMA_KIND_UNSPECIFIED;
        if (k != images::VMA_KIND_UNSPECIFIED) in.specials.push_back({k, m.start, m.end});
        if (m.path != "[vsyscall]" && m.path != "[vectors]") in.unmap_end = std::max(in.unmap_end, m.end);
    }
    unsigned ncpu = std::max(1u, std::thread::hardware_concurrency());
    in.nr_workers = std::min<unsigned>(ncpu > 1 ? ncpu - 1 : 0, RESTORE_MAX_WORKERS);
    int last_cap = 40;
    if (FILE *f = std::fopen("/proc/sys/kernel/cap_last_cap", "r")) {
        if (std::fscanf(f, "%d", &last_cap) != 1) last_cap = 40;
        std::fclose(f);
    }
    in.last_cap = uint32_t(last_cap);
    // The vDSO: decided as the engine did in check_vdso(), the proxy built
    // for this address space.
    std::optional<VdsoProxyPlan> proxy;
    std::vector<std::pair<uint64_t, uint64_t>> claimed;
    int proxy_fd = -1;  // the restorer closes it
    STASIS_ASSIGN(auto current, vdso::describe_process(::getpid(), self));
    const ForcedProxy forced = vdso_proxy_forced();
    if (decide_vdso(t.vdso, current, forced).proxy) {
        STASIS_ASSIGN(proxy, std::move(plan_vdso_proxy(t, current, self, page, forced)).context("vDSO proxy"));
        proxy_fd = int(::syscall(SYS_memfd_create, "stasis-vdso-proxy", 0u));
        if (proxy_fd < 0) return Error::from_errno("memfd_create for the vDSO proxy");
        const auto &bytes = proxy->proxy.bytes;
        for (size_t done = 0; done < bytes.size();) {
            ssize_t n = ::pwrite(proxy_fd, bytes.data() + done, bytes.size() - done, off_t(done));
            if (n <= 0) return Error::from_errno("write the vDSO proxy");
            done += size_t(n);
        }
        in.vdso_proxy = &*proxy;
        in.vdso_proxy_fd = proxy_fd;
        in.close_fds.push_back(proxy_fd);
        claimed.push_back(proxy->block);
    }
    PlanBuilder builder(in);
    STASIS_TRY(builder.build());
    const auto &lay = builder.layout();
    STASIS_ASSIGN(uint64_t region,
                  std::move(find_free_range(*a.cp, self, lay.total, page, claimed)).context("restorer region"));
    void *p = ::mmap(reinterpret_cast<void *>(region), lay.total, PROT_READ | PROT_WRITE | PROT_EXEC,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED || uint64_t(uintptr_t(p)) != region) return Error::from_errno("map the restorer region");
    const pie::Blob &blob = pie::restorer;
    std::memcpy(p, blob.bytes, blob.size);
    std::vector<uint8_t> plan = builder.finish(region);
    std::memcpy(static_cast<char *>(p) + lay.plan_offset, plan.data(), plan.size());
    auto *c = &a.controls[a.index];
    c->region_start = region;
    c->region_end = region + lay.total;
    c->plan_addr = region + lay.plan_offset;
    c->entry = region + blob.offset_of("pie_entry");
    c->stack_top = region + lay.main_stack_top;
    const auto &insn = arch::kSyscallInsn;
    for (uint64_t off = 0; off + insn.size() <= blob.size; off += arch::kInsnAlign) {
        if (std::memcmp(blob.bytes + off, insn.data(), insn.size()) == 0) {
            c->syscall_insn = region + off;
            break;
        }
    }
    if (!c->syscall_insn) return Error("the restorer blob has no syscall instruction");
    return ok();
}

// A zombie dies again the way it died: its parent reaps it when it likes.
[[noreturn]] void die_as_zombie(int status) {
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        ::signal(sig, SIG_DFL);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, sig);
        ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
        ::prctl(PR_SET_DUMPABLE, 0);  // no core file for a replayed death
        ::raise(sig);
    }
    _exit(WEXITSTATUS(status));
}

[[noreturn]] void helper_main(ChildArgs &a, size_t helper);

// Clones what `me` makes (tree_plan.h) with their PIDs, in image order:
// its children, each going through child_main itself (and cloning its
// own), and the helpers that lead a session or group again for some of
// them, waited for until they exit.
Status fork_children(ChildArgs &a, Maker me) {
    const auto &cp = *a.cp;
    const TreePlan &plan = *a.plan;
    std::vector<bool> helper_done(plan.helpers.size());
    for (size_t j = 1; j < cp.tasks.size(); ++j) {
        const auto &t = cp.tasks[j];
        if (auto h = plan.helper_to_fork(me, j); h && !helper_done[*h]) {
            helper_done[*h] = true;
            const Helper &helper = plan.helpers[*h];
            STASIS_ASSIGN(pid_t pid, clone_with_pid(helper.pid));
            if (pid == 0) helper_main(a, *h);
            int status = 0;
            while (::waitpid(pid, &status, __WALL) < 0)
                if (errno != EINTR) return Error::from_errno("wait for the helper of " + describe_helper(helper));
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return Error("the helper leading " + describe_helper(helper) + " again failed");
            continue;
        }
        if (!plan.makes(me, j)) continue;
        STASIS_ASSIGN(pid_t child, clone_with_pid(t.tree.pid()));
        if (child == 0) {
            if (t.tree.zombie()) die_as_zombie(t.tree.exit_status());
            a.index = j;
            child_main(a);
        }
        if (t.tree.zombie()) {
            // Dead before this task goes on, so that its (blocked) SIGCHLD
            // is pending before the restorer drops it, not after.
            siginfo_t si{};
            while (::waitid(P_PID, id_t(child), &si, WEXITED | WNOWAIT) != 0)
                if (errno != EINTR) return Error::from_errno("wait for zombie " + std::to_string(child) + " to exit");
        }
    }
    return ok();
}

// A helper: takes the PID of a session's or group's exited leader, leads it
// again, makes its members, and exits once the engine holds every one of
// them and they have cleared their parent-death signal: they go back to
// the subreaper that had them. Its failure is told by its exit status (and by
// the members' own control pages).
[[noreturn]] void helper_main(ChildArgs &a, size_t helper) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    const Helper &h = a.plan->helpers[helper];
    if ((h.session ? ::setsid() : ::setpgid(0, 0)) < 0) _exit(2);
    const Maker me{true, helper};
    if (!fork_children(a, me).ok()) _exit(3);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (size_t j = 0; j < a.cp->tasks.size(); ++j) {
        if (!a.plan->makes(me, j) || a.cp->tasks[j].tree.zombie()) continue;
        while (!a.controls[j].adopted.load()) {
            if (a.controls[j].failed || std::chrono::steady_clock::now() > deadline) _exit(4);
            ::usleep(100);
        }
    }
    _exit(0);
}

// Before forking children: this task's premapped memory. VMAs shared
// copy-on-write with the parent are the parent's copies, inherited at the
// parent's premap addresses; VMAs its own children share with it are
// premapped fresh now, so that the children inherit them. Then the pages
// that are this task's own are read in (and the ones it lacks dropped).
Status prepare_memory(ChildArgs &a) {
    const auto &cp = *a.cp;
    const auto &t = cp.tasks[a.index];
    uint64_t page = a.file_opts.page_size;
    std::map<uint64_t, uint64_t> mine;
    for (const auto &v : t.vmas) {
        if (!v.cow_from_parent()) continue;
        auto it = a.premap.find(v.start());
        if (it == a.premap.end())
            return Error(log::cat("memory at ", log::hex(v.start()),
                                  " is shared copy-on-write with the parent, which has no such mapping to share"));
        mine[v.start()] = it->second;
    }
    std::vector<const images::Vma *> fresh;
    for (const auto &v : t.vmas)
        if (!mine.count(v.start()) && premapped_at_restore(cp, t, v)) fresh.push_back(&v);
    if (!fresh.empty()) {
        STASIS_ASSIGN(auto self, proc::read_maps(::getpid()));
        STASIS_ASSIGN(Premap p, premap_fresh(cp, fresh, page, self));
        mine.insert(p.at.begin(), p.at.end());
        a.premap_ranges.push_back(p.range);
    }
    a.premap = mine;  // what this task's children inherit, and its plan uses
    if (mine.empty()) return ok();
    STASIS_ASSIGN(std::vector<int> levels, open_levels((*a.pages)[a.index], a.file_opts.page_size));
    auto st = fill_premapped(t, (*a.pages)[a.index].sources, mine, levels);
    for (int fd : levels)
        if (fd >= 0) ::close(fd);
    return st;
}

Status prepare(ChildArgs &a) {
    STASIS_TRY(join_session(a));
    if (a.index == 0) STASIS_TRY(open_tree_files(a));
    STASIS_TRY(restore_controlling_tty(a));
    STASIS_TRY(prepare_memory(a));
    // Helpers that exit give their children to this task again.
    if (a.cp->tasks[a.index].core.child_subreaper() && ::prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
        return Error::from_errno("become a child subreaper");
    STASIS_TRY(fork_children(a, Maker{false, a.index}));
    STASIS_ASSIGN(ServiceFds svc, install_fds(a));
    STASIS_TRY(files::add_epoll_watches(*a.cp, a.index));
    STASIS_TRY(enter_dirs(a.cp->tasks[a.index].core));
    return build_region(a, svc);
}

}  // namespace

[[noreturn]] void child_main(ChildArgs &a) {
    ChildControl *c = &a.controls[a.index];
    // If the parent dies before the engine takes over, this half-made
    // process must not linger: die with it. (The restorer sets the saved
    // pdeath signal.)
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    // Base pages while memory is filled (inherited by the children this
    // task forks): a page written where huge pages are on would populate
    // its whole huge page, and the holes the dump recorded there would come
    // back resident. The restorer sets the dumped value afterwards.
    ::prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
    // Children re-created as zombies exit while this task prepares: their
    // SIGCHLD stays pending (no ptrace stop the engine would have to
    // answer) until the restorer drops it. The saved mask is loaded last.
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    ::sigprocmask(SIG_BLOCK, &chld, nullptr);
    c->started.store(1);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!c->seized.load()) {
        if (std::chrono::steady_clock::now() > deadline) die(c, Error("the engine never attached"));
        ::usleep(100);
    }
    // Made by a helper, which exits once told: the engine's
    // PTRACE_O_EXITKILL covers this process from here.
    if (a.index != 0 && a.plan->task_maker[a.index].helper) {
        ::prctl(PR_SET_PDEATHSIG, 0);
        c->adopted.store(1);
    }
    auto st = prepare(a);
    if (!st.ok()) die(c, std::move(st).error().context("process " + std::to_string(::getpid())));
    // Stop for the engine; it starts the restorer from here.
    ::raise(SIGTRAP);
    die(c, Error("resumed without the restorer"));
}

}  // namespace stasis::restore
