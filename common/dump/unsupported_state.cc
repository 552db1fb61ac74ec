#include "common/dump/unsupported_state.h"

#include <sys/stat.h>

#include <string>

#include "common/proc/read_file.h"

namespace stasis::dump {

Status refuse_unsupported_state(pid_t pid, const proc::TaskStatus &status) {
    const std::string who = "process " + std::to_string(pid);
    if (status.seccomp && *status.seccomp == 1)
        return Error(who + " runs in seccomp strict mode: it cannot be checkpointed");
    if (status.seccomp && *status.seccomp == 2)
        return Error(who + " runs under a seccomp filter: restoring seccomp filters is not built yet "
                           "(the restored process would run without its filter)");
    for (const char *ns : {"mnt", "pid", "net", "ipc", "uts", "user", "cgroup", "time"}) {
        struct stat mine {}, theirs {};
        std::string own = std::string("/proc/self/ns/") + ns;
        if (::stat(own.c_str(), &mine) != 0) continue;  // this kernel has no such namespace
        std::string path = proc::proc_path(pid, std::string("ns/") + ns);
        if (::stat(path.c_str(), &theirs) != 0) return Error::from_errno("stat " + path);
        if (mine.st_ino != theirs.st_ino || mine.st_dev != theirs.st_dev)
            return Error(who + " is in another " + ns + " namespace than stasis: namespaces are not supported yet");
    }
    return ok();
}

}  // namespace stasis::dump
