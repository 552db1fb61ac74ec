#include "common/check/check.h"

#include <time.h>
#include <unistd.h>

#include <cstring>

#include "common/check/probe.h"
#include "common/util/log.h"

namespace stasis::check {
namespace {

// Every probe, in report order. Without a Need::required feature
// checkpoint/restore cannot work; an optional one degrades what needed_for
// names.
constexpr ProbeSpec kProbes[] = {
    {"ptrace-seize", Need::required,
     "freezing tasks without a signal they could see (PTRACE_SEIZE, PTRACE_INTERRUPT)", probe_ptrace_seize,
     Subject::child},
    {"ptrace-regsets", Need::required, "saving and restoring registers (PTRACE_GETREGSET)",
     probe_ptrace_regsets, Subject::child},
    {"ptrace-peeksiginfo", Need::required, "saving queued signals (PTRACE_PEEKSIGINFO)",
     probe_ptrace_peeksiginfo, Subject::child},
    {"ptrace-rseq", Need::required,
     "saving restartable-sequence registrations (PTRACE_GET_RSEQ_CONFIGURATION, 5.13)", probe_ptrace_rseq,
     Subject::child},
    {"process-vm", Need::required, "copying memory out of and into tasks (process_vm_readv/writev)",
     probe_process_vm, Subject::child},
    {"proc-pagemap", Need::required, "finding the pages that exist (/proc/PID/pagemap)", probe_proc_pagemap,
     Subject::child},
    {"pagemap-pfn", Need::optional, "recognising pages shared copy-on-write between tasks (PFNs in pagemap)",
     probe_pagemap_pfn, Subject::child},
    {"proc-map-files", Need::required, "opening mapped files, deleted ones too (/proc/PID/map_files)",
     probe_proc_map_files, Subject::child},
    {"kcmp", Need::required, "finding files, memory and tables that tasks share (kcmp)", probe_kcmp,
     Subject::child},
    {"pidfd", Need::required, "copying file descriptors out of tasks (pidfd_open, pidfd_getfd, 5.6)",
     probe_pidfd, Subject::child},
    {"clone3-set-tid", Need::required, "restoring tasks with their original PIDs (clone3 set_tid, 5.5)",
     probe_clone3_set_tid, Subject::self},
    {"prctl-mm-map", Need::required,
     "restoring brk, arguments, environment, auxv and exe link (PR_SET_MM_MAP)", probe_prctl_mm_map,
     Subject::self},
    {"memfd", Need::required, "restoring shared anonymous memory and memfd files (memfd_create)", probe_memfd,
     Subject::self},
    {"unix-diag", Need::optional, "checkpointing unix sockets (NETLINK_SOCK_DIAG for AF_UNIX, CONFIG_UNIX_DIAG)",
     probe_unix_diag, Subject::self},
    {"time-namespace", Need::optional,
     "keeping CLOCK_MONOTONIC and CLOCK_BOOTTIME continuous across hosts (5.6)", probe_time_namespace,
     Subject::self},
    {"timer-restore-ids", Need::optional, "recreating POSIX timers with their IDs in one call (6.15)",
     probe_timer_restore_ids, Subject::self},
    {"membarrier", Need::optional, "restoring membarrier registrations", probe_membarrier, Subject::self},
    {"userfaultfd", Need::optional, "lazy restore: pages filled on first touch (--lazy-pages)",
     probe_userfaultfd, Subject::self},
    {"pagemap-scan", Need::optional,
     "finding page categories without reading every pagemap entry (PAGEMAP_SCAN, 6.7)", probe_pagemap_scan,
     Subject::self},
    {"uffd-wp-async", Need::optional,
     "pre-dump dirty tracking, best method (userfaultfd async write-protect, 6.7)", probe_uffd_wp_async,
     Subject::self},
    {"soft-dirty", Need::optional, "pre-dump dirty tracking, fallback (soft-dirty bits)", probe_soft_dirty,
     Subject::self},
    {"procmap-query", Need::optional, "listing VMAs without parsing text (PROCMAP_QUERY, 6.11)",
     probe_procmap_query, Subject::self},
    {"vdso", Need::optional, "restoring the vDSO in place or through a proxy", probe_vdso, Subject::self},
};

double now_ms() {
    timespec t{};
    clock_gettime(CLOCK_MONOTONIC, &t);
    return double(t.tv_sec) * 1e3 + double(t.tv_nsec) / 1e6;
}

FeatureResult run_probe(const ProbeSpec &spec, ProbeContext &ctx) {
    const double start = now_ms();
    ProbeOutcome o = spec.run(ctx);
    log::debug("check: ", spec.name, ": ", outcome_name(o.outcome), " in ", int((now_ms() - start) * 1000),
               " us: ", o.detail);
    return FeatureResult{spec.name, o.outcome, spec.need == Need::required, spec.needed_for,
                         std::move(o.detail)};
}

DirtyTracking choose_dirty_tracking(const std::vector<FeatureResult> &features) {
    auto works = [&](std::string_view name) {
        for (const auto &f : features)
            if (f.name == name) return f.outcome == Outcome::ok;
        return false;
    };
    if (works("uffd-wp-async")) return DirtyTracking::uffd_wp_async;
    if (works("soft-dirty")) return DirtyTracking::soft_dirty;
    return DirtyTracking::content;
}

}  // namespace

ProbeOutcome missing_errno(std::string_view what, int err) {
    return missing(log::cat(what, ": ", std::strerror(err)));
}

ProbeContext::ProbeContext() : page_size_(size_t(sysconf(_SC_PAGESIZE))) {}

void ProbeContext::start_tracee() {
    if (tracee_ || tracee_error_) return;
    auto started = Tracee::start();
    if (!started.ok()) {
        tracee_error_ = std::move(started).error().context("starting a child to probe");
        return;
    }
    tracee_ = std::move(*started);
    if (auto st = tracee_->seize_and_interrupt(); !st.ok())
        tracee_error_ = std::move(st).error().context("seizing a child");
}

Result<Tracee *> ProbeContext::tracee() {
    start_tracee();
    if (tracee_error_) return *tracee_error_;
    if (!tracee_stopped_) {
        if (auto st = tracee_->wait_for_stop(); !st.ok()) {
            tracee_error_ = std::move(st).error().context("stopping a seized child");
            return *tracee_error_;
        }
        tracee_stopped_ = true;
    }
    return tracee_.get();
}

const VdsoReport &ProbeContext::vdso() {
    if (!vdso_) vdso_ = inspect_own_vdso();
    return *vdso_;
}

std::span<const ProbeSpec> probe_table() { return kProbes; }

const char *outcome_name(Outcome o) {
    switch (o) {
        case Outcome::ok:
            return "ok";
        case Outcome::warn:
            return "warn";
        case Outcome::missing:
            return "missing";
    }
    return "?";
}

const char *dirty_tracking_name(DirtyTracking d) {
    switch (d) {
        case DirtyTracking::uffd_wp_async:
            return "uffd-wp";
        case DirtyTracking::soft_dirty:
            return "soft-dirty";
        case DirtyTracking::content:
            return "content";
    }
    return "?";
}

const FeatureResult *Report::first_missing_required() const {
    for (const auto &f : features)
        if (f.required && f.outcome == Outcome::missing) return &f;
    return nullptr;
}

Report run_all() {
    const double start = now_ms();
    Report report;
    {
        ProbeContext ctx;
        report.page_size = ctx.page_size();
        ctx.start_tracee();
        log::debug("check: probe child forked and seized at ", int((now_ms() - start) * 1000), " us");
        // Probes that need the seized child run last, so that it stops
        // while the others work; the report keeps the table's order.
        report.features.resize(std::size(kProbes));
        for (Subject phase : {Subject::self, Subject::child})
            for (size_t i = 0; i < std::size(kProbes); i++)
                if (kProbes[i].subject == phase) report.features[i] = run_probe(kProbes[i], ctx);
        report.vdso = ctx.vdso();
        log::debug("check: probes done at ", int((now_ms() - start) * 1000), " us");
    }  // the probed child is killed and reaped here, inside the measured time
    report.dirty_tracking = choose_dirty_tracking(report.features);
    report.elapsed_ms = now_ms() - start;
    return report;
}

Result<FeatureResult> run_one(std::string_view name) {
    for (const auto &spec : kProbes) {
        if (name != spec.name) continue;
        ProbeContext ctx;
        return run_probe(spec, ctx);
    }
    std::string known;
    for (const auto &spec : kProbes) known += log::cat(known.empty() ? "" : ", ", spec.name);
    return Error(log::cat("unknown feature '", name, "' (known: ", known, ")"));
}

std::vector<std::string> feature_names() {
    std::vector<std::string> names;
    for (const auto &spec : kProbes) names.emplace_back(spec.name);
    return names;
}

}  // namespace stasis::check
