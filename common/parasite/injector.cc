#include "common/parasite/injector.h"

#include <signal.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/proc/maps.h"
#include "common/ptrace/ptrace.h"
#include "common/util/log.h"

namespace stasis::parasite {
namespace {

std::string ctx(pid_t tid) { return "thread " + std::to_string(tid); }

}  // namespace

Result<int64_t> Injector::syscall(long nr, const std::array<uint64_t, 6> &args) {
    arch::setup_syscall(work_, syscall_insn_, nr, args);
    STASIS_TRY(std::move(arch::write_gp_regs(tid_, work_)).context(ctx(tid_)));
    // Enter stop, then exit stop.
    for (int leg = 0; leg < 2; ++leg) {
        STASIS_TRY(ptrace::syscall_step(tid_));
        STASIS_ASSIGN(ptrace::Stop s, ptrace::wait_stop(tid_));
        if (s.kind != ptrace::Stop::Kind::syscall)
            return Error(ctx(tid_) + ": injected syscall " + std::to_string(nr) + ": unexpected " + s.describe());
        state_ = leg == 0 ? ThreadStopState::syscall_enter : ThreadStopState::syscall_exit;
    }
    STASIS_ASSIGN(work_, arch::read_regs(tid_));
    return arch::syscall_result(work_);
}

Status Injector::call(uint64_t entry, uint64_t arg, uint64_t stack_top) {
    arch::setup_call(work_, entry, arg, stack_top);
    STASIS_TRY(std::move(arch::write_gp_regs(tid_, work_)).context(ctx(tid_)));
    STASIS_TRY(ptrace::cont(tid_, 0));
    STASIS_ASSIGN(ptrace::Stop s, ptrace::wait_stop(tid_));
    if (s.kind != ptrace::Stop::Kind::signal || s.sig != SIGTRAP) {
        STASIS_ASSIGN(work_, arch::read_regs(tid_));
        return Error(ctx(tid_) + ": parasite did not finish with a trap but with " + s.describe() + " at " +
                     arch::describe(work_));
    }
    state_ = ThreadStopState::in_get_signal;
    STASIS_ASSIGN(work_, arch::read_regs(tid_));
    return ok();
}

Status Injector::return_to_signal_stop() {
    if (state_ == ThreadStopState::syscall_enter) {
        // An injection that stopped half way: let the injected syscall
        // finish so the thread reaches the exit stop with nothing pending.
        STASIS_TRY(ptrace::syscall_step(tid_));
        STASIS_ASSIGN(ptrace::Stop s, ptrace::wait_stop(tid_));
        if (s.kind != ptrace::Stop::Kind::syscall)
            return Error(ctx(tid_) + ": could not complete an injected syscall: " + s.describe());
        state_ = ThreadStopState::syscall_exit;
    }
    STASIS_TRY(std::move(arch::write_regs(tid_, frozen_)).context(ctx(tid_)));
    work_ = frozen_;
    if (state_ == ThreadStopState::in_get_signal) return ok();
    // At a syscall-exit stop the kernel would return to user mode without
    // its restart processing. PTRACE_INTERRUPT marks a trap and sets
    // TIF_SIGPENDING without disturbing the current stop; resuming then
    // walks the exit path into get_signal(), which stops for the trap.
    STASIS_TRY(ptrace::interrupt(tid_));
    STASIS_TRY(ptrace::cont(tid_, 0));
    STASIS_ASSIGN(ptrace::Stop s, ptrace::wait_stop(tid_));
    if (s.kind != ptrace::Stop::Kind::event_stop)
        return Error(ctx(tid_) + ": expected to stop in get_signal() after the cure, got " + s.describe());
    state_ = ThreadStopState::in_get_signal;
    // Once more, now that no syscall stop is in progress: arm and aarch64
    // put their own value (entry/exit) into ip (r12) / x7 around a syscall
    // stop and restore the one from before the stop afterwards, so that
    // register as written at the exit stop was lost (a leave-running dump
    // on arm resumed with the parasite's r12).
    STASIS_TRY(std::move(arch::write_gp_regs(tid_, frozen_)).context(ctx(tid_)));
    return ok();
}

Result<uint64_t> find_syscall_insn(pid_t pid, uint64_t stopped_pc) {
    STASIS_ASSIGN(auto maps, proc::read_maps(pid));
    return find_syscall_insn(pid, stopped_pc, maps);
}

Result<uint64_t> find_syscall_insn(pid_t pid, uint64_t stopped_pc, const std::vector<proc::Mapping> &maps) {
    // The vDSO first, then any other executable mapping.
    std::vector<const proc::Mapping *> order;
    for (const auto &m : maps)
        if (m.prot & PROT_EXEC) order.push_back(&m);
    std::stable_sort(order.begin(), order.end(), [](const proc::Mapping *a, const proc::Mapping *b) {
        return (a->path == "[vdso]") > (b->path == "[vdso]");
    });
    const auto forms = arch::syscall_insn_forms();
    std::vector<uint8_t> buf;
    for (const proc::Mapping *mp : order) {
        const proc::Mapping &m = *mp;
        if (!(m.prot & PROT_EXEC)) continue;
        if (m.path == "[vsyscall]") continue;  // emulated, not real code
        // Scan at most 1 MiB per mapping: a syscall is always near.
        uint64_t len = std::min<uint64_t>(m.end - m.start, 1 << 20);
        buf.resize(len);
        if (!ptrace::read_mem(pid, m.start, buf.data(), len).ok()) continue;
        for (const auto &f : forms) {
            for (uint64_t off = 0; off + f.bytes.size() <= len; off += f.align) {
                uint64_t at = m.start + off;
                bool near_pc = at + 8 > stopped_pc && at < stopped_pc + 8;
                if (!near_pc && std::memcmp(buf.data() + off, f.bytes.data(), f.bytes.size()) == 0) {
                    log::debug("process ", pid, ": syscall instruction at ", log::hex(m.start + off), " in ",
                               m.path.empty() ? "anonymous memory" : m.path, f.tag ? " (alternative form)" : "");
                    return (m.start + off) | f.tag;
                }
            }
        }
    }
    return Error("process " + std::to_string(pid) + ": no syscall instruction found in any executable mapping");
}

}  // namespace stasis::parasite
