// Small per-task /proc readers: auxv, the cwd/root/exe links, comm.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/util/result.h"

namespace stasis::proc {

// /proc/PID/auxv: binary (type, value) pairs of unsigned long — 8 bytes on
// 64-bit, 4 on 32-bit arm — up to and including the AT_NULL pair (man
// getauxval(3)). Returned flat: type0, value0, type1, value1, ..., 0, 0.
// `word_size` is sizeof(unsigned long) of the task (the engine's own).
Result<std::vector<uint64_t>> parse_auxv(std::string_view bytes, size_t word_size = sizeof(unsigned long));
Result<std::vector<uint64_t>> read_auxv(pid_t pid);

// Targets of /proc/PID/cwd, root and exe (" (deleted)" kept as shown).
Result<std::string> read_cwd(pid_t pid);
Result<std::string> read_root(pid_t pid);
Result<std::string> read_exe(pid_t pid);

// /proc/PID/task/TID/comm without its newline (tid 0: /proc/PID/comm).
Result<std::string> read_comm(pid_t pid, pid_t tid = 0);

}  // namespace stasis::proc
