// The page the engine shares with the process it is restoring (mapped
// MAP_SHARED before the clone): the child reports where it placed the
// restorer, or why it failed, and waits there until the engine has seized it.
#pragma once

#include <atomic>
#include <cstdint>

namespace stasis::restore {

struct ChildControl {
    std::atomic<int32_t> started{0};  // set by the child as soon as it runs
    std::atomic<int32_t> seized{0};   // set by the engine once it traces the child
    // Set by a child a helper made (tree_plan.h) once it no longer dies
    // with that helper: the helper may exit then.
    std::atomic<int32_t> adopted{0};
    int32_t failed = 0;
    char error[2048] = {};
    uint64_t region_start = 0, region_end = 0;
    uint64_t plan_addr = 0;
    uint64_t entry = 0;       // pie_entry of the restorer in the child
    uint64_t stack_top = 0;   // the main thread's restorer stack
    uint64_t syscall_insn = 0;  // a syscall instruction inside the restorer blob
};

}  // namespace stasis::restore
