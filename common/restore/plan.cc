#include "common/restore/plan.h"

#include <signal.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "arch/arch.h"
#include "common/linux/uapi.h"
#include "common/restore/vdso_restore.h"
#include "pie/blob.h"

namespace stasis::restore {
namespace {

// One preadv job reads at most this much: small enough that the fill
// workers balance, large enough to amortise the syscall.
constexpr uint64_t kFillChunk = 8ull << 20;
constexpr uint32_t kMaxIovPerJob = 1024;

uint64_t round_up(uint64_t v, uint64_t to) { return (v + to - 1) / to * to; }

bool is_special(images::VmaKind k) {
    return k == images::VMA_VDSO || k == images::VMA_VVAR || k == images::VMA_VVAR_VCLOCK ||
           k == images::VMA_SIGPAGE;
}

bool has_flag(const std::string &vm_flags, const char *code) {
    for (size_t i = 0; i + 1 < vm_flags.size() + 1; i += 3)
        if (vm_flags.compare(i, 2, code) == 0) return true;
    return false;
}

uint64_t ns_to(uint64_t ns, uint64_t unit) { return ns / unit; }

// The POSIX timer a pending signal came from, or -1. Such a signal is bound
// to its timer in the kernel (further expirations only count overruns); a
// copy queued with rt_sigqueueinfo would not be, and the re-armed timer
// would queue a second one.
int timer_of(const images::Siginfo &s) {
    if (s.raw().size() < sizeof(siginfo_t)) return -1;
    siginfo_t si;
    std::memcpy(&si, s.raw().data(), sizeof si);
    return si.si_code == SI_TIMER ? si.si_timerid : -1;
}

}  // namespace

bool lazy_candidate(const images::Vma &v) {
    return v.kind() == images::VMA_ANON_PRIVATE && (v.prot() & PROT_WRITE) && (v.prot() & PROT_READ) &&
           !has_flag(v.vm_flags(), "lo");
}

template <typename T>
uint64_t PlanBuilder::append(const std::vector<T> &items) {
    // Offsets are from the plan start; the header comes first.
    while (tail_.size() % 16) tail_.push_back(0);
    uint64_t off = sizeof(restore_plan) + tail_.size();
    const uint8_t *p = reinterpret_cast<const uint8_t *>(items.data());
    tail_.insert(tail_.end(), p, p + items.size() * sizeof(T));
    return off;
}

Status PlanBuilder::add_memory() {
    const auto &t = *in_.task;
    std::vector<restore_vma> vmas;
    std::vector<restore_fill> fills;
    std::vector<restore_iovec> iovs;
    // Which VMAs receive pages (they are mapped writable until filled).
    std::vector<bool> gets_pages(t.vmas.size(), false);
    // Lazy restore: these VMAs are registered with a userfaultfd and filled
    // by `stasis lazy-pages` instead.
    std::vector<bool> lazy(t.vmas.size(), false);
    if (in_.lazy_sock >= 0)
        for (size_t i = 0; i < t.vmas.size(); ++i)
            lazy[i] = lazy_candidate(t.vmas[i]) && !in_.premapped.count(t.vmas[i].start());
    restore_fill cur{};
    auto close_job = [&]() {
        if (cur.nr_iov) fills.push_back(cur);
        cur = restore_fill{};
    };
    static const std::vector<images::PageSource> kNone;
    STASIS_ASSIGN(std::vector<VmaPiece> pieces, split_by_vma(in_.sources ? *in_.sources : kNone, t.vmas));
    for (const auto &p : pieces) {
        if (in_.premapped.count(t.vmas[p.vma].start()) || lazy[p.vma]) continue;  // the engine / lazy-pages fill it
        if (p.level < 0)
            return Error("pages to drop at " + std::to_string(p.vaddr) + " outside memory inherited from the parent");
        if (size_t(p.level) >= in_.level_fds.size() || in_.level_fds[size_t(p.level)] < 0)
            return Error("no pages image open for the pages at " + std::to_string(p.vaddr));
        int fd = in_.level_fds[size_t(p.level)];
        gets_pages[p.vma] = true;
        uint64_t addr = p.vaddr, len = p.len, file_off = p.file_off;
        while (len) {
            uint64_t take = std::min(len, kFillChunk);
            bool contiguous = cur.nr_iov && cur.fd == fd && cur.file_off + cur.bytes == file_off;
            if (!contiguous || cur.nr_iov >= kMaxIovPerJob || cur.bytes + take > kFillChunk) close_job();
            if (!cur.nr_iov) {
                cur.file_off = file_off;
                cur.fd = fd;
                cur.first_iov = uint32_t(iovs.size());
            }
            iovs.push_back({static_cast<unsigned long>(addr), static_cast<unsigned long>(take)});
            ++cur.nr_iov;
            cur.bytes += take;
            addr += take;
            len -= take;
            file_off += take;
        }
    }
    close_job();

    for (size_t i = 0; i < t.vmas.size(); ++i) {
        const auto &v = t.vmas[i];
        if (v.kind() == images::VMA_VSYSCALL || v.kind() == images::VMA_VECTORS || is_special(v.kind())) continue;
        restore_vma r{};
        r.start = v.start();
        r.end = v.end();
        r.pgoff = v.pgoff();
        r.prot = v.prot();
        r.map_flags = v.flags();
        r.fd = -1;
        r.madv = v.madv();
        if (v.file_id() && v.kind() != images::VMA_SYSV_SHM) {
            auto it = in_.file_fds.find(v.file_id());
            if (it == in_.file_fds.end()) return Error("no open file for vma file #" + std::to_string(v.file_id()));
            r.fd = it->second;
        }
        if (v.kind() == images::VMA_ANON_SHARED && v.shmem_id()) {
            // One object behind all its views: map the recreated object.
            auto it = in_.shmem_fds.find(v.shmem_id());
            if (it == in_.shmem_fds.end()) return Error("no shared memory object for vma at " + std::to_string(v.start()));
            r.fd = it->second;
            r.map_flags &= ~uint32_t(MAP_ANONYMOUS);
        }
        if (v.kind() == images::VMA_SYSV_SHM) {
            r.flags |= RESTORE_VMA_SYSV_SHM;
            r.shmid = v.shmid();
        }
        if (gets_pages[i]) r.flags |= RESTORE_VMA_FILL;
        if (auto pm = in_.premapped.find(v.start()); pm != in_.premapped.end()) {
            r.flags |= RESTORE_VMA_PREMAPPED;
            r.premap_addr = pm->second;
        }
        if (has_flag(v.vm_flags(), "lo")) r.flags |= RESTORE_VMA_LOCKED;
        if (has_flag(v.vm_flags(), "ac")) r.flags |= RESTORE_VMA_ACCOUNTED;
        if (lazy[i]) r.flags |= RESTORE_VMA_LAZY;
        vmas.push_back(r);
    }

    std::vector<restore_special> specials;
    if (in_.vdso_proxy) {
        // The proxy's areas are private memory filled from its fd; this
        // kernel's areas go where the proxy plan put them.
        for (const auto &m : in_.vdso_proxy->proxy.mappings) {
            restore_vma r{};
            r.start = m.start;
            r.end = m.end;
            r.prot = m.prot;
            r.map_flags = MAP_PRIVATE | MAP_ANONYMOUS;
            r.fd = -1;
            r.flags = RESTORE_VMA_FILL | RESTORE_VMA_ACCOUNTED;
            vmas.push_back(r);
            restore_fill f{};
            f.file_off = m.offset;
            f.fd = in_.vdso_proxy_fd;
            f.first_iov = uint32_t(iovs.size());
            f.nr_iov = 1;
            f.bytes = m.end - m.start;
            iovs.push_back({static_cast<unsigned long>(m.start), static_cast<unsigned long>(m.end - m.start)});
            fills.push_back(f);
        }
        for (const auto &mv : in_.vdso_proxy->moves) {
            specials.push_back(mv);
            layout_.scratch_size += mv.len;
        }
    }
    for (const auto &a : t.vdso.areas()) {
        if (in_.vdso_proxy) break;
        if (!is_special(a.kind())) continue;
        auto it = std::find_if(in_.specials.begin(), in_.specials.end(),
                               [&](const CurrentSpecial &c) { return c.kind == a.kind(); });
        if (it == in_.specials.end())
            return Error("this kernel has no " + images::VmaKind_Name(a.kind()) + " to put in place");
        specials.push_back({it->start, it->end - it->start, a.start()});
        layout_.scratch_size += it->end - it->start;
    }

    head_.nr_vmas = uint32_t(vmas.size());
    head_.vmas_off = append(vmas);
    head_.nr_fills = uint32_t(fills.size());
    head_.fills_off = append(fills);
    head_.nr_iovs = uint32_t(iovs.size());
    head_.iovs_off = append(iovs);
    head_.nr_specials = uint32_t(specials.size());
    head_.specials_off = append(specials);
    head_.nr_workers = fills.size() > 1 ? std::min<uint32_t>(in_.nr_workers, RESTORE_MAX_WORKERS) : 0;
    head_.page_size = in_.page_size;
    head_.unmap_end = in_.unmap_end;
    head_.lazy_sock = in_.lazy_sock;
    head_.uffd_flags = O_CLOEXEC | O_NONBLOCK;
    head_.uffdio_api = UFFDIO_API;
    head_.uffdio_register = UFFDIO_REGISTER;
    head_.uffd_features = kLazyUffdFeatures;
    head_.fill_uffd_flags = O_CLOEXEC | UFFD_USER_MODE_ONLY;
    head_.uffdio_copy = UFFDIO_COPY;
    // STASIS_RESTORE_FILL=preadv: the fallback fill, as without a
    // userfaultfd (its tests).
    const char *fill = std::getenv("STASIS_RESTORE_FILL");
    head_.fill_buf_len = fill && std::string_view(fill) == "preadv" ? 0 : kFillBufferBytes;
    head_.fill_uffd = -1;
    if (in_.premap_ranges.size() > RESTORE_MAX_PREMAP) return Error("too many nested premap areas");
    head_.nr_premap = uint32_t(in_.premap_ranges.size());
    for (size_t i = 0; i < in_.premap_ranges.size(); ++i) {
        head_.premap[i][0] = in_.premap_ranges[i].first;
        head_.premap[i][1] = in_.premap_ranges[i].second;
    }
    return ok();
}

void PlanBuilder::add_process_state() {
    const auto &c = in_.task->core;
    for (const auto &s : c.shared_pending())
        if (int id = timer_of(s); id >= 0) pending_timers_.insert(id);
    for (const auto &tc : in_.task->threads)
        for (const auto &s : tc.pending())
            if (int id = timer_of(s); id >= 0) pending_timers_.insert(id);
    for (const auto &a : c.sigactions()) {
        if (a.signo() < 1 || a.signo() > PARASITE_MAX_SIGNALS) continue;
        auto &s = head_.sigactions[a.signo() - 1];
        s.handler = static_cast<unsigned long>(a.handler());
        s.flags = static_cast<unsigned long>(a.flags());
        s.restorer = static_cast<unsigned long>(a.restorer());
        s.mask = a.mask();
    }
    const images::Itimer *it[3] = {&c.itimer_real(), &c.itimer_virt(), &c.itimer_prof()};
    for (int i = 0; i < 3; ++i) {
        head_.itimers[i].interval = {long(ns_to(it[i]->interval_ns(), 1000000000)),
                                     long(ns_to(it[i]->interval_ns() % 1000000000, 1000))};
        head_.itimers[i].value = {long(ns_to(it[i]->value_ns(), 1000000000)),
                                  long(ns_to(it[i]->value_ns() % 1000000000, 1000))};
    }
    std::vector<restore_timer> timers;
    for (const auto &p : c.posix_timers()) {
        restore_timer t{};
        t.id = p.id();
        t.clock_id = p.clock_id();
        t.sigev_notify = p.sigev_notify();
        t.sigev_signo = p.sigev_signo();
        t.sigev_value = p.sigev_value();
        t.notify_tid = p.notify_thread_id();
        t.overrun = p.overrun();
        t.interval = {long(p.interval_ns() / 1000000000), long(p.interval_ns() % 1000000000)};
        t.value = {long(p.value_ns() / 1000000000), long(p.value_ns() % 1000000000)};
        timers.push_back(t);
    }
    std::sort(timers.begin(), timers.end(), [](const restore_timer &a, const restore_timer &b) { return a.id < b.id; });
    // A timer whose signal was pending and which is still armed expires at
    // once instead: the kernel queues its genuine signal (overruns count on
    // from there) and the saved copy is dropped.
    for (auto &t : timers) {
        bool armed = t.value.sec || t.value.nsec;
        if (armed && pending_timers_.count(t.id)) t.value = {0, 1};
        else pending_timers_.erase(t.id);
    }
    head_.nr_timers = uint32_t(timers.size());
    head_.timers_off = append(timers);
    for (const auto &r : c.rlimits()) {
        if (r.resource() >= RESTORE_MAX_RLIMITS) continue;
        head_.rlimits[r.resource()][0] = r.cur();
        head_.rlimits[r.resource()][1] = r.max();
        head_.nr_rlimits = std::max<uint32_t>(head_.nr_rlimits, r.resource() + 1);
    }
    const auto &cr = c.creds();
    auto &o = head_.creds;
    o.uid = cr.uid(); o.euid = cr.euid(); o.suid = cr.suid(); o.fsuid = cr.fsuid();
    o.gid = cr.gid(); o.egid = cr.egid(); o.sgid = cr.sgid(); o.fsgid = cr.fsgid();
    o.ngroups = uint32_t(std::min<int>(cr.groups_size(), RESTORE_MAX_GROUPS));
    for (uint32_t i = 0; i < o.ngroups; ++i) o.groups[i] = cr.groups(int(i));
    o.cap_inh = cr.cap_inh(); o.cap_prm = cr.cap_prm(); o.cap_eff = cr.cap_eff();
    o.cap_bnd = cr.cap_bnd(); o.cap_amb = cr.cap_amb();
    o.securebits = cr.securebits();
    o.no_new_privs = cr.no_new_privs();
    o.last_cap = in_.last_cap;
    head_.personality = c.personality();
    head_.umask = c.umask();
    head_.pdeath_sig = int32_t(c.pdeath_sig());
    head_.dumpable = int32_t(c.dumpable());
    head_.child_subreaper = c.child_subreaper();
    const auto &mm = in_.task->mm;
    head_.thp_disabled = int32_t(mm.thp_disabled());
    head_.mm_start_code = mm.start_code(); head_.mm_end_code = mm.end_code();
    head_.mm_start_data = mm.start_data(); head_.mm_end_data = mm.end_data();
    head_.mm_start_brk = mm.start_brk(); head_.mm_brk = mm.brk();
    head_.mm_start_stack = mm.start_stack();
    head_.mm_arg_start = mm.arg_start(); head_.mm_arg_end = mm.arg_end();
    head_.mm_env_start = mm.env_start(); head_.mm_env_end = mm.env_end();
    head_.auxv_words = uint32_t(std::min<int>(mm.auxv_size(), RESTORE_MAX_AUXV));
    for (uint32_t i = 0; i < head_.auxv_words; ++i) head_.auxv[i] = static_cast<unsigned long>(mm.auxv(int(i)));
    auto exe = in_.file_fds.find(mm.exe_file_id());
    head_.exe_fd = exe == in_.file_fds.end() ? -1 : exe->second;
    std::vector<uint8_t> pending;
    int32_t count = 0;
    for (const auto &s : c.shared_pending()) {
        if (pending_timers_.count(timer_of(s))) continue;
        pending.insert(pending.end(), s.raw().begin(), s.raw().end());
        ++count;
    }
    head_.shared_pending_count = count;
    head_.shared_pending_off = append(pending);
    head_.self_rseq_ptr = in_.self_rseq_ptr;
    head_.self_rseq_len = in_.self_rseq_len;
    head_.self_rseq_sig = in_.self_rseq_sig;
    head_.nr_close_fds = uint32_t(in_.close_fds.size());
    head_.close_fds_off = append(std::vector<int32_t>(in_.close_fds.begin(), in_.close_fds.end()));
}

Status PlanBuilder::add_threads() {
    const auto &t = *in_.task;
    for (size_t i = 0; i < t.threads.size(); ++i) {
        const auto &tc = t.threads[i];
        restore_thread r{};
        r.tid = tc.tid();
        r.is_main = i == 0;
        r.altstack_sp = tc.sigaltstack().sp();
        r.altstack_size = tc.sigaltstack().size();
        r.altstack_flags = tc.sigaltstack().flags();
        r.tid_address = tc.tid_address();
        r.robust_list = tc.robust_list();
        r.robust_list_len = tc.robust_list_len();
        r.rseq_ptr = tc.rseq().ptr();
        r.rseq_len = tc.rseq().len();
        r.rseq_sig = tc.rseq().signature();
        std::memcpy(r.comm, tc.comm().data(), std::min<size_t>(tc.comm().size(), sizeof r.comm - 1));
        r.nice = tc.nice();
        r.sched_policy = tc.sched_policy();
        r.sched_priority = tc.sched_priority();
        r.affinity_len = uint32_t(std::min<size_t>(tc.cpu_affinity().size(), sizeof r.affinity));
        std::memcpy(r.affinity, tc.cpu_affinity().data(), r.affinity_len);
        r.timer_slack_ns = tc.timer_slack_ns();
        STASIS_ASSIGN(arch::ThreadRegs regs, arch::from_image(tc.regs()));
        r.tls = arch::tls_set_by_restorer(regs);
        std::vector<uint8_t> pending;
        int32_t count = 0;
        for (const auto &s : tc.pending()) {
            if (pending_timers_.count(timer_of(s))) continue;
            pending.insert(pending.end(), s.raw().begin(), s.raw().end());
            ++count;
        }
        r.pending_count = count;
        r.pending_off = append(pending);
        threads_.push_back(r);
    }
    return ok();
}

Status PlanBuilder::build() {
    head_.magic = RESTORE_PLAN_MAGIC;
    head_.version = RESTORE_PLAN_VERSION;
    STASIS_TRY(add_memory());
    add_process_state();
    STASIS_TRY(add_threads());
    // The thread array goes last: its addresses (stacks) are fixed up later.
    head_.nr_threads = uint32_t(threads_.size());
    head_.threads_off = append(threads_);

    uint64_t page = in_.page_size;
    layout_.blob_size = round_up(pie::restorer.size, page);
    layout_.plan_offset = layout_.blob_size;
    layout_.plan_size = round_up(sizeof(restore_plan) + tail_.size(), page);
    uint64_t off = layout_.plan_offset + layout_.plan_size + RESTORE_MAIN_STACK_SIZE;
    layout_.main_stack_top = off;
    layout_.thread_stack_tops.assign(threads_.size(), 0);
    for (size_t i = 1; i < threads_.size(); ++i) {
        off += RESTORE_THREAD_STACK_SIZE;
        layout_.thread_stack_tops[i] = off;
    }
    for (uint32_t i = 0; i < head_.nr_workers; ++i) {
        off += RESTORE_THREAD_STACK_SIZE;
        layout_.worker_stack_tops.push_back(off);
    }
    // Stacks come in 16 KiB steps; the scratch room (an mremap target) and
    // the region's end must be page-aligned also with 64 KiB pages.
    off = round_up(off, page);
    layout_.scratch_offset = off;
    layout_.scratch_size = round_up(layout_.scratch_size, page);
    layout_.total = off + layout_.scratch_size;
    return ok();
}

std::vector<uint8_t> PlanBuilder::finish(uint64_t region_start) {
    restore_plan head = head_;
    head.region_start = region_start;
    head.region_end = region_start + layout_.total;
    head.scratch_start = region_start + layout_.scratch_offset;
    head.scratch_len = layout_.scratch_size;
    for (uint32_t i = 0; i < head.nr_workers; ++i) head.workers[i].stack_top = region_start + layout_.worker_stack_tops[i];
    std::vector<uint8_t> out(sizeof(restore_plan) + tail_.size());
    std::memcpy(out.data() + sizeof(restore_plan), tail_.data(), tail_.size());
    auto *threads = reinterpret_cast<restore_thread *>(out.data() + head.threads_off);
    for (size_t i = 0; i < threads_.size(); ++i) {
        restore_thread t = threads_[i];
        t.stack_top = i == 0 ? region_start + layout_.main_stack_top : region_start + layout_.thread_stack_tops[i];
        std::memcpy(&threads[i], &t, sizeof t);
    }
    std::memcpy(out.data(), &head, sizeof head);
    return out;
}

}  // namespace stasis::restore
