// The arch interface: what every arch/<arch>/ supplies to the common engine.
// Common code includes this header and never tests for an architecture.
//
// Each arch/<arch>/ provides:
//   arch_regs.h    struct ThreadRegs (all ptrace register sets of a thread),
//                  kArchName, kImageArch, kSyscallInsn bytes, kInsnAlign
//   arch_disasm.h  capstone arch/mode, the blob trap bytes and the signal it
//                  raises untraced (pie/blob_check.h)
//   regs.cc        the functions declared below
//   pie/arch_pie.h raw syscalls (stasis_syscall6), stasis_sys_mmap and the
//                  trap (STASIS_PIE_TRAP) for freestanding code
//   pie/entry.S    the blob entry (pie_entry)
//   pie/clone3.S   pie_clone3_thread(clone_args, size, arg): raw clone3 whose
//                  child runs pie_thread_main(arg), a symbol the blob defines,
//                  on the new stack and then exits
//   pie/text_fill.lds  the no-op that fills gaps in blob code (pie/blob.lds)
//   syscalls.tbl   syscall numbers
//   signal_frames.cc  where kernels' signal frames differ (else
//                  arch/generic/signal_frames.cc: they do not)
//   software_step.cc  breakpoint single steps, where ptrace has none (else
//                  arch/generic/software_step.cc: ptrace steps)
//
// Shared helpers for the regs.cc files: arch/ptrace_regset.h.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "arch_regs.h"
#include "common/util/result.h"

namespace stasis::images {
class ThreadRegs;
class CpuFeatures;
}  // namespace stasis::images

