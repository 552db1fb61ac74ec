#include "common/proc/misc.h"

#include <cstring>

#include "common/proc/read_file.h"

namespace stasis::proc {
namespace {

uint64_t load_word(const char *p, size_t word_size) {
    if (word_size == sizeof(uint32_t)) {
        uint32_t v;
        std::memcpy(&v, p, sizeof(v));
        return v;
    }
    uint64_t v;
    std::memcpy(&v, p, sizeof(v));
    return v;
}

Result<std::string> read_task_link(pid_t pid, std::string_view leaf) {
    std::string path = proc_path(pid, leaf);
    auto target = read_link(path);
    if (!target.ok()) return task_file_error(pid, 0, path, "readlink", target.error().sys_errno());
    return target;
}

}  // namespace

Result<std::vector<uint64_t>> parse_auxv(std::string_view bytes, size_t word_size) {
    if (word_size != sizeof(uint32_t) && word_size != sizeof(uint64_t)) {
        return Error("unsupported auxv word size " + std::to_string(word_size), EINVAL);
    }
    size_t pair_size = 2 * word_size;
    std::vector<uint64_t> out;
    for (size_t at = 0; at + pair_size <= bytes.size(); at += pair_size) {
        uint64_t type = load_word(bytes.data() + at, word_size);
        uint64_t value = load_word(bytes.data() + at + word_size, word_size);
        out.push_back(type);
        out.push_back(value);
        if (type == 0) return out;  // AT_NULL ends the vector
    }
    if (bytes.size() % pair_size) {
        return Error("auxv of " + std::to_string(bytes.size()) + " bytes is not whole " +
                         std::to_string(pair_size) + "-byte pairs",
                     EINVAL);
    }
    return Error("auxv has no AT_NULL terminator", EINVAL);
}

Result<std::vector<uint64_t>> read_auxv(pid_t pid) {
    std::string buf;
    STASIS_TRY(read_task_file_into(pid, 0, "auxv", buf));
    return parse_auxv(buf).context(proc_path(pid, "auxv"));
}

Result<std::string> read_cwd(pid_t pid) { return read_task_link(pid, "cwd"); }
Result<std::string> read_root(pid_t pid) { return read_task_link(pid, "root"); }
Result<std::string> read_exe(pid_t pid) { return read_task_link(pid, "exe"); }

Result<std::string> read_comm(pid_t pid, pid_t tid) {
    STASIS_ASSIGN(std::string comm, read_task_file(pid, tid, "comm"));
    if (!comm.empty() && comm.back() == '\n') comm.pop_back();
    return comm;
}

}  // namespace stasis::proc
