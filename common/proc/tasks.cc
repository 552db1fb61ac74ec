#include "common/proc/tasks.h"

#include <dirent.h>

#include <algorithm>
#include <cerrno>

#include "common/proc/read_file.h"
#include "common/proc/text.h"

namespace stasis::proc {

Result<std::vector<pid_t>> parse_pid_list(std::string_view text) {
    std::vector<pid_t> pids;
    size_t i = 0;
    while (i < text.size()) {
        if (text::is_blank(text[i]) || text[i] == '\n') {
            ++i;
            continue;
        }
        size_t begin = i;
        while (i < text.size() && !text::is_blank(text[i]) && text[i] != '\n') ++i;
        std::string_view token = text.substr(begin, i - begin);
        pid_t pid = 0;
        if (!text::parse_int(token, pid) || pid <= 0) return Error("bad pid " + text::quote(token), EINVAL);
        pids.push_back(pid);
    }
    return pids;
}

Result<std::vector<pid_t>> list_threads(pid_t pid) {
    std::string path = proc_path(pid, "task");
    DIR *dir = ::opendir(path.c_str());
    if (!dir) return task_file_error(pid, 0, path, "opendir", errno);
    std::vector<pid_t> tids;
    Status status;
    for (;;) {
        errno = 0;
        struct dirent *entry = ::readdir(dir);
        if (!entry) {
            if (errno) status = task_file_error(pid, 0, path, "readdir", errno);
            break;
        }
        std::string_view name = entry->d_name;
        if (name == "." || name == "..") continue;
        pid_t tid = 0;
        if (!text::parse_int(name, tid) || tid <= 0) {
            status = Error("unexpected entry " + text::quote(name), EINVAL).context(path);
            break;
        }
        tids.push_back(tid);
    }
    ::closedir(dir);
    if (!status.ok()) return std::move(status).error();
    // An exited process whose directory is still open reads as empty.
    if (tids.empty()) return task_file_error(pid, 0, path, "readdir", ESRCH);
    std::sort(tids.begin(), tids.end());
    return tids;
}

Result<std::vector<pid_t>> list_children(pid_t pid) {
    STASIS_ASSIGN(std::vector<pid_t> tids, list_threads(pid));
    std::vector<pid_t> children;
    std::string buf;
    for (pid_t tid : tids) {
        Status read = read_task_file_into(pid, tid, "children", buf);
        if (!read.ok()) {
            if (is_task_gone(read.error()) && tid != pid) continue;  // that thread exited meanwhile
            return std::move(read).error();
        }
        STASIS_ASSIGN(std::vector<pid_t> some,
                      std::move(parse_pid_list(buf)).context(task_path(pid, tid, "children")));
        children.insert(children.end(), some.begin(), some.end());
    }
    std::sort(children.begin(), children.end());
    children.erase(std::unique(children.begin(), children.end()), children.end());
    return children;
}

}  // namespace stasis::proc
