// Checks of inventory.img, pstree.img, core-<pid>.img and fdinfo-<pid>.img
// (files.img: validate_files.cc; memory images: validate_memory.cc).
#include <set>
#include <string_view>
#include <unordered_set>

#include "common/images/format.h"
#include "common/images/validate.h"
#include "common/util/log.h"

namespace stasis::images::validate {
namespace {

// The architecture a register set is for (ARCH_UNSPECIFIED when none is set).
uint32_t regs_arch(const ThreadRegs &regs) {
    switch (regs.arch_case()) {
        case ThreadRegs::kX8664: return ARCH_X86_64;
        case ThreadRegs::kAarch64: return ARCH_AARCH64;
        case ThreadRegs::kArm: return ARCH_ARM;
        case ThreadRegs::kPpc64Le: return ARCH_PPC64LE;
        case ThreadRegs::kS390X: return ARCH_S390X;
        default: return ARCH_UNSPECIFIED;
    }
}

bool valid_pid(int64_t pid) { return pid > 0 && pid <= kMaxPid; }

Status cpu_features(const CpuFeatures &cpu) {
    // The restore side moves xsave components by these offsets.
    constexpr uint32_t kMaxXsaveBytes = 1 << 20;
    if (cpu.xsave_size() > kMaxXsaveBytes)
        return Error(log::cat("cpu.xsave_size ", cpu.xsave_size(), " is over ", kMaxXsaveBytes));
    if (cpu.xsave_components_size() > 64)
        return Error(log::cat("cpu has ", cpu.xsave_components_size(), " xsave components (at most 64)"));
    for (int i = 0; i < cpu.xsave_components_size(); i++) {
        const auto &c = cpu.xsave_components(i);
        if (c.index() >= 64) return Error(log::cat("cpu.xsave_components #", i, ": index ", c.index(), " >= 64"));
        if (uint64_t(c.offset()) + c.size() > cpu.xsave_size())
            return Error(log::cat("cpu.xsave_components #", i, ": offset ", c.offset(), " + size ", c.size(),
                                  " is beyond xsave_size ", cpu.xsave_size()));
    }
    // SVE vector lengths are multiples of 16 bytes, at most 256.
    if (cpu.sve_vl() % 16 != 0 || cpu.sve_vl() > 256)
        return Error(log::cat("cpu.sve_vl ", cpu.sve_vl(), " is not an SVE vector length"));
    return ok();
}

Status image_file_list(const Inventory &inv) {
    if (uint32_t(inv.image_files_size()) > kMaxImageFiles)
        return Error(log::cat("lists ", inv.image_files_size(), " image files (at most ", kMaxImageFiles, ")"));
    return ok();
}

Status siginfos(const char *what, const google::protobuf::RepeatedPtrField<Siginfo> &list) {
    if (uint32_t(list.size()) > kMaxPendingSignals)
        return Error(log::cat(list.size(), " ", what, " signals (at most ", kMaxPendingSignals, ")"));
    for (int i = 0; i < list.size(); i++) {
        if (list[i].raw().size() != kSiginfoSize)
            return Error(log::cat(what, " signal #", i, ": siginfo of ", list[i].raw().size(), " bytes, not ",
                                  kSiginfoSize));
    }
    return ok();
}

Status task_core(const TaskCore &c) {
    STASIS_TRY(name_bytes("comm", c.comm(), kMaxCommBytes));
    STASIS_TRY(name_bytes("cwd", c.cwd(), kMaxPathBytes));
    STASIS_TRY(name_bytes("root", c.root(), kMaxPathBytes));
    if (c.umask() > 0777) return Error(log::cat("umask ", log::hex(c.umask()), " has bits beyond 0777"));
    std::set<uint32_t> signals;
    if (uint32_t(c.sigactions_size()) > kNumSignals)
        return Error(log::cat(c.sigactions_size(), " sigactions (at most ", kNumSignals, ")"));
    for (const auto &sa : c.sigactions()) {
        if (sa.signo() < 1 || sa.signo() > kNumSignals)
            return Error(log::cat("sigaction for signal ", sa.signo(), " (valid: 1..", kNumSignals, ")"));
        if (!signals.insert(sa.signo()).second) return Error(log::cat("two sigactions for signal ", sa.signo()));
    }
    std::set<uint32_t> resources;
    if (uint32_t(c.rlimits_size()) > kNumRlimits)
        return Error(log::cat(c.rlimits_size(), " rlimits (at most ", kNumRlimits, ")"));
    for (const auto &rl : c.rlimits()) {
        if (rl.resource() >= kNumRlimits) return Error(log::cat("rlimit for unknown resource ", rl.resource()));
        if (!resources.insert(rl.resource()).second) return Error(log::cat("two rlimits for resource ", rl.resource()));
        if (rl.cur() > rl.max()) return Error(log::cat("rlimit ", rl.resource(), ": soft limit above hard limit"));
    }
    if (uint32_t(c.posix_timers_size()) > kMaxPosixTimers)
        return Error(log::cat(c.posix_timers_size(), " posix timers (at most ", kMaxPosixTimers, ")"));
    std::set<int32_t> timer_ids;
    for (const auto &t : c.posix_timers()) {
        if (t.id() < 0) return Error(log::cat("posix timer with negative id ", t.id()));
        if (!timer_ids.insert(t.id()).second) return Error(log::cat("two posix timers with id ", t.id()));
    }
    if (uint32_t(c.creds().groups_size()) > kMaxGroups)
        return Error(log::cat(c.creds().groups_size(), " supplementary groups (at most ", kMaxGroups, ")"));
    return siginfos("shared pending", c.shared_pending());
}

Status thread_core(const ThreadCore &t, const PstreeEntry &tree, int index, uint32_t arch, bool pre_dump) {
    if (t.tid() != tree.threads(index))
        return Error(log::cat("tid ", t.tid(), " but pstree.img lists tid ", tree.threads(index), " here"));
    uint32_t regs = regs_arch(t.regs());
    if (regs == ARCH_UNSPECIFIED && !tree.zombie() && !pre_dump) return Error("no registers");
    if (regs != ARCH_UNSPECIFIED && regs != arch)
        return Error(log::cat("registers are for ", arch_name(regs), ", this checkpoint is ", arch_name(arch)));
    STASIS_TRY(name_bytes("comm", t.comm(), kMaxCommBytes));
    if (t.rseq().ptr() != 0 && (t.rseq().len() < 32 || t.rseq().len() > 4096))
        return Error(log::cat("rseq area of ", t.rseq().len(), " bytes (32..4096)"));
    return siginfos("pending", t.pending());
}

}  // namespace

std::string range(uint64_t start, uint64_t end) { return log::cat("[", log::hex(start), "-", log::hex(end), "]"); }

Status name_bytes(const char *what, const std::string &s, size_t max) {
    if (s.size() > max) return Error(log::cat(what, " of ", s.size(), " bytes (at most ", max, ")"));
    if (s.find('\0') != std::string::npos) return Error(log::cat(what, " contains a NUL byte"));
    return ok();
}

static Status keeper(const Inventory &inv) {
    const TrackingKeeper &k = inv.keeper();
    if (k.pid() == 0) {
        if (k.uffds_size() != 0) return Error("keeper: userfaultfds listed without a keeper pid");
        return ok();
    }
    if (!valid_pid(k.pid())) return Error(log::cat("keeper: invalid pid ", k.pid()));
    if (uint32_t(k.uffds_size()) > inv.task_count())
        return Error(log::cat("keeper: ", k.uffds_size(), " userfaultfds for ", inv.task_count(), " tasks"));
    std::unordered_set<int32_t> tasks, fds;
    for (const KeptUffd &u : k.uffds()) {
        if (!valid_pid(u.task())) return Error(log::cat("keeper: invalid task pid ", u.task()));
        if (u.fd() < 0) return Error(log::cat("keeper: negative fd ", u.fd()));
        if (!tasks.insert(u.task()).second) return Error(log::cat("keeper: task ", u.task(), " listed twice"));
        if (!fds.insert(u.fd()).second) return Error(log::cat("keeper: fd ", u.fd(), " listed twice"));
    }
    return ok();
}

Status inventory(const Inventory &inv, const ReadOptions &opts) {
    if (inv.format_version() == 0) return Error("format_version 0 (not written by stasis?)");
    if (inv.format_version() > kFormatVersion)
        return Error(log::cat("format_version ", inv.format_version(), " is newer than this stasis reads (",
                              kFormatVersion, ")"));
    if (!Arch_IsValid(inv.arch()) || inv.arch() == ARCH_UNSPECIFIED)
        return Error(log::cat("unknown arch ", int(inv.arch())));
    if (opts.expect_arch && uint32_t(inv.arch()) != opts.expect_arch)
        return Error(log::cat("images are for ", arch_name(inv.arch()), ", this stasis is ",
                              arch_name(opts.expect_arch)));
    if (!valid_page_size(inv.page_size()))
        return Error(log::cat("page_size ", inv.page_size(), " is not a power of two in ", kMinPageSize, "..",
                              kMaxPageSize));
    if (opts.expect_page_size && inv.page_size() != opts.expect_page_size)
        return Error(log::cat("page_size ", inv.page_size(), " differs from this system's ", opts.expect_page_size));
    if (!valid_pid(inv.root_pid())) return Error(log::cat("root_pid ", inv.root_pid(), " is not a valid pid"));
    if (inv.task_count() == 0 || inv.task_count() > kMaxTasks)
        return Error(log::cat("task_count ", inv.task_count(), " (1..", kMaxTasks, ")"));
    if (inv.dump_kind() != "dump" && inv.dump_kind() != "pre-dump")
        return Error(log::cat("dump_kind '", inv.dump_kind().substr(0, 32), "' is neither dump nor pre-dump"));
    STASIS_TRY(name_bytes("parent_dir", inv.parent_dir(), kMaxPathBytes));
    STASIS_TRY(name_bytes("kernel_release", inv.kernel_release(), 256));
    STASIS_TRY(name_bytes("stasis_version", inv.stasis_version(), 256));
    STASIS_TRY(name_bytes("dirty_tracking", inv.dirty_tracking(), 64));
    STASIS_TRY(cpu_features(inv.cpu()));
    STASIS_TRY(keeper(inv));
    return image_file_list(inv);
}

Status pstree(const std::vector<TaskImages> &tasks, const Inventory &inv) {
    if (tasks.size() != inv.task_count())
        return Error(log::cat("has ", tasks.size(), " tasks, inventory.img says ", inv.task_count()));
    std::unordered_map<int32_t, size_t> task_of_pid;  // pid -> index
    std::unordered_set<int32_t> tids;
    uint64_t total_threads = 0;
    for (size_t i = 0; i < tasks.size(); i++) {
        const PstreeEntry &e = tasks[i].tree;
        std::string who = log::cat("task #", i, " (pid ", e.pid(), ")");
        if (!valid_pid(e.pid())) return Error(log::cat(who, ": invalid pid"));
        if (!task_of_pid.emplace(e.pid(), i).second) return Error(log::cat(who, ": pid listed twice"));
        if (i == 0 && (e.pid() != inv.root_pid() || e.ppid() != 0))
            return Error(log::cat(who, ": the first task must be the root (pid ", inv.root_pid(), ", ppid 0)"));
        if (i > 0 && (e.ppid() == e.pid() || !task_of_pid.count(e.ppid())))
            return Error(log::cat(who, ": ppid ", e.ppid(), " is not a task listed before it"));
        if (e.pgid() < 0 || e.pgid() > kMaxPid || e.sid() < 0 || e.sid() > kMaxPid)
            return Error(log::cat(who, ": invalid pgid ", e.pgid(), " or sid ", e.sid()));
        if (uint32_t(e.threads_size()) > kMaxThreadsPerTask)
            return Error(log::cat(who, ": ", e.threads_size(), " threads (at most ", kMaxThreadsPerTask, ")"));
        if (e.threads_size() == 0 && !e.zombie()) return Error(log::cat(who, ": no threads"));
        if (e.zombie() && e.threads_size() > 1) return Error(log::cat(who, ": a zombie with threads"));
        if (e.threads_size() > 0 && e.threads(0) != e.pid())
            return Error(log::cat(who, ": first thread ", e.threads(0), " is not the leader"));
        for (int32_t tid : e.threads()) {
            if (!valid_pid(tid)) return Error(log::cat(who, ": invalid tid ", tid));
            if (!tids.insert(tid).second) return Error(log::cat(who, ": tid ", tid, " listed twice"));
        }
        total_threads += uint64_t(e.threads_size());
    }
    // A thread id must not be another task's pid either.
    for (size_t i = 0; i < tasks.size(); i++) {
        const PstreeEntry &e = tasks[i].tree;
        if (e.threads_size() == 0 && tids.count(e.pid()))
            return Error(log::cat("task #", i, " (pid ", e.pid(), "): pid is also another task's tid"));
    }
    if (total_threads > kMaxTasks * 4ull) return Error(log::cat(total_threads, " threads in all"));
    return ok();
}

Status core(const TaskImages &task, uint32_t arch, bool pre_dump) {
    STASIS_TRY(task_core(task.core));
    const PstreeEntry &tree = task.tree;
    if (task.threads.size() != size_t(tree.threads_size()))
        return Error(log::cat("has ", task.threads.size(), " ThreadCore records, pstree.img lists ",
                              tree.threads_size(), " threads"));
    for (size_t i = 0; i < task.threads.size(); i++)
        STASIS_TRY(std::move(thread_core(task.threads[i], tree, int(i), arch, pre_dump))
                       .context(log::cat("thread #", i, " (tid ", task.threads[i].tid(), ")")));
    return ok();
}

Status fds(const TaskImages &task, const FileIndex &files) {
    if (task.fds.size() > kMaxFdsPerTask)
        return Error(log::cat(task.fds.size(), " fds (at most ", kMaxFdsPerTask, ")"));
    std::unordered_set<int32_t> seen;
    for (size_t i = 0; i < task.fds.size(); i++) {
        const FdEntry &fd = task.fds[i];
        if (fd.fd() < 0) return Error(log::cat("entry #", i, ": negative fd ", fd.fd()));
        if (!seen.insert(fd.fd()).second) return Error(log::cat("entry #", i, ": fd ", fd.fd(), " listed twice"));
        if (!files.count(fd.file_id()))
            return Error(log::cat("fd ", fd.fd(), ": file_id ", fd.file_id(), " is not in files.img"));
    }
    return ok();
}

}  // namespace stasis::images::validate
