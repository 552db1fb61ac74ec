// Makes a frozen thread run code for us: single syscalls (through a syscall
// instruction that already exists in the target, so no byte of its memory
// is modified) and blob calls that end in a trap.
//
// Stops, and why they matter for restoring the thread afterwards:
//  - a frozen thread sits inside the kernel's get_signal() (event stop);
//  - after an injected syscall it sits at a syscall-exit stop;
//  - after a blob run it sits in a SIGTRAP signal-delivery stop, which is
//    again inside get_signal().
// Resuming from inside get_signal() lets the kernel apply its syscall-restart
// rules to the registers we put back (x86_64 does that after get_signal()
// returns), so the thread continues exactly as if never stopped.
// return_to_signal_stop() gets a thread from a syscall-exit stop back there.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <vector>

#include "arch/arch.h"
#include "common/proc/maps.h"
#include "common/util/result.h"

namespace stasis::parasite {

enum class ThreadStopState { in_get_signal, syscall_enter, syscall_exit };

class Injector {
public:
    // `regs` are the thread's registers as frozen (restored by
    // return_to_signal_stop / the FrozenTree).
    Injector(pid_t tid, const arch::ThreadRegs &regs, uint64_t syscall_insn)
        : tid_(tid), frozen_(regs), work_(regs), syscall_insn_(syscall_insn) {}

    pid_t tid() const { return tid_; }

    // Runs one syscall in the thread and returns its raw result (-errno on
    // failure, as the kernel returns it).
    Result<int64_t> syscall(long nr, const std::array<uint64_t, 6> &args);

    // Runs the blob at `entry` with `arg` as its first argument on the stack
    // at `stack_top` until it traps. Signals other than SIGTRAP must be
    // blocked by the caller (set_sigmask) so none is delivered into the blob.
    Status call(uint64_t entry, uint64_t arg, uint64_t stack_top);

    // Puts the frozen registers back and leaves the thread stopped inside
    // get_signal(), ready to be detached or killed.
    Status return_to_signal_stop();

private:
    pid_t tid_;
    arch::ThreadRegs frozen_;
    arch::ThreadRegs work_;
    uint64_t syscall_insn_;
    ThreadStopState state_ = ThreadStopState::in_get_signal;
};

// Finds the address of an existing syscall instruction in an executable
// mapping of `pid` (the vDSO first: every kernel's vDSO has syscall fallbacks).
// Never the one at `stopped_pc`, where the injecting thread sits: a thread
// interrupted in a syscall is stopped with its pc rewound onto that very
// instruction, and resuming there lets the kernel restart the old syscall
// (restart_syscall on arm) instead of running ours (see setup_syscall).
Result<uint64_t> find_syscall_insn(pid_t pid, uint64_t stopped_pc);
// The same among `maps`, the process's mappings read while it is frozen.
Result<uint64_t> find_syscall_insn(pid_t pid, uint64_t stopped_pc, const std::vector<proc::Mapping> &maps);

}  // namespace stasis::parasite
