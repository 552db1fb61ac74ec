#include "common/restore/signal_frames.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include <algorithm>
#include <deque>
#include <vector>

#include "arch/arch.h"
#include "common/ptrace/ptrace.h"
#include "common/util/log.h"

namespace stasis::restore {
namespace {

// More than any stack a frame can sit on is worth searching.
constexpr uint64_t kMaxSearch = 64ull << 20;

const images::Vma *vma_at(const images::TaskImages &t, uint64_t addr) {
    for (const auto &v : t.vmas)
        if (addr >= v.start() && addr < v.end()) return &v;
    return nullptr;
}

// Read with process_vm_readv: under a lazy restore a stack page may not be
// there yet, and unlike /proc/PID/mem this waits for lazy-pages to send it.
Status read_stack(pid_t pid, uint64_t addr, std::vector<uint8_t> &buf) {
    size_t done = 0;
    while (done < buf.size()) {
        iovec local{buf.data() + done, buf.size() - done};
        iovec remote{reinterpret_cast<void *>(uintptr_t(addr + done)), buf.size() - done};
        ssize_t n = ::process_vm_readv(pid, &local, 1, &remote, 1, 0);
        if (n <= 0) return Error::from_errno(log::cat("read the stack at ", log::hex(addr + done)));
        done += size_t(n);
    }
    return ok();
}

}  // namespace

Status adapt_signal_frames(pid_t pid, const images::TaskImages &task) {
    if (!arch::signal_frames_may_need_rewriting()) return ok();
    // Where to search: from an address up to a limit (0: the end of its
    // mapping).
    std::deque<std::pair<uint64_t, uint64_t>> starts;
    for (const auto &tc : task.threads) {
        STASIS_ASSIGN(arch::ThreadRegs regs, arch::from_image(tc.regs()));
        starts.emplace_back(arch::sp(regs), 0);
        const auto &ss = tc.sigaltstack();
        if (ss.size() && !(ss.flags() & SS_DISABLE)) starts.emplace_back(ss.sp(), ss.sp() + ss.size());
    }
    std::vector<std::pair<uint64_t, uint64_t>> searched;
    size_t rewritten = 0;
    while (!starts.empty()) {
        uint64_t from = starts.front().first & ~uint64_t(7), limit = starts.front().second;
        starts.pop_front();
        const images::Vma *v = vma_at(task, from);
        if (!v || !(v->prot() & PROT_READ) || !(v->prot() & PROT_WRITE)) continue;
        uint64_t to = std::min(v->end(), from + kMaxSearch);
        if (limit > from) to = std::min(to, limit);
        bool covered = std::any_of(searched.begin(), searched.end(),
                                   [&](const auto &r) { return from >= r.first && to <= r.second; });
        if (covered) continue;
        searched.emplace_back(from, to);
        std::vector<uint8_t> mem(to - from);
        STASIS_TRY(read_stack(pid, from, mem));
        for (const arch::SignalFrame &f : arch::adapt_signal_frames(mem, from)) {
            starts.emplace_back(f.interrupted_sp, 0);
            if (!f.rewritten) continue;
            uint64_t off = f.at - from;
            STASIS_TRY(std::move(ptrace::write_mem(pid, f.at, mem.data() + off, f.size))
                           .context(log::cat("rewrite the signal frame at ", log::hex(f.at))));
            log::info("process ", pid, ": signal frame at ", log::hex(f.at), ": ", f.rewritten);
            ++rewritten;
        }
    }
    if (rewritten) log::debug("process ", pid, ": ", rewritten, " signal frame(s) rewritten for this kernel");
    return ok();
}

}  // namespace stasis::restore
