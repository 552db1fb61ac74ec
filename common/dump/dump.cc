// `stasis dump`: freeze, collect, write, then kill or release.
//
// The FrozenTree is declared before anything that changes the tree (the
// parasite), so on every early return the parasite is cured first and the
// tree released after: a failed dump leaves the target running, unharmed
// and untraced, and the image directory without an inventory.img.
#include "common/dump/dump.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string_view>
#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "common/dump/dump_steps.h"
#include "common/dump/incremental.h"
#include "common/dump/pre_copy.h"
#include "common/dump/pre_dump.h"
#include "common/dump/task_state.h"
#include "common/dump/tracking_keeper.h"
#include "common/dump/unsupported_state.h"
#include "common/files/file_table.h"
#include "common/images/images.h"
#include "common/mem/dump_memory.h"
#include "common/pageserver/remote_image.h"
#include "common/parasite/parasite.h"
#include "common/proc/fdinfo.h"
#include "common/proc/maps.h"
#include "common/proc/stat.h"
#include "common/proc/status.h"
#include "common/ptrace/frozen_tree.h"
#include "common/ptrace/ptrace.h"
#include "common/ptrace/step_out.h"
#include "common/util/fault.h"
#include "common/util/log.h"
#include "stasis_version.h"
#include "vdso/layout.h"
#include "vdso/proxy.h"

namespace stasis::dump {

Status prepare_images_dir(const std::string &dir) {
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return Error::from_errno("create images dir " + dir);
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) return Error::from_errno(dir);
    if (!S_ISDIR(st.st_mode)) return Error(dir + " is not a directory");
    // An inventory from an earlier dump would make a half-written new one
    // look complete: remove it before anything else is written.
    std::string inv = dir + "/inventory.img";
    if (::unlink(inv.c_str()) != 0 && errno != ENOENT) return Error::from_errno("remove old " + inv);
    return ok();
}

Status check_target(pid_t pid) {
    if (pid <= 0) return Error("no process to dump: give -t PID");
    if (::kill(pid, 0) != 0 && errno == ESRCH) return Error("no process with PID " + std::to_string(pid));
    if (pid == ::getpid()) return Error("stasis cannot dump itself");
    return ok();
}

namespace {

Status collect_fds(pid_t pid, files::FileTable &files, images::TaskImages &task) {
    STASIS_ASSIGN(auto fds, proc::list_fds(pid));
    for (int fd : fds) {
        STASIS_ASSIGN(uint32_t id, files.add_fd(pid, fd));
        STASIS_ASSIGN(proc::FdInfo info, proc::read_fdinfo(pid, fd));
        images::FdEntry e;
        e.set_fd(fd);
        e.set_file_id(id);
        e.set_cloexec((info.flags & 02000000) != 0);  // O_CLOEXEC as fdinfo shows it
        task.fds.push_back(e);
    }
    return ok();
}

}  // namespace

Result<images::TaskImages> dump_zombie(pid_t pid) {
    STASIS_ASSIGN(proc::TaskStat stat, proc::read_stat(pid));
    images::TaskImages t;
    t.tree.set_pid(pid);
    t.tree.set_ppid(stat.ppid);
    t.tree.set_pgid(stat.pgrp);
    t.tree.set_sid(stat.session);
    t.tree.set_zombie(true);
    t.tree.set_exit_status(stat.exit_code);
    t.core.set_comm(stat.comm);
    return t;
}

images::PstreeEntry tree_entry(const DumpOptions &opts, const ptrace::FrozenProcess &proc,
                               const proc::TaskStat &stat) {
    images::PstreeEntry e;
    e.set_pid(proc.pid);
    e.set_ppid(proc.pid == opts.pid ? 0 : stat.ppid);
    e.set_pgid(stat.pgrp);
    e.set_sid(stat.session);
    for (const auto &th : proc.threads) e.add_threads(th.tid);
    return e;
}

images::Inventory basic_inventory(const DumpOptions &opts, uint32_t page_size, const char *kind) {
    images::Inventory inv;
    inv.set_format_version(images::kFormatVersion);
    inv.set_arch(arch::kImageArch);
    inv.set_page_size(page_size);
    struct utsname u {};
    ::uname(&u);
    inv.set_kernel_release(u.release);
    inv.set_root_pid(opts.pid);
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    inv.set_created_unix_ns(uint64_t(now.tv_sec) * 1000000000ull + uint64_t(now.tv_nsec));
    inv.set_stasis_version(STASIS_VERSION " (" STASIS_GIT_REVISION ")");
    inv.set_dump_kind(kind);
    return inv;
}

