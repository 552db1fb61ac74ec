#include "common/restore/finish.h"

#include <signal.h>
#include <sys/ptrace.h>

#include <cstddef>

#include "arch/arch.h"
#include "common/linux/uapi.h"
#include "common/parasite/injector.h"
#include "common/ptrace/ptrace.h"
#include "common/restore/signal_frames.h"
#include "common/util/fault.h"
#include "common/util/log.h"
#include "pie/restorer/plan.h"
#include "stasis_syscalls.h"

namespace stasis::restore {
namespace {

const char *step_name(int64_t step) {
    static const char *names[] = {"none", "signal mask", "dropping the engine's rseq", "unmapping the engine",
                                  "moving vDSO/vvar", "mapping memory", "filling memory", "setting protections",
                                  "madvise/mlock", "closing service fds", "sigactions", "interval timers",
                                  "POSIX timers", "rlimits", "prctl state", "mm fields (PR_SET_MM_MAP)",
                                  "creating threads", "thread state", "queueing pending signals", "credentials",
                                  "fill workers", "handing memory to stasis lazy-pages"};
    if (step >= 0 && size_t(step) < sizeof names / sizeof names[0]) return names[step];
    return "unknown step";
}

}  // namespace

Result<ptrace::Stop> wait_stop_skipping_sigchld(pid_t pid, std::chrono::seconds timeout) {
    for (;;) {
        STASIS_ASSIGN(ptrace::Stop s, ptrace::wait_stop(pid, timeout));
        if (s.kind != ptrace::Stop::Kind::signal || s.sig != SIGCHLD) return s;
        log::debug("process ", pid, ": SIGCHLD of a re-created child discarded");
        STASIS_TRY(ptrace::cont(pid, 0));
    }
}

Status run_restorer(pid_t pid, const ChildControl &c) {
    // The engine learns the child's own rseq registration (its libc's) here,
    // so the restorer can drop it before unmapping the memory it lives in.
    stasis_ptrace_rseq_configuration rc{};
    long n = ::ptrace(__ptrace_request(PTRACE_GET_RSEQ_CONFIGURATION), pid, sizeof rc, &rc);
    if (n > 0 && rc.rseq_abi_pointer) {
        uint64_t at = c.plan_addr + offsetof(restore_plan, self_rseq_ptr);
        struct {
            uint64_t ptr;
            uint32_t len, sig;
        } self{rc.rseq_abi_pointer, rc.rseq_abi_size, rc.signature};
        STASIS_TRY(ptrace::write_mem(pid, at, &self, sizeof self));
    }
    STASIS_ASSIGN(arch::ThreadRegs regs, arch::read_regs(pid));
    arch::setup_call(regs, c.entry, c.plan_addr, c.stack_top);
    STASIS_TRY(arch::write_gp_regs(pid, regs));
    STASIS_TRY(ptrace::cont(pid, 0));  // suppresses the child's SIGTRAP
    STASIS_ASSIGN(ptrace::Stop s, wait_stop_skipping_sigchld(pid, std::chrono::seconds(600)));
    int64_t result = 0, step = 0;
    uint64_t addr = 0;
    (void)ptrace::read_mem(pid, c.plan_addr + offsetof(restore_plan, result), &result, sizeof result);
    (void)ptrace::read_mem(pid, c.plan_addr + offsetof(restore_plan, failed_step), &step, sizeof step);
    (void)ptrace::read_mem(pid, c.plan_addr + offsetof(restore_plan, failed_addr), &addr, sizeof addr);
    if (s.kind != ptrace::Stop::Kind::signal || s.sig != SIGTRAP) {
        std::string where;
        if (auto r = arch::read_regs(pid); r.ok()) where = " at " + arch::describe(*r);
        return Error("the restorer stopped with " + s.describe() + where + " (last step: " + step_name(step) + ")");
    }
    if (result != 0) {
        char a[32];
        std::snprintf(a, sizeof a, "0x%llx", (unsigned long long)addr);
        return Error::from_errno(std::string("restorer: ") + step_name(step) + " (" + a + ")", int(-result));
    }
    return ok();
}

Status prepare_resume(pid_t pid, const images::TaskImages &task, const images::CpuFeatures &cpu,
                      const ChildControl &c) {
    STASIS_TRY(adapt_signal_frames(pid, task));
    // Seize the threads the restorer created; they wait on a futex.
    for (size_t i = 1; i < task.threads.size(); ++i) {
        pid_t tid = task.threads[i].tid();
        STASIS_TRY(ptrace::seize(tid, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL));
        STASIS_TRY(ptrace::freeze(tid));
    }
    for (size_t i = 1; i < task.threads.size(); ++i) {
        const auto &tc = task.threads[i];
        STASIS_ASSIGN(arch::ThreadRegs regs, arch::from_image(tc.regs()));
        STASIS_TRY(std::move(arch::adapt_to_this_cpu(cpu, regs)).context("thread " + std::to_string(tc.tid())));
        arch::restart_in_new_task(regs);
        STASIS_TRY(std::move(arch::write_regs(tc.tid(), regs)).context("thread " + std::to_string(tc.tid())));
        STASIS_TRY(ptrace::set_sigmask(tc.tid(), tc.blocked()));
    }
    // The main thread: through the restorer's own syscall instruction, put
    // back an ignored SIGTRAP (the trap that ended the restorer reset it),
    // unmap the restorer region, then load the saved registers.
    const auto &main = task.threads[0];
    STASIS_ASSIGN(arch::ThreadRegs final_regs, arch::from_image(main.regs()));
    STASIS_TRY(std::move(arch::adapt_to_this_cpu(cpu, final_regs)).context("thread " + std::to_string(main.tid())));
    arch::restart_in_new_task(final_regs);
    parasite::Injector inj(pid, final_regs, c.syscall_insn);
    for (const auto &a : task.core.sigactions()) {
        if (a.signo() != SIGTRAP || a.handler() != uint64_t(uintptr_t(SIG_IGN))) continue;
        uint64_t act = c.plan_addr + offsetof(restore_plan, sigactions) + (SIGTRAP - 1) * sizeof(parasite_sigaction);
        STASIS_ASSIGN(int64_t r, inj.syscall(sys::rt_sigaction, {SIGTRAP, act, 0, 8, 0, 0}));
        if (r != 0) return Error::from_errno("restore the ignored SIGTRAP", int(-r));
    }
    STASIS_ASSIGN(int64_t r, inj.syscall(sys::munmap, {c.region_start, c.region_end - c.region_start, 0, 0, 0, 0}));
    if (r != 0) return Error::from_errno("unmap the restorer region", int(-r));
    STASIS_TRY(inj.return_to_signal_stop());
    STASIS_TRY(ptrace::set_sigmask(pid, main.blocked()));
    return ok();
}

Status release_task(const images::TaskImages &task) {
    for (const auto &tc : task.threads) STASIS_TRY(ptrace::detach(tc.tid()));
    return ok();
}

}  // namespace stasis::restore
