// Probes of what the dump does to another task: seize it, read its registers,
// signals, rseq, memory and files. All work on one seized child
// (ProbeContext::tracee()).
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "common/check/probe.h"
#include "common/linux/uapi.h"
#include "common/util/log.h"
#include "stasis_syscalls.h"

namespace stasis::check {
namespace {

using log::cat;
using log::hex;

// Runs `body` on the seized child, or reports why there is none.
template <typename Body>
ProbeOutcome with_tracee(ProbeContext &ctx, Body body) {
    auto t = ctx.tracee();
    if (!t.ok()) return missing(t.error().message());
    return body(**t);
}

class Fd {
  public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) close(fd_);
    }
    Fd(const Fd &) = delete;
    Fd &operator=(const Fd &) = delete;
    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }

  private:
    int fd_;
};

// The pagemap entry of the child's page holding the marker.
Result<uint64_t> marker_pagemap_entry(ProbeContext &ctx, const Tracee &t) {
    Fd pagemap(open(cat("/proc/", t.pid(), "/pagemap").c_str(), O_RDONLY | O_CLOEXEC));
    if (!pagemap.valid()) return Error::from_errno("open /proc/PID/pagemap");
    uint64_t entry = 0;
    const off_t at = off_t(t.marker_address() / ctx.page_size() * sizeof entry);
    if (pread(pagemap.get(), &entry, sizeof entry, at) != ssize_t(sizeof entry))
        return Error::from_errno("read /proc/PID/pagemap");
    return entry;
}

}  // namespace

ProbeOutcome probe_ptrace_seize(ProbeContext &ctx) {
    return with_tracee(ctx, [](Tracee &t) {
        return passed(cat("seized child ", t.pid(), " and stopped it with PTRACE_INTERRUPT"));
    });
}

ProbeOutcome probe_ptrace_regsets(ProbeContext &ctx) {
    return with_tracee(ctx, [](Tracee &t) {
        std::array<uint8_t, 4096> buffer{};
        iovec iov{buffer.data(), buffer.size()};
        if (ptrace(PTRACE_GETREGSET, t.pid(), NT_PRSTATUS, &iov) != 0)
            return missing_errno("PTRACE_GETREGSET NT_PRSTATUS");
        const size_t gp = iov.iov_len;
        iov = {buffer.data(), buffer.size()};
        if (ptrace(PTRACE_GETREGSET, t.pid(), NT_PRFPREG, &iov) != 0)
            return passed(cat("NT_PRSTATUS ", gp, " bytes; NT_PRFPREG unavailable: ", std::strerror(errno)));
        return passed(cat("NT_PRSTATUS ", gp, " bytes, NT_PRFPREG ", iov.iov_len, " bytes"));
    });
}

ProbeOutcome probe_ptrace_peeksiginfo(ProbeContext &ctx) {
    return with_tracee(ctx, [](Tracee &t) {
        struct {
            uint64_t off;
            uint32_t flags;
            int32_t nr;
        } args{0, 0, 1};
        siginfo_t info{};
        long n = ptrace(PTRACE_PEEKSIGINFO, t.pid(), &args, &info);
        if (n < 0) return missing_errno("PTRACE_PEEKSIGINFO");
        return passed(cat(n, " pending signal(s) read from the child's queue"));
    });
}

ProbeOutcome probe_ptrace_rseq(ProbeContext &ctx) {
    return with_tracee(ctx, [](Tracee &t) {
        stasis_ptrace_rseq_configuration conf{};
        long n = ptrace(static_cast<__ptrace_request>(PTRACE_GET_RSEQ_CONFIGURATION), t.pid(),
                        reinterpret_cast<void *>(sizeof conf), &conf);
        if (n < 0) return missing_errno("PTRACE_GET_RSEQ_CONFIGURATION");
        if (conf.rseq_abi_pointer == 0)
            return passed("works; the child has no rseq area (libc did not register one)");
        return passed(cat("child's rseq area at ", hex(conf.rseq_abi_pointer), ", ", conf.rseq_abi_size,
                          " bytes, signature ", hex(conf.signature)));
    });
}

ProbeOutcome probe_process_vm(ProbeContext &ctx) {
    return with_tracee(ctx, [](Tracee &t) {
        uint64_t value = 0;
        iovec local{&value, sizeof value};
        iovec remote{reinterpret_cast<void *>(t.marker_address()), sizeof value};
        if (syscall(sys::process_vm_readv, t.pid(), &local, 1, &remote, 1, 0) != ssize_t(sizeof value))
            return missing_errno("process_vm_readv");
        if (value != t.marker_value())
            return missing(cat("process_vm_readv read ", hex(value), ", expected ", hex(t.marker_value())));
        uint64_t written = ~value;
        local = {&written, sizeof written};
        if (syscall(sys::process_vm_writev, t.pid(), &local, 1, &remote, 1, 0) != ssize_t(sizeof written))
            return missing_errno("process_vm_writev");
        local = {&value, sizeof value};
        if (syscall(sys::process_vm_readv, t.pid(), &local, 1, &remote, 1, 0) != ssize_t(sizeof value) ||
            value != written)
            return missing("process_vm_writev did not change the child's memory");
        return passed("read and wrote the child's memory");
    });
}

