#include "common/parasite/parasite.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "common/ptrace/ptrace.h"
#include "common/util/fault.h"
#include "common/util/log.h"
#include "pie/blob.h"
#include "pie/blob_check.h"
#include "stasis_syscalls.h"

namespace stasis::parasite {
namespace {

constexpr uint64_t kStackSize = 64 * 1024;

uint64_t round_up(uint64_t v, uint64_t to) { return (v + to - 1) / to * to; }

// Every signal blocked but SIGTRAP, which ends each blob run: a blocked
// SIGTRAP would make the kernel force-unblock it and reset its handler.
constexpr uint64_t kRunMask = ~(uint64_t(1) << (SIGTRAP - 1));

}  // namespace

Result<std::unique_ptr<Parasite>> Parasite::inject(ptrace::FrozenProcess &proc, const std::vector<proc::Mapping> &maps) {
    const pie::Blob &blob = pie::parasite;
    STASIS_TRY(std::move(pie::check_blob(blob)).context("parasite blob"));
    std::unique_ptr<Parasite> p(new Parasite(proc));
    auto &leader = proc.threads.front();
    STASIS_ASSIGN(uint64_t insn, find_syscall_insn(proc.pid, arch::ip(leader.regs), maps));
    p->leader_ = std::make_unique<Injector>(leader.tid, leader.regs, insn);

    uint64_t page = uint64_t(sysconf(_SC_PAGESIZE));
    uint64_t code = round_up(blob.size, page);
    uint64_t args = round_up(sizeof(parasite_args), page);
    p->size_ = code + args + kStackSize;
    // Below the stack pointer, past every ABI's red zone (ppc64: 288 bytes).
    uint64_t scratch = (arch::sp(leader.regs) - 1024) & ~uint64_t(15);
    arch::MmapCall call = arch::anon_mmap_call(p->size_, PROT_READ | PROT_WRITE | PROT_EXEC,
                                               MAP_PRIVATE | MAP_ANONYMOUS, scratch);
    std::vector<uint8_t> saved(call.memory.size());
    if (!call.memory.empty()) {
        STASIS_TRY(ptrace::read_mem(proc.pid, scratch, saved.data(), saved.size()));
        STASIS_TRY(ptrace::write_mem(proc.pid, scratch, call.memory.data(), call.memory.size()));
    }
    auto mmapped = p->leader_->syscall(call.nr, call.args);
    if (!call.memory.empty()) STASIS_TRY(ptrace::write_mem(proc.pid, scratch, saved.data(), saved.size()));
    STASIS_ASSIGN(int64_t addr, std::move(mmapped));
    p->cured_ = false;  // from here on the process carries our registers
    if (addr < 0 && addr > -4096) {
        auto st = p->cure();
        (void)st;
        return Error::from_errno("process " + std::to_string(proc.pid) + ": injected mmap", int(-addr));
    }
    // An address, not a number: on a 32-bit arch the syscall result is
    // sign-extended, and addresses above 2 GiB would come out negative.
    p->base_ = uint64_t(uintptr_t(addr));
    p->entry_ = p->base_ + blob.offset_of("pie_entry");
    p->args_addr_ = p->base_ + code;
    p->stack_top_ = p->base_ + code + args + kStackSize;
    STASIS_TRY(ptrace::write_mem(proc.pid, p->base_, blob.bytes, blob.size));
    log::debug("process ", proc.pid, ": parasite at ", log::hex(p->base_), " (", p->size_, " bytes)");
    STASIS_TRY(fault::check("after-parasite"));
    return p;
}

Parasite::~Parasite() {
    if (cured_) return;
    auto st = cure();
    if (!st.ok()) log::error("curing process ", proc_.pid, ": ", st.error().message());
}

Result<parasite_args> Parasite::run(pid_t tid, parasite_args args) {
    auto *thread = proc_.thread(tid);
    if (!thread) return Error("thread " + std::to_string(tid) + " is not frozen");
    args.magic = PARASITE_MAGIC;
    STASIS_TRY(ptrace::write_mem(proc_.pid, args_addr_, &args, sizeof args));
    STASIS_TRY(ptrace::set_sigmask(tid, kRunMask));
    thread->sigmask_changed = true;
    if (std::find(ran_in_.begin(), ran_in_.end(), tid) == ran_in_.end()) ran_in_.push_back(tid);
    if (tid == leader_->tid()) {
        STASIS_TRY(leader_->call(entry_, args_addr_, stack_top_));
    } else {
        thread->regs_changed = true;
        Injector inj(tid, thread->regs, 0);
        STASIS_TRY(inj.call(entry_, args_addr_, stack_top_));
    }
    parasite_args out{};
    STASIS_TRY(ptrace::read_mem(proc_.pid, args_addr_, &out, sizeof out));
    if (out.result < 0)
        return Error::from_errno("parasite command " + std::to_string(args.cmd) + " step " +
                                     std::to_string(out.failed_step),
                                 int(-out.result));
    return out;
}

Result<parasite_task_state> Parasite::task_state() {
    parasite_args a{};
    a.cmd = PARASITE_CMD_TASK_STATE;
    STASIS_ASSIGN(parasite_args out, run(leader_->tid(), a));
    // The trap that ended this run reset SIGTRAP to SIG_DFL if it was
    // ignored (the kernel's force_sig_info): remember to put it back.
    sigtrap_action_ = out.u.task.sigactions[SIGTRAP - 1];
    sigtrap_was_ignored_ = sigtrap_action_.handler == uintptr_t(SIG_IGN);
    return out.u.task;
}

Result<parasite_thread_state> Parasite::thread_state(pid_t tid) {
    parasite_args a{};
    a.cmd = PARASITE_CMD_THREAD_STATE;
    STASIS_ASSIGN(parasite_args out, run(tid, a));
    if (out.u.thread.tid != tid)
        return Error("parasite ran in thread " + std::to_string(out.u.thread.tid) + ", expected " +
                     std::to_string(tid));
    return out.u.thread;
}

Result<parasite_timers> Parasite::posix_timers(const std::vector<int> &ids) {
    if (ids.size() > PARASITE_MAX_TIMERS)
        return Error("more than " + std::to_string(PARASITE_MAX_TIMERS) + " POSIX timers");
    parasite_args a{};
    a.cmd = PARASITE_CMD_POSIX_TIMERS;
    a.u.timers.count = int32_t(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) a.u.timers.ids[i] = ids[i];
    STASIS_ASSIGN(parasite_args out, run(leader_->tid(), a));
    return out.u.timers;
}

Status Parasite::cure() {
    if (cured_) return ok();
    cured_ = true;
    Status first;
    auto note = [&first](Status st) {
        if (!st.ok() && first.ok()) first = std::move(st);
    };
    if (sigtrap_was_ignored_) {
        note(ptrace::write_mem(proc_.pid, args_addr_, &sigtrap_action_, sizeof sigtrap_action_));
        auto r = leader_->syscall(sys::rt_sigaction, {SIGTRAP, args_addr_, 0, 8, 0, 0});
        if (!r.ok()) note(std::move(r).error());
    }
    if (base_) {
        auto r = leader_->syscall(sys::munmap, {base_, size_, 0, 0, 0, 0});
        if (!r.ok()) note(std::move(r).error());
        else if (*r != 0) note(Error::from_errno("injected munmap of the parasite", int(-*r)));
    }
    note(leader_->return_to_signal_stop());
    for (pid_t tid : ran_in_) {
        auto *t = proc_.thread(tid);
        if (!t) continue;
        if (t->regs_changed) {
            note(arch::write_regs(tid, t->regs));
            t->regs_changed = false;
        }
        note(ptrace::set_sigmask(tid, t->sigmask));
        t->sigmask_changed = false;
    }
    if (!first.ok()) return std::move(first).context("curing process " + std::to_string(proc_.pid));
    log::debug("process ", proc_.pid, ": parasite cured");
    return ok();
}

}  // namespace stasis::parasite
