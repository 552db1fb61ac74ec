#include "common/restore/spawn.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/linux/uapi.h"

namespace stasis::restore {

Result<pid_t> clone_with_pid(pid_t pid) {
    stasis_clone_args args;
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

}  // namespace stasis::restore
