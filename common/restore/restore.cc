// `stasis restore`: read and check everything, clone the task with its
// original PID, let it set itself up, run the restorer, load registers, go.
// Any failure kills what was created; the images are only ever read.
#include "common/restore/restore.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "arch/arch.h"
#include "common/images/images.h"
#include "common/linux/uapi.h"
#include "common/ptrace/ptrace.h"
#include "common/restore/checks.h"
#include "common/restore/child.h"
#include "common/files/sysv_shm.h"
#include "common/restore/finish.h"
#include "common/util/fault.h"
#include "common/util/log.h"

namespace stasis::restore {
namespace {

// Kills the half-restored process on every path out, unless released.
class ChildGuard {
public:
    explicit ChildGuard(pid_t pid) : pid_(pid) {}
    ~ChildGuard() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        int status;
        ::waitpid(pid_, &status, __WALL);
    }
    void release() { pid_ = -1; }

private:
    pid_t pid_;
};

Result<pid_t> clone_with_pid(pid_t pid) {
    stasis_clone_args args{};
    std::memset(&args, 0, sizeof args);
    pid_t want[1] = {pid};
    args.exit_signal = SIGCHLD;
    args.set_tid = uint64_t(uintptr_t(want));
    args.set_tid_size = 1;
    long r = ::syscall(SYS_clone3, &args, sizeof args);
    if (r < 0) {
        int err = errno;
        if (err == EEXIST) return Error("PID " + std::to_string(pid) + " was taken just now by another process", err);
        if (err == EPERM) return Error("not allowed to choose PIDs (clone3 set_tid needs CAP_CHECKPOINT_RESTORE)", err);
        return Error::from_errno("clone3 with PID " + std::to_string(pid), err);
    }
    return pid_t(r);
}

Result<int> restore_tree(const RestoreOptions &opts) {
    if (opts.images_dir.empty()) return Error("no image directory: give -D DIR");
    uint32_t page_size = uint32_t(sysconf(_SC_PAGESIZE));
    images::ReadOptions ro;
    ro.expect_arch = arch::kImageArch;
    ro.expect_page_size = page_size;
    STASIS_ASSIGN(images::Checkpoint cp, images::read_checkpoint(opts.images_dir, ro));
    if (cp.tasks.size() != 1)
        return Error("the checkpoint holds " + std::to_string(cp.tasks.size()) +
                     " processes: restoring process trees is not supported yet");
    if (opts.lazy_pages) return Error("--lazy-pages restore is not supported yet");
    STASIS_TRY(check_privilege(opts.images_dir, cp));
    STASIS_TRY(std::move(arch::check_cpu_features(cp.inventory.cpu())).context("CPU check"));
    STASIS_TRY(check_vdso(cp));
    files::RestoreFileOptions fo;
    fo.images_dir = opts.images_dir;
    fo.page_size = page_size;
    fo.validation = opts.file_validation;
    fo.shell_job = opts.shell_job;
    STASIS_TRY(files::validate_files(cp.files, fo));
    STASIS_TRY(check_pids_free(cp));
    files::SysvSegments segments;
    STASIS_TRY(segments.prepare(cp, opts.images_dir, page_size));

    const auto &task = cp.tasks[0];
    pid_t pid = task.tree.pid();
    void *page = ::mmap(nullptr, sizeof(ChildControl), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) return Error::from_errno("map the control page");
    auto *control = new (page) ChildControl();

    STASIS_ASSIGN(pid_t child, clone_with_pid(pid));
    if (child == 0) {
        ChildArgs a{&cp, &task, &opts, fo, control};
        child_main(a);
    }
    ChildGuard guard(child);
    log::info("restoring process ", pid);
    STASIS_TRY(ptrace::seize(child, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL));
    control->seized.store(1);
    STASIS_TRY(fault::check("restore-after-fork"));
    STASIS_ASSIGN(ptrace::Stop s, ptrace::wait_stop(child, std::chrono::seconds(60)));
    if (s.kind != ptrace::Stop::Kind::signal || s.sig != SIGTRAP) {
        if (control->failed) return Error(control->error);
        return Error("the new process " + s.describe() + " while preparing");
    }
    STASIS_TRY(run_restorer(child, *control));
    STASIS_TRY(fault::check("restore-after-memory"));
    STASIS_TRY(resume_task(child, task, *control));
    guard.release();
    STASIS_TRY(segments.commit());
    ::munmap(page, sizeof(ChildControl));
    log::info("process ", pid, " restored");

    if (!opts.pidfile.empty()) {
        std::string text = std::to_string(pid) + "\n";
        int fd = ::open(opts.pidfile.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || ::write(fd, text.data(), text.size()) != ssize_t(text.size()))
            log::error("write pidfile ", opts.pidfile, ": ", std::strerror(errno));
        if (fd >= 0) ::close(fd);
    }
    if (opts.detach) return 0;
    int status = 0;
    while (::waitpid(child, &status, 0) < 0) {
        if (errno != EINTR) return Error::from_errno("wait for the restored process");
    }
    return status;
}

}  // namespace

Result<int> run(const RestoreOptions &opts) { return restore_tree(opts); }

}  // namespace stasis::restore
