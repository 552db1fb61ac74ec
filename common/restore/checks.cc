#include "common/restore/checks.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "common/proc/maps.h"
#include "common/proc/misc.h"
#include "common/proc/status.h"
#include "common/restore/vdso_restore.h"
#include "common/util/log.h"
#include "vdso/layout.h"

namespace stasis::restore {

Status check_privilege(const std::string &images_dir, const images::Checkpoint &cp) {
    struct stat st {};
    std::string inv = images_dir + "/inventory.img";
    if (::stat(inv.c_str(), &st) != 0) return Error::from_errno(inv);
    uid_t owner = st.st_uid;
    if (owner == 0) return ok();
    for (const auto &t : cp.tasks) {
        const auto &c = t.core.creds();
        for (uint32_t id : {c.uid(), c.euid(), c.suid(), c.fsuid()})
            if (id != owner)
                return Error("the images belong to uid " + std::to_string(owner) + " but process " +
                             std::to_string(t.tree.pid()) + " ran as uid " + std::to_string(id) +
                             ": stasis never grants more privilege than the images' owner had");
        if (c.cap_prm() || c.cap_eff() || c.cap_amb())
            return Error("the images belong to uid " + std::to_string(owner) + " but process " +
                         std::to_string(t.tree.pid()) + " held capabilities: refusing to grant them");
    }
    if (::geteuid() != 0 && ::geteuid() != owner)
        return Error("the images belong to uid " + std::to_string(owner) + ", not to you");
    return ok();
}

namespace {

std::string who_holds(pid_t id) {
    // A thread id belongs to the process named by its Tgid.
    auto st = proc::read_status(id);
    if (!st.ok()) return "process " + std::to_string(id);
    std::string s = "process '" + st->name + "' (PID " + std::to_string(st->tgid) + ")";
    return s;
}

}  // namespace

Status check_pid_free(pid_t id, const std::string &purpose) {
    if (::kill(id, 0) == 0 || errno == EPERM)
        return Error("PID " + std::to_string(id) + " is already taken by " + who_holds(id) + "; it must be free to " +
                     purpose);
    return ok();
}

Status check_pids_free(const images::Checkpoint &cp) {
    for (const auto &t : cp.tasks) {
        std::vector<int32_t> ids(t.tree.threads().begin(), t.tree.threads().end());
        ids.push_back(t.tree.pid());
        for (int32_t id : ids) STASIS_TRY(check_pid_free(id, "restore process " + std::to_string(t.tree.pid())));
    }
    return ok();
}

Status check_vdso(const images::Checkpoint &cp) {
    STASIS_ASSIGN(auto lines, explain_vdso(cp));
    for (const auto &l : lines) log::info(l);
    return ok();
}

}  // namespace stasis::restore