double frozen_ms(std::chrono::steady_clock::time_point since) {
    return double(std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - since)
                      .count()) /
           1000.0;
}

namespace {

struct ProcessDump {
    images::TaskImages task;
    images::CpuFeatures cpu;
    std::unique_ptr<images::RawImageWriter> pages;  // committed once the whole dump succeeded
};

// The pages image of `pid`: here, or on the page server.
Result<images::RawImageWriter> pages_writer(const DumpOptions &opts, pageserver::Client *server, pid_t pid,
                                            uint32_t page_size) {
    std::string name = "pages-" + std::to_string(pid) + ".img";
    if (server) return pageserver::remote_pages_writer(*server, name, page_size);
    return images::RawImageWriter::create(opts.images_dir, name, images::IMAGE_PAGES, page_size);
}

using ReservedPages = std::map<pid_t, images::RawImageWriter>;

// With live dirty tracking, how many pages the frozen pass will save is
// known before the freeze: each process's pages image is written that big
// now (with a margin: the tree runs on until frozen), and the frozen pass
// writes over it. Appending to a file allocates its pages (on tmpfs:
// allocated, charged, cleared), which cost more than the copy itself: on a
// host that backs guest memory lazily, up to half of a final freeze after
// a pre-copy pass was that allocation. A count that fails reserves nothing.
ReservedPages reserve_pages_images(const DumpOptions &opts, const Incremental &inc, uint32_t page_size) {
    ReservedPages out;
    const mem::DirtyMode mode = inc.collect_mode();
    if (mode != mem::DirtyMode::uffd_wp && mode != mem::DirtyMode::soft_dirty) return out;
    for (pid_t pid : inc.parent_pids()) {
        auto written = mem::count_written_pages(pid, mode);
        if (!written.ok()) {
            log::debug("process ", pid, ": no pages image reserved: ", written.error().message());
            continue;
        }
        uint64_t pages = *written + *written / 4 + (1u << 20) / page_size;
        auto w = pages_writer(opts, nullptr, pid, page_size);
        if (!w.ok()) continue;  // the frozen pass says why
        if (auto st = w->reserve(pages * page_size); !st.ok()) {
            log::debug("process ", pid, ": no pages image reserved: ", st.error().message());
            continue;
        }
        log::debug("process ", pid, ": ", *written, " pages written since the parent images; ", pages * page_size >> 20,
                   " MiB of its pages image reserved before the freeze");
        out.emplace(pid, std::move(*w));
    }
    return out;
}

// What the dump reads of each process once, right after the freeze: its
// mappings (maps, not smaps) and the mark of a vDSO proxy, if it runs on
// one. Stepping out of the vDSO, moving signal returns and injecting the
// parasite all look at them, and nothing changes them in between (a thread
// stepped out of the vDSO maps nothing). Once instead of three times: for
// a process of 5000 mappings, each look read maps and the tails of its
// 2500 small read-only ones, 4-5 ms with the tree frozen.
struct AtFreeze {
    std::vector<proc::Mapping> maps;
    std::optional<vdso::ProxyMark> mark;
};

Result<std::map<pid_t, AtFreeze>> read_at_freeze(ptrace::FrozenTree &tree) {
    std::map<pid_t, AtFreeze> out;
    for (auto &p : tree.processes()) {
        if (p.zombie) continue;
        AtFreeze a;
        STASIS_ASSIGN(a.maps, proc::read_maps(p.pid));
        STASIS_ASSIGN(a.mark, std::move(vdso::find_proxy_mark(p.pid, a.maps)).context("process " + std::to_string(p.pid)));
        out.emplace(p.pid, std::move(a));
    }
    return out;
}

Result<ProcessDump> dump_process(ptrace::FrozenProcess &proc, const AtFreeze &at, const DumpOptions &opts,
                                 files::FileTable &files, uint32_t page_size, std::map<pid_t, std::vector<proc::Mapping>> &maps_of,
                                 Incremental *inc, pageserver::Client *server, ReservedPages &reserved,
                                 bool alone) {
    ProcessDump out;
    pid_t pid = proc.pid;
    STASIS_ASSIGN(proc::TaskStat stat, proc::read_stat(pid));
    STASIS_ASSIGN(proc::TaskStatus status, proc::read_status(pid));

    STASIS_TRY(refuse_unsupported_state(pid, status));

    // Files first: a refused file kind (a terminal without --shell-job, a
    // socket) fails the dump before the parasite touches anything.
    STASIS_TRY(collect_fds(pid, files, out.task));
    log::debug("process ", pid, ": fds collected");

    // What changed since the parent images, before the parasite writes to
    // the stack; tracking armed again for the next dump. The mappings read
    // here are the ones dumped (reading smaps walks every page table: once
    // is enough); our own userfaultfd's "uw" flags in them are stripped.
    // (Reading smaps on a second thread while the parasite is injected
    // gained nothing: the parasite's mmap waits for the walk's mmap_lock.)
    std::optional<std::vector<proc::Mapping>> tracked_maps;
    if (inc) {
        STASIS_ASSIGN(tracked_maps, proc::read_smaps(pid));
        log::debug("process ", pid, ": smaps read");
        STASIS_TRY(inc->track(proc, *tracked_maps));
    }

    STASIS_ASSIGN(auto parasite, parasite::Parasite::inject(proc, at.maps));
    STASIS_ASSIGN(TaskState state, collect_task_state(proc, *parasite, stat, status));

    std::vector<proc::Mapping> maps;
    if (tracked_maps) {
        maps = std::move(*tracked_maps);
    } else {
        STASIS_ASSIGN(maps, proc::read_smaps(pid));
    }
    // A process restored through a vDSO proxy is dumped with its original
    // vDSO: the proxy's mappings stand for it (a proxy never nests).
    bool proxied = vdso::adopt_proxy(at.mark, maps);
    std::optional<images::RawImageWriter> pages;
    if (auto r = reserved.extract(pid)) {
        pages.emplace(std::move(r.mapped()));
    } else {
        STASIS_ASSIGN(auto w, pages_writer(opts, server, pid, page_size));
        pages.emplace(std::move(w));
    }
    mem::MemoryDumpContext mctx;
    mctx.exclude_start = parasite->area_start();
    mctx.exclude_end = parasite->area_end();
    mctx.pages = &*pages;
    mctx.files = &files;
    mctx.progress = opts.progress;
    if (inc) {
        mctx.parent_pages = inc->parent_pages(pid);
        mctx.own_uffd_wp = inc->own_uffd_wp(pid);
        mctx.written_pages_private = alone && !opts.leave_running;
    }
    // STASIS_DUMP_COW=0 saves every child's memory in full (for the
    // benchmark that measures what copy-on-write preservation saves).
    const char *cow_env = std::getenv("STASIS_DUMP_COW");
    bool cow = !(cow_env && std::string_view(cow_env) == "0");
    if (pid != opts.pid && cow) {
        auto parent = maps_of.find(stat.ppid);
        if (parent != maps_of.end()) {
            mctx.parent_pid = stat.ppid;
            mctx.parent_maps = &parent->second;
        }
    }
    STASIS_ASSIGN(mem::DumpedMemory mem, mem::dump_memory(pid, maps, mctx));
    STASIS_TRY(fault::check("after-memory"));
    STASIS_ASSIGN(out.task.vdso, vdso::describe_process(pid, maps));
    out.task.vdso.set_proxied(proxied);
    if (proxied) log::info("process ", pid, ": runs on a vDSO proxy; its original vDSO is recorded");
    // The parasite's own mapping is gone after the cure: keep the list as
    // children will compare against it.
    maps.erase(std::remove_if(maps.begin(), maps.end(),
                              [&](const proc::Mapping &m) {
                                  return m.start >= parasite->area_start() && m.end <= parasite->area_end();
                              }),
               maps.end());
    STASIS_TRY(parasite->cure());
    maps_of[pid] = std::move(maps);

    auto &t = out.task;
    t.tree = tree_entry(opts, proc, stat);
    t.core = std::move(state.core);
    t.threads = std::move(state.threads);
    t.mm = std::move(state.mm);
    STASIS_ASSIGN(uint32_t exe, files.add_exe(pid));
    t.mm.set_exe_file_id(exe);
    t.vmas = std::move(mem.vmas);
    t.pagemap = std::move(mem.pagemap);
    t.pagemap_head.set_pages_id(uint32_t(pid));
    for (const auto &th : proc.threads) arch::cpu_features(th.regs, &out.cpu);
    out.pages = std::make_unique<images::RawImageWriter>(std::move(*pages));
    return out;
}

// A thread frozen inside the vDSO is let run until it has returned: the
// restoring kernel's vDSO (or a proxy) need not have the same code at that
// address. The freeze point moves by a few instructions of a clock read.
Status step_out_of_vdso(ptrace::FrozenTree &tree, const std::map<pid_t, AtFreeze> &at_freeze) {
    for (auto &p : tree.processes()) {
        if (p.zombie) continue;
        const AtFreeze &at = at_freeze.at(p.pid);
        auto ranges = vdso::code_ranges(at.maps, at.mark);
        for (auto &t : p.threads) {
            STASIS_ASSIGN(unsigned steps, ptrace::step_out_of(t.tid, ranges));
            if (!steps) continue;
            STASIS_ASSIGN(t.regs, std::move(arch::read_regs(t.tid)).context("thread " + std::to_string(t.tid)));
            STASIS_ASSIGN(t.sigmask, ptrace::get_sigmask(t.tid));
        }
    }
    return ok();
}

// On a vDSO proxy, a thread inside a signal handler returns through the
// signal-return code of this kernel's vDSO, which the kernel put in its
// link register (aarch64, ppc64le and s390x return from handlers through
// the vDSO) and the handler may have saved on its stack. A restore on
// another kernel maps the original vDSO, not this one: such return
// addresses are moved to the same code in the proxy's copy of the
// original, which is mapped wherever the original vDSO is (and keeps that
// code byte for byte). A word of the stack is taken for one only when it
// points into that code exactly.
Status retarget_signal_returns(ptrace::FrozenTree &tree, const std::map<pid_t, AtFreeze> &at_freeze) {
    constexpr uint64_t kMaxStack = 8ull << 20;
    for (auto &p : tree.processes()) {
        if (p.zombie) continue;
        const AtFreeze &at = at_freeze.at(p.pid);
        STASIS_ASSIGN(auto twins, std::move(vdso::signal_return_twins(p.pid, at.maps, at.mark))
                                      .context("process " + std::to_string(p.pid)));
        if (twins.empty()) continue;
        auto moved = [&](uint64_t v) -> std::optional<uint64_t> {
            for (const auto &t : twins)
                if (v >= t.from && v < t.from + t.len) return t.to + (v - t.from);
            return std::nullopt;
        };
        for (auto &t : p.threads) {
            unsigned n = 0;
            if (auto to = moved(arch::link_register(t.regs))) {
                arch::set_link_register(t.regs, *to);
                STASIS_TRY(std::move(arch::write_regs(t.tid, t.regs)).context("thread " + std::to_string(t.tid)));
                ++n;
            }
            const uint64_t sp = arch::sp(t.regs);
            auto m = std::find_if(at.maps.begin(), at.maps.end(),
                                  [&](const proc::Mapping &x) { return sp >= x.start && sp < x.end; });
            if (m != at.maps.end() && (m->prot & PROT_READ)) {
                const uint64_t from = sp & ~uint64_t(sizeof(uintptr_t) - 1);
                std::vector<uintptr_t> words((std::min(m->end, from + kMaxStack) - from) / sizeof(uintptr_t));
                STASIS_TRY(std::move(ptrace::read_mem(t.tid, from, words.data(), words.size() * sizeof(uintptr_t)))
                               .context("thread " + std::to_string(t.tid) + ": read its stack"));
                for (size_t i = 0; i < words.size(); ++i) {
                    auto to = moved(uint64_t(words[i]));
                    if (!to) continue;
                    uintptr_t w = uintptr_t(*to);
                    STASIS_TRY(std::move(ptrace::write_mem(t.tid, from + i * sizeof w, &w, sizeof w))
                                   .context("thread " + std::to_string(t.tid) + ": rewrite a return address"));
                    ++n;
                }
            }
            if (n)
                log::info("thread ", t.tid, ": ", n, " return address(es) into this kernel's vDSO signal-return code ",
                          "moved to the original vDSO's");
        }
    }
    return ok();
}

Status dump_tree(DumpOptions opts) {
    STASIS_TRY(check_target(opts.pid));
    if (opts.images_dir.empty()) return Error("no image directory: give -D DIR");
    STASIS_TRY(prepare_images_dir(opts.images_dir));
    STASIS_TRY(pre_copy(opts));
    uint32_t page_size = uint32_t(sysconf(_SC_PAGESIZE));
    if (opts.track_mem && !opts.leave_running)
        log::info("--track-mem without --leave-running: the tree is killed, there is nothing to track after");
    std::unique_ptr<Incremental> inc;
    if (!opts.prev_images_dir.empty() || (opts.track_mem && opts.leave_running)) {
        STASIS_ASSIGN(inc, Incremental::open(opts, page_size));
    }

    // Connected before the freeze: a page server that is not there fails
    // the dump before the tree is touched.
    std::optional<pageserver::Client> server;
    if (opts.page_server) {
        STASIS_ASSIGN(server, pageserver::Client::connect(*opts.page_server, pageserver::Role::push, page_size));
        log::info("pages go to the page server ", opts.page_server->text());
    }

    ReservedPages reserved;
    if (inc && !server) reserved = reserve_pages_images(opts, *inc, page_size);

    auto frozen_at = std::chrono::steady_clock::now();
    STASIS_ASSIGN(ptrace::FrozenTree tree, ptrace::FrozenTree::freeze(opts.pid, true));
    if (tree.processes().front().zombie) return Error("process " + std::to_string(opts.pid) + " is a zombie");
    STASIS_TRY(fault::check("after-seize"));
    STASIS_ASSIGN(auto at_freeze, read_at_freeze(tree));
    STASIS_TRY(step_out_of_vdso(tree, at_freeze));
    STASIS_TRY(retarget_signal_returns(tree, at_freeze));

    files::FileTableOptions fopts;
    fopts.images_dir = opts.images_dir;
    fopts.page_size = page_size;
    fopts.validation = opts.file_validation;
    fopts.shell_job = opts.shell_job;
    fopts.ext_unix_sk = opts.ext_unix_sk;
    for (const auto &p : tree.processes()) fopts.tree_pids.push_back(p.pid);
    files::FileTable files(fopts);

    images::Checkpoint cp;
    images::CpuFeatures cpu;
    std::vector<std::unique_ptr<images::RawImageWriter>> pages;
    std::map<pid_t, std::vector<proc::Mapping>> maps_of;
    const bool alone = std::count_if(tree.processes().begin(), tree.processes().end(),
                                     [](const auto &p) { return !p.zombie; }) == 1;
    for (auto &proc : tree.processes()) {
        if (proc.zombie) {
            STASIS_ASSIGN(images::TaskImages z, dump_zombie(proc.pid));
            cp.tasks.push_back(std::move(z));
            continue;
        }
        STASIS_ASSIGN(ProcessDump pd,
                      std::move(dump_process(proc, at_freeze.at(proc.pid), opts, files, page_size, maps_of, inc.get(), server ? &*server : nullptr,
                                                reserved, alone))
                          .context("process " + std::to_string(proc.pid)));
        cpu.MergeFrom(pd.cpu);
        cp.tasks.push_back(std::move(pd.task));
        pages.push_back(std::move(pd.pages));
    }
    STASIS_TRY(files.link_unix_peers());
    STASIS_TRY(files.read_tcp_connections());
    cp.files = files.entries();

    auto &inv = cp.inventory;
    inv = basic_inventory(opts, page_size, "dump");
    *inv.mutable_cpu() = cpu;
    inv.set_task_count(uint32_t(cp.tasks.size()));
    // Any dump can be restored lazily; the flag only records the intent.
    inv.set_lazy_pages(opts.lazy_pages);
    if (inc) inc->describe(inv);

    images::ReadOptions check;
    check.expect_arch = arch::kImageArch;
    check.expect_page_size = page_size;
    STASIS_TRY(std::move(images::validate_checkpoint(cp, check)).context("the images about to be written"));
    STASIS_TRY(fault::check("before-inventory"));
    for (auto &p : pages) STASIS_TRY(p->commit());
    STASIS_TRY(files.commit());
    if (inc) {
        std::vector<pid_t> pids;
        for (const auto &t : cp.tasks)
            if (!t.tree.zombie()) pids.push_back(t.tree.pid());
        STASIS_TRY(inc->finish(inv, pids));
    }
    // No syncfs: CRIU does not sync either, and syncing the whole file system
    // costs seconds on a busy disk. (Durable checkpoints: see docs/design.md.)
    images::WriteOptions wopts;
    wopts.durable = false;
    if (auto st = images::write_checkpoint(opts.images_dir, cp, wopts); !st.ok()) {
        stop_keeper(inv.keeper());
        return st;
    }
    // Without --lazy-pages nobody is going to fetch pages from the page
    // server: it may exit once we are gone.
    if (server) STASIS_TRY(server->bye(!opts.lazy_pages));

    // Frozen until released, or until killed (SIGKILL sent: the time the
    // kernel then takes to free its memory is not time it waits for us).
    double frozen = 0;
    if (opts.leave_running) {
        // Out of repair mode before the tree runs again (a connection in
        // repair mode refuses the process's reads and writes).
        Status repair = files.leave_tcp_repair();
        STASIS_TRY(tree.release());
        STASIS_TRY(std::move(repair));
        frozen = frozen_ms(frozen_at);
        log::info("dump complete; the tree keeps running");
    } else {
        frozen = frozen_ms(frozen_at);
        files.close_tcp_silently();
        STASIS_TRY(tree.kill_all());
        log::info("dump complete; the tree was killed");
    }
    log::info("the tree was frozen for ", frozen, " ms");
    return ok();
}

}  // namespace

Status run(const DumpOptions &opts) { return opts.pre_dump ? pre_dump_tree(opts) : dump_tree(opts); }

}  // namespace stasis::dump
