#include "common/ptrace/step_out.h"

#include <signal.h>
#include <sys/ptrace.h>

#include <cerrno>
#include <string>

#include "arch/arch.h"
#include "common/ptrace/ptrace.h"
#include "common/util/log.h"

namespace stasis::ptrace {
namespace {

bool inside(uint64_t ip, const std::vector<std::pair<uint64_t, uint64_t>> &ranges) {
    for (const auto &[s, e] : ranges)
        if (ip >= s && ip < e) return true;
    return false;
}

// From a signal-delivery stop back to a clean PTRACE_EVENT_STOP, the
// stop's signal (`deliver`, 0 for the single-step trap) delivered.
Status back_to_event_stop(pid_t tid, int deliver) {
    STASIS_TRY(interrupt(tid));
    STASIS_TRY(cont(tid, deliver));
    for (int round = 0; round < 64; ++round) {
        STASIS_ASSIGN(Stop s, wait_stop(tid));
        switch (s.kind) {
            case Stop::Kind::event_stop: return ok();
            case Stop::Kind::exited:
            case Stop::Kind::killed:
                return Error("thread " + std::to_string(tid) + " " + s.describe() + " while stepping out of the vDSO");
            case Stop::Kind::signal: STASIS_TRY(cont(tid, s.sig)); break;
            default: STASIS_TRY(cont(tid, 0)); break;
        }
    }
    return Error("thread " + std::to_string(tid) + " does not stop after stepping out of the vDSO");
}

Result<unsigned> step(pid_t tid, const std::vector<std::pair<uint64_t, uint64_t>> &ranges, arch::ThreadRegs &regs);

}  // namespace

Result<unsigned> step_out_of(pid_t tid, const std::vector<std::pair<uint64_t, uint64_t>> &ranges) {
    STASIS_ASSIGN(arch::ThreadRegs regs, arch::read_regs(tid));
    if (!inside(arch::ip(regs), ranges)) return 0u;
    const uint64_t from = arch::ip(regs);
    // Every signal blocked while stepping: one arriving now stays pending
    // (and is dumped as such) instead of running its handler on a frame
    // inside the vDSO. The single-step trap is forced through the mask.
    STASIS_ASSIGN(uint64_t mask, get_sigmask(tid));
    STASIS_TRY(set_sigmask(tid, ~uint64_t(0)));
    auto steps = step(tid, ranges, regs);
    auto restored = set_sigmask(tid, mask);
    if (!steps.ok()) return steps;
    STASIS_TRY(std::move(restored));
    if (*steps)
        log::debug("thread ", tid, ": stepped out of the vDSO from ", log::hex(from), " to ", log::hex(arch::ip(regs)),
                   " in ", *steps, " steps");
    return steps;
}

namespace {

Result<unsigned> step(pid_t tid, const std::vector<std::pair<uint64_t, uint64_t>> &ranges, arch::ThreadRegs &regs) {
    const uint64_t from = arch::ip(regs);
    unsigned steps = 0;
    while (steps < kMaxStepOutSteps) {
        if (::ptrace(PTRACE_SINGLESTEP, tid, nullptr, nullptr) < 0) {
            if (steps == 0 && (errno == EIO || errno == ENOSYS)) {
                log::debug("thread ", tid, ": stays in the vDSO at ", log::hex(from), " (no single-step here)");
                return 0u;
            }
            return Error::from_errno("thread " + std::to_string(tid) + ": PTRACE_SINGLESTEP");
        }
        ++steps;
        STASIS_ASSIGN(Stop s, wait_stop(tid));
        if (s.kind == Stop::Kind::exited || s.kind == Stop::Kind::killed)
            return Error("thread " + std::to_string(tid) + " " + s.describe() + " while stepping out of the vDSO");
        if (s.kind == Stop::Kind::signal && s.sig != SIGTRAP) {
            log::debug("thread ", tid, ": ", strsignal(s.sig), " arrived while stepping out of the vDSO");
            STASIS_TRY(back_to_event_stop(tid, s.sig));
            return steps;
        }
        STASIS_ASSIGN(regs, arch::read_regs(tid));
        if (!inside(arch::ip(regs), ranges)) break;
    }
    STASIS_TRY(back_to_event_stop(tid, 0));
    return steps;
}

}  // namespace

}  // namespace stasis::ptrace