namespace stasis::arch {

// ---- ptrace register sets -------------------------------------------------

// Reads every register set of a ptrace-stopped thread.
Result<ThreadRegs> read_regs(pid_t tid);
// Writes every register set back (general, FP/vector, TLS, syscall state).
Status write_regs(pid_t tid, const ThreadRegs &regs);
// Writes only the general-purpose registers (fast path for injected calls).
Status write_gp_regs(pid_t tid, const ThreadRegs &regs);

// ---- accessors --------------------------------------------------------------

uint64_t ip(const ThreadRegs &r);
void set_ip(ThreadRegs &r, uint64_t v);
uint64_t sp(const ThreadRegs &r);
void set_sp(ThreadRegs &r, uint64_t v);
// Where a call left its return address (aarch64 x30, arm lr, ppc64le LR,
// s390x r14); 0, and nothing to set, on x86_64 (calls push it).
uint64_t link_register(const ThreadRegs &r);
void set_link_register(ThreadRegs &r, uint64_t v);
// Return value of the syscall that just completed (at a syscall-exit stop).
int64_t syscall_result(const ThreadRegs &r);
// The syscall number at a syscall stop (orig_rax, x8, r7, r0, r1 ...).
int64_t syscall_nr(const ThreadRegs &r);

// Prepares registers so that resuming at `insn_addr` (which holds one of
// syscall_insn_forms(), its tag OR-ed in) executes syscall `nr` with `args`. Also disarms the kernel's
// syscall-restart processing for the interrupted syscall, if any.
// `insn_addr` must not be the instruction the task was stopped at: on arm
// and aarch64 the kernel decides to restart an interrupted syscall by
// comparing the resumed pc with the (already rewound) svc address
// (do_signal in arch/arm*/kernel/signal.c), so resuming at that very svc
// could run the old syscall (or restart_syscall) instead of ours.
void setup_syscall(ThreadRegs &r, uint64_t insn_addr, long nr, const std::array<uint64_t, 6> &args);
// Prepares registers to run a blob at `entry` with `arg` as its first argument
// and the stack at `stack_top`. Disarms syscall restart the same way.
void setup_call(ThreadRegs &r, uint64_t entry, uint64_t arg, uint64_t stack_top);

// ---- syscall restart ------------------------------------------------------------

// A thread frozen inside an interruptible syscall resumes through the
// kernel's restart rules. One of them, -ERESTART_RESTARTBLOCK (nanosleep,
// clock_nanosleep, poll with a timeout ...), restarts through
// restart_syscall(2) and kernel state of the old task (its restart_block)
// that a restored task does not have: it would return EINTR. Rewrites the
// registers of a thread about to be restored so that the original syscall
// is executed again instead (arch/<arch>/restart.cc says how its kernel
// orders this).
void restart_in_new_task(ThreadRegs &r);

// The thread pointer the restorer must set from inside the thread, where
// ptrace cannot set it (arm: TPIDRURO via set_tls); 0 where the register
// sets written by write_regs() carry it.
uint64_t tls_set_by_restorer(const ThreadRegs &r);

// ---- injected mmap ------------------------------------------------------------

// How an anonymous mmap(0, len, prot, flags, -1, 0) injected into a stopped
// task is called on this arch: the syscall number and its register
// arguments. Where the arch takes mmap's arguments in memory (s390x's
// old_mmap), `memory` holds the bytes the caller must first write into the
// task at `scratch`, an address below the task's stack pointer that nothing
// live uses; elsewhere `memory` is empty and `scratch` unused.
struct MmapCall {
    long nr;
    std::array<uint64_t, 6> args;
    std::vector<uint8_t> memory;
};
MmapCall anon_mmap_call(uint64_t len, int prot, int flags, uint64_t scratch);

// The encodings of a syscall instruction that injection may borrow from a
// target's own code, in order of preference: kSyscallInsn first, then
// others the arch can execute (arm: Thumb's 2-byte `svc 0`, which Debian's
// Thumb-2 code and vDSO use). `tag` is OR-ed into the address handed to
// setup_syscall, which reads it back (arm: bit 0 means Thumb state, the
// interworking convention).
struct SyscallInsnForm {
    std::vector<uint8_t> bytes;
    size_t align;
    uint64_t tag;
};
std::vector<SyscallInsnForm> syscall_insn_forms();

// ---- signal frames ---------------------------------------------------------------

// A thread checkpointed inside a signal handler has the frame its kernel
// wrote on a stack; sigreturn reads it back, on the restoring kernel. Two
// kernels of one arch may lay frames out differently (arm: one built with
// CONFIG_IWMMXT puts a placeholder iWMMXt block before the VFP block, and
// one without refuses a frame that has it). The engine finds the frames on
// each thread's stacks and has them rewritten where this kernel needs it.
struct SignalFrame {
    uint64_t at = 0;                  // the frame's ucontext
    uint64_t size = 0;                // bytes from `at` a rewrite may change
    uint64_t interrupted_sp = 0;      // the stack pointer sigreturn returns to
    const char *rewritten = nullptr;  // what was changed, or null
};
// Whether a frame another kernel wrote may need rewriting for this one
// (probed once, with a signal this process sends itself).
bool signal_frames_may_need_rewriting();
// Finds the signal frames in `mem` (stack bytes from address `base`) and
// rewrites in place those this kernel would refuse.
std::vector<SignalFrame> adapt_signal_frames(std::span<uint8_t> mem, uint64_t base);

// ---- software single-step ---------------------------------------------------------

// Where ptrace cannot single-step (32-bit arm), one step is made with
// breakpoints: at every address the instruction at the thread's ip may
// continue at. `insn` is the breakpoint to write there (the state the code
// at that address runs in decides which).
struct Breakpoint {
    uint64_t addr;
    std::vector<uint8_t> insn;
};
using ReadMem = std::function<bool(uint64_t addr, void *buf, size_t len)>;
// The breakpoints for one step of a thread with registers `r` (`read`
// reads its memory: branch targets on the stack or in tables). An error
// where this arch single-steps with ptrace, or for an instruction whose
// next address it cannot tell.
Result<std::vector<Breakpoint>> step_breakpoints(const ThreadRegs &r, const ReadMem &read);
// Breakpoints at every address a thread inside some code may return to
// from it: its link register and the words of its stack (`stack_bytes`
// above the stack pointer) that `is_code` accepts. With these the thread
// can leave code it loops in (a seqlock retry that single steps never
// finish: each is longer than a clock tick) at full speed. An error where
// this arch single-steps with ptrace.
Result<std::vector<Breakpoint>> return_breakpoints(const ThreadRegs &r, const ReadMem &read, size_t stack_bytes,
                                                   const std::function<bool(uint64_t)> &is_code);

// ---- images -------------------------------------------------------------------

void to_image(const ThreadRegs &r, images::ThreadRegs *out);
// Refuses a register set of another architecture or of a malformed shape.
Result<ThreadRegs> from_image(const images::ThreadRegs &in);

// The CPU features the FP/vector state of these registers needs (recorded in
// the inventory), and whether this CPU offers them (checked at restore).
void cpu_features(const ThreadRegs &r, images::CpuFeatures *out);
Status check_cpu_features(const images::CpuFeatures &needed);
// Puts registers from an image dumped on the CPU `saved` describes into
// this CPU's layout, where the two differ (x86_64: the XSAVE standard
// format puts components at CPUID-given offsets, which differ between
// vendors). What cannot be converted check_cpu_features() has refused.
Status adapt_to_this_cpu(const images::CpuFeatures &saved, ThreadRegs &r);

// One-line description for logs: "ip=0x... sp=0x... nr=..."
std::string describe(const ThreadRegs &r);

}  // namespace stasis::arch
