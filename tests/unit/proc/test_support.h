// Helpers shared by the common/proc tests: recorded fixtures and the guard
// that skips live tests when /proc/self is not the kernel's view of us.
#pragma once

#include <unistd.h>

#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "common/proc/read_file.h"

namespace stasis::proc::testing {

#ifdef STASIS_PROC_TEST_DATA
// The text of tests/unit/proc/data/<name> (for the proc tests, which
// define where that is).
inline std::string fixture(std::string_view name) {
    std::string path = std::string(STASIS_PROC_TEST_DATA) + "/" + std::string(name);
    auto text = read_file(path);
    EXPECT_TRUE(text.ok()) << (text.ok() ? "" : text.error().message());
    return text.ok() ? *text : std::string();
}
#endif

// qemu-user answers some /proc/self files itself (maps, exe, auxv, stat...)
// with the guest's view, while others (pagemap, task/*) still show the host
// process qemu really is. The two views of our executable then disagree:
// /proc/self/exe names the guest binary, /proc/PID/task/TID/exe (which
// qemu does not rewrite) names qemu. Decided at run time, not by arch.
inline bool proc_view_is_emulated() {
    auto self = read_link("/proc/self/exe");
    auto kernel = read_link(task_path(getpid(), static_cast<pid_t>(gettid()), "exe"));
    return !self.ok() || !kernel.ok() || *self != *kernel;
}

}  // namespace stasis::proc::testing

// Skips a live test under user-mode emulation.
#define STASIS_SKIP_IF_EMULATED()                                                          \
    do {                                                                                   \
        if (::stasis::proc::testing::proc_view_is_emulated())                              \
            GTEST_SKIP() << "/proc/self is emulated (qemu-user): live /proc test skipped"; \
    } while (0)
