// Internals of `stasis check`: the probe table and what probes share.
#pragma once

#include <sys/types.h>

#include <cerrno>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/check/check.h"
#include "common/check/tracee.h"

namespace stasis::check {

struct ProbeOutcome {
    Outcome outcome;
    std::string detail;
};

inline ProbeOutcome passed(std::string detail) { return {Outcome::ok, std::move(detail)}; }
inline ProbeOutcome warned(std::string detail) { return {Outcome::warn, std::move(detail)}; }
inline ProbeOutcome missing(std::string detail) { return {Outcome::missing, std::move(detail)}; }
// "what: strerror(err)" as a missing outcome.
ProbeOutcome missing_errno(std::string_view what, int err = errno);

// What probes share within one `stasis check` run: the seized child is
// started once, on first use, and the vDSO is inspected once.
class ProbeContext {
  public:
    ProbeContext();
    // Forks and seizes the child without waiting for it to stop, so that the
    // wait overlaps with other probes (a loaded machine may take
    // milliseconds to schedule a new child). Optional: tracee() does it too.
    void start_tracee();
    // The seized, stopped child; an Error when it could not be started or seized.
    Result<Tracee *> tracee();
    const VdsoReport &vdso();
    size_t page_size() const { return page_size_; }

  private:
    size_t page_size_;
    std::unique_ptr<Tracee> tracee_;
    bool tracee_stopped_ = false;
    std::optional<Error> tracee_error_;
    std::optional<VdsoReport> vdso_;
};

using ProbeFn = ProbeOutcome (*)(ProbeContext &);

// Whether checkpoint/restore can work without the feature.
enum class Need : bool { optional, required };
// What a probe works on: this process, or the seized child (those probes run
// after the others, once the child has had time to stop).
enum class Subject : bool { self, child };

struct ProbeSpec {
    const char *name;
    Need need;
    const char *needed_for;
    ProbeFn run;
    Subject subject;
};

// Every probe, in report order (check.cc).
std::span<const ProbeSpec> probe_table();

// vdso_layout.cc: this process's special mappings and [vdso] symbols.
VdsoReport inspect_own_vdso();

// probes_ptrace.cc: everything done to another task.
ProbeOutcome probe_ptrace_seize(ProbeContext &ctx);
ProbeOutcome probe_ptrace_regsets(ProbeContext &ctx);
ProbeOutcome probe_ptrace_peeksiginfo(ProbeContext &ctx);
ProbeOutcome probe_ptrace_rseq(ProbeContext &ctx);
ProbeOutcome probe_process_vm(ProbeContext &ctx);
ProbeOutcome probe_proc_pagemap(ProbeContext &ctx);
ProbeOutcome probe_pagemap_pfn(ProbeContext &ctx);
ProbeOutcome probe_proc_map_files(ProbeContext &ctx);
ProbeOutcome probe_kcmp(ProbeContext &ctx);
ProbeOutcome probe_pidfd(ProbeContext &ctx);

// probes_tasks.cc: creating and shaping tasks for restore.
ProbeOutcome probe_clone3_set_tid(ProbeContext &ctx);
ProbeOutcome probe_prctl_mm_map(ProbeContext &ctx);
ProbeOutcome probe_time_namespace(ProbeContext &ctx);
ProbeOutcome probe_timer_restore_ids(ProbeContext &ctx);
ProbeOutcome probe_membarrier(ProbeContext &ctx);
ProbeOutcome probe_memfd(ProbeContext &ctx);
ProbeOutcome probe_vdso(ProbeContext &ctx);

// probes_files.cc: file kinds described through the kernel.
ProbeOutcome probe_unix_diag(ProbeContext &ctx);

// probes_memory.cc: userfaultfd and dirty-page tracking.
ProbeOutcome probe_userfaultfd(ProbeContext &ctx);
ProbeOutcome probe_pagemap_scan(ProbeContext &ctx);
ProbeOutcome probe_uffd_wp_async(ProbeContext &ctx);
ProbeOutcome probe_soft_dirty(ProbeContext &ctx);
ProbeOutcome probe_procmap_query(ProbeContext &ctx);

}  // namespace stasis::check