ProbeOutcome probe_proc_pagemap(ProbeContext &ctx) {
    return with_tracee(ctx, [&ctx](Tracee &t) {
        auto entry = marker_pagemap_entry(ctx, t);
        if (!entry.ok()) return missing(entry.error().message());
        if (!(*entry & STASIS_PM_PRESENT)) return missing("a page the child wrote is not reported present");
        return passed("present pages are reported");
    });
}

ProbeOutcome probe_pagemap_pfn(ProbeContext &ctx) {
    return with_tracee(ctx, [&ctx](Tracee &t) {
        auto entry = marker_pagemap_entry(ctx, t);
        if (!entry.ok()) return missing(entry.error().message());
        // PFNs read as zero without CAP_SYS_ADMIN (4.2, after Rowhammer).
        if ((*entry & STASIS_PM_PFN_MASK) == 0)
            return warned("PFNs read as zero (needs CAP_SYS_ADMIN); shared pages are copied twice");
        return passed("page frame numbers are visible");
    });
}

ProbeOutcome probe_proc_map_files(ProbeContext &ctx) {
    return with_tracee(ctx, [](Tracee &t) {
        std::ifstream maps(cat("/proc/", t.pid(), "/maps"));
        std::string line;
        while (std::getline(maps, line)) {
            const size_t slash = line.find('/');
            if (slash == std::string::npos) continue;
            // map_files names carry no leading zeros, which maps prints
            // (00400000-... for a binary linked at 0x400000).
            unsigned long long start = 0, end = 0;
            if (std::sscanf(line.c_str(), "%llx-%llx", &start, &end) != 2) continue;
            char range[64];
            std::snprintf(range, sizeof range, "%llx-%llx", start, end);
            const std::string path = cat("/proc/", t.pid(), "/map_files/", range);
            Fd file(open(path.c_str(), O_RDONLY | O_CLOEXEC));
            if (!file.valid()) return missing_errno(cat("open ", path));
            struct stat st {};
            if (fstat(file.get(), &st) != 0) return missing_errno(cat("fstat ", path));
            return passed(cat("opened a mapped file through map_files (", line.substr(slash), ")"));
        }
        return missing("the child has no file mapping to open");
    });
}

ProbeOutcome probe_kcmp(ProbeContext &ctx) {
    return with_tracee(ctx, [](Tracee &t) {
        constexpr int kKcmpFile = 0, kKcmpVm = 1;  // linux/kcmp.h
        long same_vm = syscall(sys::kcmp, getpid(), getpid(), kKcmpVm, 0, 0);
        long other_vm = syscall(sys::kcmp, getpid(), t.pid(), kKcmpVm, 0, 0);
        if (same_vm < 0 || other_vm < 0) return missing_errno("kcmp KCMP_VM");
        if (same_vm != 0 || other_vm == 0) return missing("kcmp KCMP_VM gave wrong answers");
        // fork() shared the ready pipe's open file description between us
        // and the child under the same number: kcmp must call it one file.
        long file = syscall(sys::kcmp, getpid(), t.pid(), kKcmpFile, t.child_fd(), t.child_fd());
        if (file < 0) return missing_errno("kcmp KCMP_FILE");
        if (file != 0) return missing("kcmp KCMP_FILE does not see a file shared by fork as one");
        return passed("tells shared address spaces and open files apart");
    });
}

ProbeOutcome probe_pidfd(ProbeContext &ctx) {
    return with_tracee(ctx, [](Tracee &t) {
        Fd pidfd(int(syscall(sys::pidfd_open, t.pid(), 0)));
        if (!pidfd.valid()) return missing_errno("pidfd_open (5.3)");
        // fd 0..2 may be closed in `stasis check`; the child's end of the
        // ready pipe is known to be open in it (O_CLOEXEC acts only on exec).
        Fd copy(int(syscall(sys::pidfd_getfd, pidfd.get(), t.child_fd(), 0)));
        if (!copy.valid()) return missing_errno("pidfd_getfd (5.6)");
        return passed("pidfd_open and pidfd_getfd copied a descriptor out of the child");
    });
}

}  // namespace stasis::check
