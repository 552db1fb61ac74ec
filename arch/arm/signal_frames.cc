// arm signal frames across kernels.
//
// After the registers, a frame's ucontext has uc_regspace: 512 bytes of
// blocks, each a (magic, size) header and its data, ended by a zero magic.
// A kernel built with CONFIG_IWMMXT (Debian's 6.1 armmp) starts it with an
// iWMMXt block, a placeholder (DUMMY_MAGIC) for threads that never used
// iWMMXt, then the VFP block. One built without (Debian's 6.12) starts
// with the VFP block, and its sigreturn refuses a frame whose first block
// is not VFP: the thread gets SIGSEGV as its handler returns. The other
// way round is fine: an iWMMXt kernel skips the placeholder when present
// and does not require it. So where this kernel writes no iWMMXt block,
// the placeholder is dropped from frames that have one; a real iWMMXt
// block (XScale hardware) is left alone, its state having nowhere to go.
#include <signal.h>
#include <stddef.h>
#include <ucontext.h>

#include <atomic>
#include <cstring>
#include <mutex>

#include "arch/arch.h"

namespace stasis::arch {
namespace {

constexpr uint32_t kDummyMagic = 0xb0d9ed01;   // DUMMY_MAGIC
constexpr uint32_t kIwmmxtMagic = 0x12ef842a;  // IWMMXT_MAGIC
constexpr uint32_t kVfpMagic = 0x56465001;     // VFP_MAGIC
constexpr uint32_t kIwmmxtSize = 160;          // IWMMXT_STORAGE_SIZE, header included
constexpr uint32_t kVfpSize = 288;             // VFP_STORAGE_SIZE, header included

// struct ucontext (arm): uc_flags, uc_link, uc_stack (12 bytes), then
// uc_mcontext (trap_no, error_code, oldmask, r0..r10, fp, ip, sp, lr, pc,
// cpsr, fault_address), the 128-byte uc_sigmask, uc_regspace.
constexpr size_t kSpOffset = 20 + 16 * 4;
constexpr size_t kCpsrOffset = 20 + 19 * 4;
constexpr size_t kRegspaceOffset = 232;
constexpr size_t kRegspaceSize = 512;
static_assert(offsetof(ucontext_t, uc_regspace) == kRegspaceOffset);
static_assert(offsetof(ucontext_t, uc_mcontext.arm_sp) == kSpOffset);
static_assert(offsetof(ucontext_t, uc_mcontext.arm_cpsr) == kCpsrOffset);
constexpr uint32_t kModeMask = 0x1f, kUserMode = 0x10;

uint32_t word(std::span<const uint8_t> mem, size_t off) {
    uint32_t v;
    std::memcpy(&v, mem.data() + off, sizeof v);
    return v;
}

void put_word(std::span<uint8_t> mem, size_t off, uint32_t v) { std::memcpy(mem.data() + off, &v, sizeof v); }

std::atomic<uint32_t> probed_first_magic{0};

void probe_handler(int, siginfo_t *, void *uc) {
    probed_first_magic.store(static_cast<uint32_t>(static_cast<ucontext_t *>(uc)->uc_regspace[0]));
}

// The magic this kernel puts first in uc_regspace, from a frame it builds
// for a signal sent to this thread (0 if the probe could not run).
uint32_t probe_first_magic() {
    const int sig = SIGUSR2;  // one the engine does not use (qemu-user cannot deliver every RT signal)
    struct sigaction sa {}, old{};
    sa.sa_sigaction = probe_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (::sigaction(sig, &sa, &old) != 0) return 0;
    sigset_t only, saved;
    sigemptyset(&only);
    sigaddset(&only, sig);
    ::pthread_sigmask(SIG_UNBLOCK, &only, &saved);
    ::raise(sig);  // delivered before raise returns
    ::pthread_sigmask(SIG_SETMASK, &saved, nullptr);
    ::sigaction(sig, &old, nullptr);
    return probed_first_magic.load();
}

}  // namespace

bool signal_frames_may_need_rewriting() {
    static std::once_flag once;
    static bool needed = false;
    std::call_once(once, [] {
        uint32_t first = probe_first_magic();
        // This kernel has iWMMXt support (and then accepts frames with or
        // without the placeholder) or the probe failed: leave frames alone.
        needed = first == kVfpMagic;
    });
    return needed;
}

std::vector<SignalFrame> adapt_signal_frames(std::span<uint8_t> mem, uint64_t base) {
    std::vector<SignalFrame> frames;
    // ucontexts are 8-byte aligned (the kernel aligns the frame), so is
    // uc_regspace within them.
    size_t first = (8 - base % 8) % 8 + kRegspaceOffset;
    for (size_t rs = first; rs + kRegspaceSize <= mem.size(); rs += 8) {
        size_t uc = rs - kRegspaceOffset;
        uint32_t magic = word(mem, rs);
        bool placeholder = magic == kDummyMagic && word(mem, rs + 4) == kIwmmxtSize;
        size_t vfp = placeholder ? rs + kIwmmxtSize : rs;
        if (!(magic == kVfpMagic || placeholder || magic == kIwmmxtMagic)) continue;
        if (magic == kIwmmxtMagic) vfp = rs + kIwmmxtSize;
        // The rest of the signature: a VFP block, the end marker after it,
        // and saved registers of a user-mode context before them.
        if (word(mem, vfp) != kVfpMagic || word(mem, vfp + 4) != kVfpSize || word(mem, vfp + kVfpSize) != 0 ||
            (word(mem, uc + kCpsrOffset) & kModeMask) != kUserMode)
            continue;
        SignalFrame f;
        f.at = base + uc;
        f.size = kRegspaceOffset + kRegspaceSize;
        f.interrupted_sp = word(mem, uc + kSpOffset);
        if (placeholder && signal_frames_may_need_rewriting()) {
            std::memmove(mem.data() + rs, mem.data() + vfp, kVfpSize);
            put_word(mem, rs + kVfpSize, 0);  // the end marker
            std::memset(mem.data() + rs + kVfpSize + 4, 0, kIwmmxtSize);
            f.rewritten = "dropped the iWMMXt placeholder block, which this kernel does not read";
        }
        frames.push_back(f);
        rs = vfp + kVfpSize;  // past this frame's blocks (the loop adds 8)
    }
    return frames;
}

}  // namespace stasis::arch
