// Probes of what the restore needs to rebuild tasks: chosen PIDs, mm fields,
// time namespaces, timer IDs, memfd, and the vDSO of this kernel.
#include <fcntl.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "common/check/probe.h"
#include "common/linux/uapi.h"
#include "common/util/log.h"
#include "stasis_syscalls.h"

namespace stasis::check {
namespace {

using log::cat;

long read_proc_number(const char *path, long fallback) {
    std::ifstream in(path);
    long v = fallback;
    if (!(in >> v)) return fallback;
    return v;
}

// A PID that is free right now, near the allocator's cursor but ahead of it,
// so that the next fork elsewhere is unlikely to take it first.
pid_t pick_free_pid(int attempt) {
    const long pid_max = read_proc_number("/proc/sys/kernel/pid_max", 32768);
    const long last = read_proc_number("/proc/sys/kernel/ns_last_pid", 1000);
    long candidate = last + 200 + attempt * 37;
    for (int i = 0; i < 1000; i++, candidate++) {
        if (candidate >= pid_max) candidate = 300;  // the kernel's RESERVED_PIDS
        if (kill(pid_t(candidate), 0) != 0 && errno == ESRCH) return pid_t(candidate);
    }
    return 0;
}

// clone3() with set_tid = {pid}; returns the child's PID in the parent, and
// exits at once in the child (which must touch nothing of ours: a raw clone
// leaves libc's cached thread state stale).
long clone_with_pid(pid_t pid) {
    stasis_clone_args args{};
    args.exit_signal = SIGCHLD;
    args.set_tid = uint64_t(reinterpret_cast<uintptr_t>(&pid));
    args.set_tid_size = 1;
    long r = syscall(sys::clone3, &args, CLONE_ARGS_SIZE_VER1);
    if (r == 0) syscall(sys::exit_group, 0);
    return r;
}

ProbeOutcome explain_clone3_failure(int err) {
    switch (err) {
        case ENOSYS:
            return missing("clone3() does not exist (5.3)");
        case EPERM:
            return missing(
                "set_tid needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE in the PID namespace's owner");
        case E2BIG:
        case EINVAL:
            return missing(cat("clone3() refuses set_tid (5.5): ", std::strerror(err)));
        default:
            return missing_errno("clone3 with set_tid", err);
    }
}

}  // namespace

ProbeOutcome probe_clone3_set_tid(ProbeContext &) {
    for (int attempt = 0; attempt < 8; attempt++) {
        const pid_t want = pick_free_pid(attempt);
        if (want == 0) return missing("found no free PID to ask for");
        const long got = clone_with_pid(want);
        if (got < 0 && errno == EEXIST) continue;  // someone took it meanwhile
        if (got < 0) return explain_clone3_failure(errno);
        int status = 0;
        while (waitpid(pid_t(got), &status, 0) < 0 && errno == EINTR) {
        }
        if (got != want) return missing(cat("asked clone3() for PID ", want, ", got ", got));
        return passed(cat("created a child with the chosen PID ", want));
    }
    return missing("every chosen PID was taken before clone3() could use it");
}

ProbeOutcome probe_prctl_mm_map(ProbeContext &) {
    unsigned int size = 0;
    if (prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, &size, 0, 0) != 0)
        return missing_errno("prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE) (needs CONFIG_CHECKPOINT_RESTORE)");
    if (size != sizeof(stasis_prctl_mm_map))
        return missing(cat("kernel's struct prctl_mm_map is ", size, " bytes, stasis knows ",
                           sizeof(stasis_prctl_mm_map)));
    return passed(cat("struct prctl_mm_map of ", size, " bytes"));
}

// unshare(CLONE_NEWTIME) in a throw-away child: it only affects that child's
// future children, but nothing of `stasis check` should change.
ProbeOutcome probe_time_namespace(ProbeContext &) {
    pid_t pid = fork();
    if (pid < 0) return missing_errno("fork");
    if (pid == 0) _exit(unshare(CLONE_NEWTIME) == 0 ? 0 : (errno & 0xff));
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status)) return missing("the probing child died");
    if (WEXITSTATUS(status) != 0)
        return missing_errno("unshare(CLONE_NEWTIME) (5.6, CONFIG_TIME_NS)", WEXITSTATUS(status));
    return passed("created a time namespace");
}

ProbeOutcome probe_timer_restore_ids(ProbeContext &) {
    long mode = prctl(PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_GET, 0, 0, 0);
    if (mode < 0)
        return missing(
            "PR_TIMER_CREATE_RESTORE_IDS unknown (6.15): timer IDs are restored by creating timers in order");
    return passed("timer_create() can be given the timer ID");
}

ProbeOutcome probe_membarrier(ProbeContext &) {
    long commands = syscall(sys::membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (commands < 0) return missing_errno("membarrier(MEMBARRIER_CMD_QUERY)");
    return passed(cat("commands ", log::hex(uint64_t(commands))));
}

ProbeOutcome probe_memfd(ProbeContext &) {
    int fd = int(syscall(sys::memfd_create, "stasis-check", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (fd < 0) return missing_errno("memfd_create");
    close(fd);
    fd = int(syscall(sys::memfd_create, "stasis-check", MFD_CLOEXEC | MFD_NOEXEC_SEAL));
    if (fd < 0) return passed("memfd_create works; MFD_NOEXEC_SEAL (6.3) is not known");
    close(fd);
    return passed("memfd_create works, with MFD_NOEXEC_SEAL (6.3)");
}

ProbeOutcome probe_vdso(ProbeContext &ctx) {
    const VdsoReport &v = ctx.vdso();
    if (!v.unknown.empty()) {
        std::string names;
        for (const auto &n : v.unknown) names += (names.empty() ? "" : ", ") + n;
        return warned(cat("unknown special mapping(s) ", names, ": tasks that have them cannot be dumped"));
    }
    if (!v.error.empty()) return warned(v.error);
    if (!v.elf) return passed("this process has no vDSO (booted with vdso=0?)");
    return passed(cat("[vdso] parsed: ", v.elf->symbols.size(), " symbols",
                      v.elf->build_id.empty() ? "" : ", build-id " + v.elf->build_id));
}

}  // namespace stasis::check
