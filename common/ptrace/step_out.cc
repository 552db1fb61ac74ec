#include "common/ptrace/step_out.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <map>
#include <string>
#include <thread>

#include "arch/arch.h"
#include "common/proc/maps.h"
#include "common/ptrace/ptrace.h"
#include "common/util/log.h"

namespace stasis::ptrace {
namespace {

using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;

bool inside(uint64_t ip, const Ranges &ranges) {
    for (const auto &[s, e] : ranges)
        if (ip >= s && ip < e) return true;
    return false;
}

std::string who(pid_t tid) { return "thread " + std::to_string(tid); }

// The live stack above `sp` (up to kStackScanBytes, page by page until a
// page cannot be read) holds an address inside `ranges`: a signal frame
// whose handler interrupted vDSO code (sigreturn would resume there), or a
// spilled pointer. Either way the thread is not out yet.
// Whether the thread sits in a system call the freeze interrupted. Letting
// such a thread run and freezing it again would interrupt that call over
// and over (a nanosleep would end up in restart_syscall). /proc/TID/syscall
// cannot tell: arm reports the last call even after it returned. The
// registers do: arm and aarch64 rewind the instruction pointer to the
// syscall instruction before the thread stops for ptrace; the other arches
// stop with it just past the instruction and a restart code
// (-ERESTARTSYS ... -ERESTART_RESTARTBLOCK) as its result. Just past a
// syscall instruction with any other result is a call that returned (a
// handler caught right after one of its own calls).
bool in_syscall(pid_t tid, const arch::ThreadRegs &regs) {
    const uint64_t ip = arch::ip(regs);
    const int64_t result = arch::syscall_result(regs);
    const bool restart_code = result >= -516 && result <= -512;
    for (const auto &form : arch::syscall_insn_forms()) {
        const uint64_t pc = ip & ~form.tag;
        const size_t n = form.bytes.size();
        std::vector<uint8_t> got(n);
        if (read_mem(tid, pc, got.data(), n).ok() && got == form.bytes) return true;
        if (restart_code && read_mem(tid, pc - n, got.data(), n).ok() && got == form.bytes) return true;
    }
    return false;
}

bool stack_refers(pid_t tid, uint64_t sp, const Ranges &ranges) {
    constexpr uint64_t kPage = 4096;
    std::vector<uintptr_t> words(kPage / sizeof(uintptr_t));
    for (uint64_t at = sp & ~(kPage - 1); at < (sp & ~(kPage - 1)) + kStackScanBytes; at += kPage) {
        if (!read_mem(tid, at, words.data(), kPage).ok()) break;
        for (size_t i = 0; i < words.size(); ++i) {
            if (at + i * sizeof(uintptr_t) < sp) continue;
            // The start of the vDSO is its ELF header, never code: the
            // main thread's auxv (AT_SYSINFO_EHDR) holds it.
            const uint64_t w = uint64_t(words[i]);
            if (inside(w, ranges) && std::none_of(ranges.begin(), ranges.end(), [w](auto &r) { return r.first == w; }))
                return true;
        }
    }
    return false;
}


// From a signal-delivery stop back to a clean PTRACE_EVENT_STOP, the
// stop's signal (`deliver`, 0 to drop it) delivered.
Status back_to_event_stop(pid_t tid, int deliver) {
    STASIS_TRY(interrupt(tid));
    STASIS_TRY(cont(tid, deliver));
    for (int round = 0; round < 64; ++round) {
        STASIS_ASSIGN(Stop s, wait_stop(tid));
        switch (s.kind) {
            case Stop::Kind::event_stop: return ok();
            case Stop::Kind::exited:
            case Stop::Kind::killed: return Error(who(tid) + " " + s.describe() + " while leaving the vDSO");
            case Stop::Kind::signal: STASIS_TRY(cont(tid, s.sig)); break;
            default: STASIS_TRY(cont(tid, 0)); break;
        }
    }
    return Error(who(tid) + " does not stop after leaving the vDSO");
}

enum class Outcome { out, cannot_step, faulted };

// Single steps, every signal blocked. A fault the stepping itself raised
// (a kernel or emulator that cannot single-step some instruction) puts the
// registers back as they were: the thread has done nothing then.
Result<Outcome> single_step(pid_t tid, const Ranges &ranges, arch::ThreadRegs &regs, unsigned &steps) {
    const arch::ThreadRegs before = regs;
    while (steps < kMaxStepOutSteps) {
        if (::ptrace(PTRACE_SINGLESTEP, tid, nullptr, nullptr) < 0) {
            if (steps == 0 && (errno == EIO || errno == ENOSYS)) return Outcome::cannot_step;
            return Error::from_errno(who(tid) + ": PTRACE_SINGLESTEP");
        }
        ++steps;
        STASIS_ASSIGN(Stop s, wait_stop(tid));
        if (s.kind == Stop::Kind::exited || s.kind == Stop::Kind::killed)
            return Error(who(tid) + " " + s.describe() + " while stepping out of the vDSO");
        if (s.kind == Stop::Kind::signal && s.sig != SIGTRAP) {
            log::debug(who(tid), ": ", strsignal(s.sig), " while single-stepping at ",
                       log::hex(arch::ip(regs)), "; back to where it was frozen");
            STASIS_TRY(arch::write_regs(tid, before));
            regs = before;
            STASIS_TRY(back_to_event_stop(tid, 0));
            return Outcome::faulted;
        }
        STASIS_ASSIGN(regs, arch::read_regs(tid));
        if (!inside(arch::ip(regs), ranges)) break;
    }
    STASIS_TRY(back_to_event_stop(tid, 0));
    return inside(arch::ip(regs), ranges) ? Outcome::faulted : Outcome::out;
}

// Puts breakpoints back to the bytes they replaced, last placed first
// (two may overlap). Leaving one in the program's code would kill it
// later: a failure here is an error.
Status remove_breakpoints(pid_t tid, const std::vector<arch::Breakpoint> &bps,
                          const std::vector<std::vector<uint8_t>> &saved) {
    for (size_t i = saved.size(); i-- > 0;)
        STASIS_TRY(std::move(write_mem(tid, bps[i].addr, saved[i].data(), saved[i].size()))
                       .context(log::cat(who(tid), ": remove the breakpoint at ", log::hex(bps[i].addr))));
    return ok();
}

// Places `bps`, lets the thread go and waits until it stops at one (or,
// after 2 s, wherever it is: it ran past them, a conditional breakpoint
// the CPU skipped), then puts the code back. Nothing placed when one
// cannot be: an error then, the thread not run.
Result<Stop> run_to_breakpoints(pid_t tid, const std::vector<arch::Breakpoint> &bps) {
    std::vector<std::vector<uint8_t>> saved;
    Status placed = ok();
    for (const auto &bp : bps) {
        std::vector<uint8_t> orig(bp.insn.size());
        placed = read_mem(tid, bp.addr, orig.data(), orig.size());
        if (!placed.ok()) break;
        saved.push_back(std::move(orig));
        placed = write_mem(tid, bp.addr, bp.insn.data(), bp.insn.size());
        if (!placed.ok()) break;
    }
    if (!placed.ok()) {
        STASIS_TRY(remove_breakpoints(tid, bps, saved));
        return std::move(placed).error();
    }
    Status went = cont(tid, 0);
    Result<Stop> s = went.ok() ? wait_stop(tid, std::chrono::seconds(2)) : Result<Stop>(std::move(went).error());
    if (!s.ok()) {
        log::debug(who(tid), ": reached no breakpoint: ", s.error().message());
        Status st = interrupt(tid);
        s = st.ok() ? wait_stop(tid) : Result<Stop>(std::move(st).error());
    }
    STASIS_TRY(remove_breakpoints(tid, bps, saved));
    return s;
}

// Single steps made with breakpoints where ptrace has none (32-bit arm):
// one at each address the next instruction may continue at
// (arch::step_breakpoints), the thread let go, stopped by the one it
// reaches, the code put back. A thread that comes back to an instruction
// again and again loops (a seqlock retry that, stepped, always straddles a
// clock tick): it is run at full speed to a breakpoint at every address it
// may return to (arch::return_breakpoints) instead. `cannot_step` where the
// first instruction cannot be stepped so; `faulted` where a later one
// cannot, or the thread got another signal (then its registers are put
// back as they were).
Result<Outcome> breakpoint_steps(pid_t tid, const Ranges &ranges, arch::ThreadRegs &regs, unsigned &steps) {
    const arch::ThreadRegs before = regs;
    const arch::ReadMem read = [tid](uint64_t a, void *b, size_t n) { return read_mem(tid, a, b, n).ok(); };
    bool in_signal_stop = false;  // else in the PTRACE_EVENT_STOP it was frozen in
    const unsigned first_step = steps;
    std::map<uint64_t, unsigned> visits;
    bool ran_to_return = false;
    Outcome outcome = Outcome::out;
    while (inside(arch::ip(regs), ranges)) {
        Result<std::vector<arch::Breakpoint>> bps = Error("");
        if (++visits[arch::ip(regs)] > kLoopVisits && ran_to_return) {
            log::debug(who(tid), ": loops at ", log::hex(arch::ip(regs)), " again after running to its return");
            outcome = Outcome::faulted;
            break;
        }
        if (visits[arch::ip(regs)] > kLoopVisits) {
            ran_to_return = true;
            visits.clear();
            STASIS_ASSIGN(auto maps, proc::read_maps(tid));
            auto is_code = [&](uint64_t a) {
                if (inside(a, ranges)) return false;
                for (const auto &m : maps)
                    if (a >= m.start && a < m.end) return (m.prot & PROT_EXEC) != 0;
                return false;
            };
            bps = arch::return_breakpoints(regs, read, kReturnScanBytes, is_code);
            if (bps.ok())
                log::debug(who(tid), ": loops at ", log::hex(arch::ip(regs)), "; run to ", bps->size(),
                           " possible return address(es)");
        } else {
            bps = arch::step_breakpoints(regs, read);
        }
        if (!bps.ok() || bps->empty() || steps >= kMaxStepOutSteps) {
            if (!bps.ok())
                log::debug(who(tid), ": no breakpoint step at ", log::hex(arch::ip(regs)), ": ", bps.error().message());
            else
                log::debug(who(tid), ": still inside after ", steps - first_step, " breakpoint steps");
            outcome = steps == first_step ? Outcome::cannot_step : Outcome::faulted;
            break;
        }
        auto s = run_to_breakpoints(tid, *bps);
        if (!s.ok()) {
            log::debug(who(tid), ": cannot place a breakpoint: ", s.error().message());
            outcome = steps == first_step ? Outcome::cannot_step : Outcome::faulted;
            break;
        }
        ++steps;
        if (s->kind == Stop::Kind::exited || s->kind == Stop::Kind::killed)
            return Error(who(tid) + " " + s->describe() + " while stepping out of the vDSO");
        if (s->kind == Stop::Kind::signal && s->sig != SIGTRAP) {
            log::debug(who(tid), ": ", strsignal(s->sig), " while stepping with breakpoints at ",
                       log::hex(arch::ip(regs)), "; back to where it was frozen");
            STASIS_TRY(arch::write_regs(tid, before));
            regs = before;
            STASIS_TRY(back_to_event_stop(tid, 0));
            return Outcome::faulted;
        }
        in_signal_stop = s->kind == Stop::Kind::signal;
        STASIS_ASSIGN(regs, arch::read_regs(tid));
    }
    if (in_signal_stop) STASIS_TRY(back_to_event_stop(tid, 0));
    if (outcome == Outcome::out && inside(arch::ip(regs), ranges)) outcome = Outcome::faulted;
    return outcome;
}

// Lets the thread run a moment (alone: the rest of the tree stays frozen)
// and freezes it again, up to `max` times, until `done` holds: the program
// running a little longer, as if the freeze had come later.
template <typename Done>
Result<bool> run_until(pid_t tid, arch::ThreadRegs &regs, unsigned max, unsigned &runs, Done done) {
    for (unsigned i = 1; i <= max; ++i) {
        ++runs;
        STASIS_TRY(cont(tid, 0));
        std::this_thread::sleep_for(std::chrono::microseconds(std::min(100u * i, 2000u)));
        STASIS_TRY(std::move(freeze(tid)).context("freezing it again outside the vDSO"));
        STASIS_ASSIGN(regs, arch::read_regs(tid));
        if (done()) return true;
    }
    return false;
}

// Gets the thread's instruction pointer out of `ranges`, every signal
// blocked meanwhile (one arriving stays pending, and is dumped so, instead
// of running its handler on a frame inside the vDSO): single steps where
// the kernel can, else (or when a step faulted) short runs alone. Its
// signal mask is put back afterwards. False when it could not be got out.
Result<bool> leave(pid_t tid, const Ranges &ranges, arch::ThreadRegs &regs, unsigned &steps, unsigned &runs) {
    const uint64_t from = arch::ip(regs);
    STASIS_ASSIGN(uint64_t mask, get_sigmask(tid));
    STASIS_TRY(set_sigmask(tid, ~uint64_t(0)));
    auto outcome = single_step(tid, ranges, regs, steps);
    if (outcome.ok() && *outcome == Outcome::cannot_step) outcome = breakpoint_steps(tid, ranges, regs, steps);
    if (outcome.ok() && *outcome != Outcome::out) {
        // (A sigreturn during these runs, of a handler that was already
        // running, would be undone by putting the mask back: only a handler
        // calling into the vDSO.)
        auto ran = run_until(tid, regs, kMaxStepOutRuns, runs, [&] { return !inside(arch::ip(regs), ranges); });
        if (!ran.ok()) outcome = std::move(ran).error();
        else if (*ran) {
            log::debug(who(tid), ": left the vDSO (",
                       *outcome == Outcome::cannot_step ? "no single-step here" : "single-step faulted",
                       ") after running ", runs, " time(s), now at ", log::hex(arch::ip(regs)));
            outcome = Outcome::out;
        }
    } else if (outcome.ok()) {
        log::debug(who(tid), ": stepped out of the vDSO from ", log::hex(from), " to ", log::hex(arch::ip(regs)),
                   " in ", steps, " steps");
    }
    auto restored = set_sigmask(tid, mask);
    if (!outcome.ok()) return std::move(outcome).error();
    STASIS_TRY(std::move(restored));
    if (*outcome == Outcome::out) return true;
    log::warn(who(tid), ": still inside the vDSO after ", steps, " steps and ", runs,
              " runs; a restore on another kernel may not resume it");
    return false;
}

}  // namespace

Result<unsigned> step_out_of(pid_t tid, const Ranges &ranges) {
    STASIS_ASSIGN(arch::ThreadRegs regs, arch::read_regs(tid));
    if (!inside(arch::ip(regs), ranges)) {
        if (!stack_refers(tid, arch::sp(regs), ranges)) return 0u;
        if (in_syscall(tid, regs)) {
            log::debug(who(tid), ": a word of its stack points into the vDSO, but it sits in a system call at ",
                       log::hex(arch::ip(regs)), ": left there");
            return 0u;
        }
    }
    unsigned steps = 0, runs = 0;
    if (inside(arch::ip(regs), ranges)) {
        STASIS_ASSIGN(bool out, leave(tid, ranges, regs, steps, runs));
        if (!out) return steps + runs;
    }
    // Best effort: a word of its live stack points into the vDSO: a signal
    // frame of a handler that interrupted vDSO code (sigreturn would resume
    // there), or just a local holding such an address. Signals are not
    // blocked during these runs: the handler's own sigreturn has to put its
    // mask back.
    if (!in_syscall(tid, regs) && stack_refers(tid, arch::sp(regs), ranges)) {
        STASIS_ASSIGN(bool clear, run_until(tid, regs, kMaxStackRuns, runs, [&] {
                          return !inside(arch::ip(regs), ranges) && !stack_refers(tid, arch::sp(regs), ranges);
                      }));
        log::debug(who(tid), clear ? ": its stack no longer points into the vDSO" : ": a word of its stack still points "
                   "into the vDSO (a local, or a frame of a handler that interrupted it)", " after ", runs, " run(s)");
        // Never left where the last run happened to stop: inside again.
        if (!clear && inside(arch::ip(regs), ranges)) STASIS_TRY(leave(tid, ranges, regs, steps, runs));
    }
    return std::max(steps + runs, 1u);
}

}  // namespace stasis::ptrace
