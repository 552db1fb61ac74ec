// count_written_pages: what a dump reserves its pages image for, counted
// on a child that armed uffd-wp tracking on its own memory and then wrote
// some of it.
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/linux/uapi.h"
#include "common/mem/dirty_tracking.h"
#include "common/proc/maps.h"
#include "tests/unit/proc/test_support.h"

namespace stasis::mem {
namespace {

constexpr size_t kPages = 64;

// The child: touches kPages pages, arms tracking on them, then writes as
// many of them as each byte from `go` says, answering on `done`.
[[noreturn]] void child(int go, int done) {
    const size_t page = size_t(sysconf(_SC_PAGESIZE));
    auto *mem = static_cast<char *>(::mmap(nullptr, kPages * page, PROT_READ | PROT_WRITE,
                                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (mem == MAP_FAILED) _exit(2);
    for (size_t i = 0; i < kPages; ++i) mem[i * page] = 1;
    int uffd = int(::syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY));
    auto maps = proc::read_smaps(getpid());
    if (uffd < 0 || !maps.ok() || !UffdTracker::enable(uffd).ok()) _exit(3);
    std::vector<proc::Mapping> region;
    for (const auto &m : *maps)
        if (m.start == uint64_t(uintptr_t(mem))) region.push_back(m);
    Ranges dirty;
    std::vector<uint64_t> ours;
    if (region.size() != 1 || !UffdTracker(getpid(), uffd).collect(region, true, false, dirty, ours).ok()) _exit(4);
    size_t next = 0;
    for (unsigned char n; ::read(go, &n, 1) == 1;) {
        for (unsigned i = 0; i < n && next < kPages; ++i) mem[next++ * page] = 2;
        if (::write(done, &n, 1) != 1) _exit(5);
    }
    _exit(0);
}

TEST(CountWrittenPages, CountsWhatWasWrittenSinceTrackingWasArmed) {
    STASIS_SKIP_IF_EMULATED();
    if (!kernel_has_uffd_wp_async()) GTEST_SKIP() << "no asynchronous uffd-wp on this kernel";
    int go[2], done[2];
    ASSERT_EQ(::pipe(go), 0);
    ASSERT_EQ(::pipe(done), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        ::close(go[1]);
        ::close(done[0]);
        child(go[0], done[1]);
    }
    ::close(go[0]);
    ::close(done[1]);
    // Writes `n` more pages in the child and counts again: the child's
    // other memory (not tracked: counted whole) stays as it was.
    auto write_and_count = [&](unsigned char n) -> uint64_t {
        unsigned char ack = 0;
        EXPECT_EQ(::write(go[1], &n, 1), 1);
        EXPECT_EQ(::read(done[0], &ack, 1), 1);
        auto count = count_written_pages(pid, DirtyMode::uffd_wp);
        EXPECT_TRUE(count.ok()) << count.error().message();
        return count.ok() ? *count : 0;
    };
    uint64_t base = write_and_count(0);
    EXPECT_EQ(write_and_count(5), base + 5);
    EXPECT_EQ(write_and_count(7), base + 12);
    EXPECT_FALSE(count_written_pages(pid, DirtyMode::content).ok());
    ::close(go[1]);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
    ::close(done[0]);
}

}  // namespace
}  // namespace stasis::mem
