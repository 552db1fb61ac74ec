#include "common/dump/task_state.h"

#include <signal.h>
#include <sched.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "common/linux/uapi.h"
#include "common/proc/limits.h"
#include "common/proc/misc.h"
#include "common/proc/read_file.h"
#include "common/proc/timers.h"
#include "common/util/log.h"

namespace stasis::dump {
namespace {

constexpr int kPeekBatch = 64;

uint64_t timeval_ns(const parasite_timeval &t) { return uint64_t(t.sec) * 1000000000ull + uint64_t(t.usec) * 1000ull; }
uint64_t timespec_ns(const parasite_timespec &t) { return uint64_t(t.sec) * 1000000000ull + uint64_t(t.nsec); }

// Pending signals of one thread (shared = the process-wide queue), read
// without dequeuing them.
Status peek_pending(pid_t tid, bool shared, google::protobuf::RepeatedPtrField<images::Siginfo> *out) {
    struct {
        uint64_t off;
        uint32_t flags;
        int32_t nr;
    } args{0, shared ? 1u /* PTRACE_PEEKSIGINFO_SHARED */ : 0u, kPeekBatch};
    std::vector<unsigned char> buf(kPeekBatch * 128);
    for (;;) {
        long n = ::ptrace(PTRACE_PEEKSIGINFO, tid, &args, buf.data());
        if (n < 0) return Error::from_errno("PTRACE_PEEKSIGINFO thread " + std::to_string(tid));
        for (long i = 0; i < n; ++i) out->Add()->set_raw(buf.data() + i * 128, 128);
        if (n < kPeekBatch) return ok();
        args.off += uint64_t(n);
    }
}

Status collect_creds(const proc::TaskStatus &status, const parasite_task_state &ps, images::Creds *c) {
    c->set_uid(status.uid[0]); c->set_euid(status.uid[1]); c->set_suid(status.uid[2]); c->set_fsuid(status.uid[3]);
    c->set_gid(status.gid[0]); c->set_egid(status.gid[1]); c->set_sgid(status.gid[2]); c->set_fsgid(status.gid[3]);
    for (uint32_t g : status.groups) c->add_groups(g);
    c->set_cap_inh(status.cap_inheritable);
    c->set_cap_prm(status.cap_permitted);
    c->set_cap_eff(status.cap_effective);
    c->set_cap_bnd(status.cap_bounding);
    c->set_cap_amb(status.cap_ambient.value_or(0));
    if (ps.securebits < 0) return Error::from_errno("PR_GET_SECUREBITS", int(-ps.securebits));
    c->set_securebits(uint32_t(ps.securebits));
    c->set_no_new_privs(status.no_new_privs.value_or(false));
    return ok();
}

Status collect_timers(pid_t pid, parasite::Parasite &parasite, images::TaskCore *core) {
    STASIS_ASSIGN(auto timers, proc::read_timers(pid));
    if (timers.empty()) return ok();
    std::vector<int> ids;
    for (const auto &t : timers) ids.push_back(t.id);
    STASIS_ASSIGN(parasite_timers values, parasite.posix_timers(ids));
    for (size_t i = 0; i < timers.size(); ++i) {
        const auto &t = timers[i];
        auto *pt = core->add_posix_timers();
        pt->set_id(t.id);
        pt->set_clock_id(t.clock_id);
        int notify = t.notify == "signal" ? SIGEV_SIGNAL : t.notify == "thread" ? SIGEV_THREAD : SIGEV_NONE;
        if (t.notify_thread_id) notify |= SIGEV_THREAD_ID;
        pt->set_sigev_notify(notify);
        pt->set_sigev_signo(t.signal);
        pt->set_sigev_value(t.sigev_value);
        pt->set_notify_thread_id(t.notify_tid);
        pt->set_interval_ns(timespec_ns(values.interval[i]));
        pt->set_value_ns(timespec_ns(values.value[i]));
        pt->set_overrun(values.overrun[i]);
    }
    return ok();
}

Status collect_process(ptrace::FrozenProcess &proc, const parasite_task_state &ps, const proc::TaskStatus &status,
                       images::TaskCore *core) {
    pid_t pid = proc.pid;
    STASIS_ASSIGN(std::string comm, proc::read_comm(pid));
    core->set_comm(comm);
    STASIS_ASSIGN(std::string pers, proc::read_task_file(pid, 0, "personality"));
    core->set_personality(uint32_t(std::strtoul(pers.c_str(), nullptr, 16)));
    core->set_umask(status.umask.value_or(022));
    for (int sig = 1; sig <= PARASITE_MAX_SIGNALS; ++sig) {
        const auto &a = ps.sigactions[sig - 1];
        if (ps.sigaction_errors[sig - 1] < 0) continue;
        auto *out = core->add_sigactions();
        out->set_signo(uint32_t(sig));
        out->set_handler(a.handler);
        out->set_flags(a.flags);
        out->set_restorer(a.restorer);
        out->set_mask(a.mask);
    }
    images::Itimer *it[3] = {core->mutable_itimer_real(), core->mutable_itimer_virt(), core->mutable_itimer_prof()};
    for (int i = 0; i < 3; ++i) {
        it[i]->set_interval_ns(timeval_ns(ps.itimers[i].interval));
        it[i]->set_value_ns(timeval_ns(ps.itimers[i].value));
    }
    // /proc/PID/limits, not prlimit(2): reading another process's limits
    // through prlimit needs CAP_SYS_RESOURCE once its credentials differ.
    STASIS_ASSIGN(auto limits, proc::read_limits(pid));
    for (size_t res = 0; res < limits.size() && res < RLIM_NLIMITS; ++res) {
        auto *r = core->add_rlimits();
        r->set_resource(uint32_t(res));
        r->set_cur(limits[res].cur);
        r->set_max(limits[res].max);
    }
    STASIS_TRY(collect_creds(status, ps, core->mutable_creds()));
    STASIS_TRY(peek_pending(pid, true, core->mutable_shared_pending()));
    STASIS_ASSIGN(std::string cwd, proc::read_cwd(pid));
    STASIS_ASSIGN(std::string root, proc::read_root(pid));
    core->set_cwd(cwd);
    core->set_root(root);
    core->set_dumpable(uint32_t(ps.dumpable < 0 ? 0 : ps.dumpable));
    core->set_pdeath_sig(uint32_t(ps.pdeath_sig < 0 ? 0 : ps.pdeath_sig));
    core->set_child_subreaper(int32_t(ps.child_subreaper < 0 ? 0 : ps.child_subreaper));
    return ok();
}

// Scheduling state, per thread, from outside.
Status collect_sched(pid_t tid, const parasite_thread_state &ts, images::ThreadCore *tc) {
    errno = 0;
    int prio = ::getpriority(PRIO_PROCESS, id_t(tid));
    if (prio == -1 && errno) return Error::from_errno("getpriority thread " + std::to_string(tid));
    tc->set_nice(prio);
    int policy = ::sched_getscheduler(tid);
    if (policy < 0) return Error::from_errno("sched_getscheduler thread " + std::to_string(tid));
    struct sched_param sp {};
    if (::sched_getparam(tid, &sp) != 0) return Error::from_errno("sched_getparam thread " + std::to_string(tid));
    tc->set_sched_policy(policy);
    tc->set_sched_priority(sp.sched_priority);
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(tid, sizeof set, &set) != 0)
        return Error::from_errno("sched_getaffinity thread " + std::to_string(tid));
    tc->set_cpu_affinity(&set, sizeof set);
    tc->set_timer_slack_ns(ts.timer_slack_ns);
    return ok();
}

Result<images::ThreadCore> collect_thread(pid_t pid, ptrace::FrozenThread &t, parasite::Parasite &parasite) {
    images::ThreadCore tc;
    tc.set_tid(t.tid);
    arch::to_image(t.regs, tc.mutable_regs());
    tc.set_blocked(t.sigmask);
    STASIS_TRY(peek_pending(t.tid, false, tc.mutable_pending()));
    STASIS_ASSIGN(parasite_thread_state ts, parasite.thread_state(t.tid));
    tc.mutable_sigaltstack()->set_sp(ts.altstack_sp);
    tc.mutable_sigaltstack()->set_size(ts.altstack_size);
    tc.mutable_sigaltstack()->set_flags(ts.altstack_flags);
    tc.set_tid_address(ts.tid_address);
    void *head = nullptr;
    size_t len = 0;
    if (::syscall(SYS_get_robust_list, t.tid, &head, &len) != 0)
        return Error::from_errno("get_robust_list thread " + std::to_string(t.tid));
    tc.set_robust_list(uint64_t(uintptr_t(head)));
    tc.set_robust_list_len(len);
    struct stasis_ptrace_rseq_configuration rc {};
    long n = ::ptrace(__ptrace_request(PTRACE_GET_RSEQ_CONFIGURATION), t.tid, sizeof rc, &rc);
    if (n < 0 && errno != EIO && errno != EINVAL)
        return Error::from_errno("PTRACE_GET_RSEQ_CONFIGURATION thread " + std::to_string(t.tid));
    if (n > 0 && rc.rseq_abi_pointer) {
        tc.mutable_rseq()->set_ptr(rc.rseq_abi_pointer);
        tc.mutable_rseq()->set_len(rc.rseq_abi_size);
        tc.mutable_rseq()->set_signature(rc.signature);
        tc.mutable_rseq()->set_flags(rc.flags);
    }
    STASIS_ASSIGN(std::string comm, proc::read_comm(pid, t.tid));
    tc.set_comm(comm);
    STASIS_TRY(collect_sched(t.tid, ts, &tc));
    return tc;
}

void collect_mm(const proc::TaskStat &stat, const parasite_task_state &ps, images::MmHeader *mm) {
    mm->set_start_code(stat.start_code);
    mm->set_end_code(stat.end_code);
    mm->set_start_data(stat.start_data);
    mm->set_end_data(stat.end_data);
    mm->set_start_brk(stat.start_brk);
    mm->set_brk(ps.brk);
    mm->set_start_stack(stat.start_stack);
    mm->set_arg_start(stat.arg_start);
    mm->set_arg_end(stat.arg_end);
    mm->set_env_start(stat.env_start);
    mm->set_env_end(stat.env_end);
    mm->set_thp_disabled(uint64_t(ps.thp_disabled < 0 ? 0 : ps.thp_disabled));
}

}  // namespace

Result<TaskState> collect_task_state(ptrace::FrozenProcess &proc, parasite::Parasite &parasite,
                                     const proc::TaskStat &stat, const proc::TaskStatus &status) {
    TaskState s;
    std::string ctx = "process " + std::to_string(proc.pid);
    STASIS_ASSIGN(parasite_task_state ps, std::move(parasite.task_state()).context(ctx));
    STASIS_TRY(std::move(collect_process(proc, ps, status, &s.core)).context(ctx));
    STASIS_TRY(std::move(collect_timers(proc.pid, parasite, &s.core)).context(ctx));
    for (auto &t : proc.threads) {
        STASIS_ASSIGN(auto tc, std::move(collect_thread(proc.pid, t, parasite)).context(ctx));
        s.threads.push_back(std::move(tc));
    }
    collect_mm(stat, ps, &s.mm);
    STASIS_ASSIGN(auto auxv, proc::read_auxv(proc.pid));
    for (uint64_t w : auxv) s.mm.add_auxv(w);
    return s;
}

}  // namespace stasis::dump
