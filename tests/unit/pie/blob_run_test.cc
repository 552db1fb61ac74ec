// Blobs really run: copied to fresh executable memory at a 4096-aligned
// address, as the engine copies them into a target, and called in this
// process (or a forked child when the code ends in a trap). Natively and
// under qemu-user for the cross architectures.
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "arch_disasm.h"
#include "pie/blob.h"
#include "pie/probe/probe.h"
#include "pie/tests/arch_probe.h"
#include "pie/tests/test_blobs.h"

namespace stasis::pie {
namespace {

// A blob's bytes in their own read+execute mapping.
class LoadedBlob {
public:
    explicit LoadedBlob(const Blob &blob) : blob_(blob), size_((blob.size + 4095) & ~size_t(4095)) {
        void *p = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return;
        std::memcpy(p, blob.bytes, blob.size);
        // Instruction caches are not coherent with data writes on arm,
        // aarch64 and ppc64: make the copied code visible to fetch.
        __builtin___clear_cache(static_cast<char *>(p), static_cast<char *>(p) + blob.size);
        if (mprotect(p, size_, PROT_READ | PROT_EXEC) != 0) {
            munmap(p, size_);
            return;
        }
        base_ = static_cast<char *>(p);
    }
    ~LoadedBlob() {
        if (base_) munmap(base_, size_);
    }
    LoadedBlob(const LoadedBlob &) = delete;
    LoadedBlob &operator=(const LoadedBlob &) = delete;

    bool ok() const { return base_ != nullptr; }

    template <typename Fn>
    Fn symbol(const char *name) const {
        uint64_t off = blob_.offset_of(name);
        EXPECT_NE(off, UINT64_MAX) << blob_.name << " has no " << name;
        return reinterpret_cast<Fn>(base_ + off);
    }

private:
    const Blob &blob_;
    size_t size_;
    char *base_ = nullptr;
};

TEST(BlobRun, ProbeReportsPidTidAndMagicInProcess) {
    LoadedBlob loaded(probe);
    ASSERT_TRUE(loaded.ok()) << std::strerror(errno);
    probe_args args{};
    args.magic_in = 0x0123456789abcdefull;
    auto pie_main = loaded.symbol<long (*)(probe_args *)>("pie_main");
    EXPECT_EQ(pie_main(&args), 0);
    EXPECT_EQ(args.pid, getpid());
    EXPECT_EQ(args.tid, gettid());
    EXPECT_EQ(args.magic_out, args.magic_in ^ PROBE_MAGIC_XOR);
    EXPECT_EQ(args.done, 1u);
}

// Runs `blob`'s pie_entry(args) in a child (untraced, its final trap kills
// it) with `args` in memory shared with us. Returns the wait status.
int run_entry_in_child(const Blob &blob, void *args) {
    pid_t child = fork();
    if (child < 0) return -1;
    if (child == 0) {
        LoadedBlob loaded(blob);
        if (!loaded.ok()) _exit(2);
        loaded.symbol<void (*)(void *)>("pie_entry")(args);
        _exit(3);  // pie_entry must never return
    }
    int status = 0;
    return waitpid(child, &status, 0) == child ? status : -1;
}

class SharedPage {
public:
    SharedPage() : p_(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)) {}
    ~SharedPage() {
        if (p_ != MAP_FAILED) munmap(p_, 4096);
    }
    template <typename T>
    T *as() {
        return p_ == MAP_FAILED ? nullptr : static_cast<T *>(p_);
    }

private:
    void *p_;
};

void expect_killed_by_trap(int status) {
    ASSERT_TRUE(status != -1 && WIFSIGNALED(status)) << "child status " << status;
    EXPECT_EQ(WTERMSIG(status), arch::kBlobTrapSignalUntraced) << strsignal(WTERMSIG(status));
}

// pie_entry aligns the stack it is given, calls pie_main and then traps.
TEST(BlobRun, EntryRunsPieMainThenTraps) {
    SharedPage page;
    auto *args = page.as<probe_args>();
    ASSERT_NE(args, nullptr);
    args->magic_in = 42;
    expect_killed_by_trap(run_entry_in_child(probe, args));
    EXPECT_EQ(args->done, 1u);
    EXPECT_GT(args->pid, 0);
    EXPECT_NE(args->pid, getpid());
    EXPECT_EQ(args->magic_out, 42 ^ PROBE_MAGIC_XOR);
}

// Through pie_entry pie_main is entered without the caller's help (ppc64le:
// its local entry, with the TOC pointer pie_entry derived itself).
TEST(BlobRun, EntrySetsUpWhatPieMainNeedsToReachItsData) {
    SharedPage page;
    auto *args = page.as<arch_probe_args>();
    ASSERT_NE(args, nullptr);
    args->fd = -1;
    args->table_index = 1;
    expect_killed_by_trap(run_entry_in_child(arch_probe, args));
    EXPECT_EQ(args->table_word, 0x2222222222222222ull);
    EXPECT_EQ(args->mmap_result, -EBADF);
}

class MemfdWithWordAt4096 {
public:
    explicit MemfdWithWordAt4096(uint64_t word) : fd_(int(syscall(SYS_memfd_create, "stasis-arch-probe", 0))) {
        if (fd_ < 0 || ftruncate(fd_, 8192) != 0 || pwrite(fd_, &word, sizeof word, 4096) != sizeof word) {
            if (fd_ >= 0) close(fd_);
            fd_ = -1;
        }
    }
    ~MemfdWithWordAt4096() {
        if (fd_ >= 0) close(fd_);
    }
    int fd() const { return fd_; }

private:
    int fd_;
};

// s390x passes mmap's arguments in memory, arm uses mmap2 with the offset
// in 4096-byte units: a mapping at offset 4096 shows both are right.
TEST(BlobRun, SysMmapMapsAFileAtAByteOffset) {
    MemfdWithWordAt4096 file(0x5eed5eed0badcafeull);
    ASSERT_GE(file.fd(), 0) << std::strerror(errno);
    LoadedBlob loaded(arch_probe);
    ASSERT_TRUE(loaded.ok());
    arch_probe_args args{};
    args.fd = file.fd();
    args.offset = 4096;
    EXPECT_EQ(loaded.symbol<long (*)(arch_probe_args *)>("pie_main")(&args), 0) << args.mmap_result;
    EXPECT_GT(args.mmap_result, 0);
    EXPECT_EQ(args.mapped_word, 0x5eed5eed0badcafeull);
}

// Blob data is found relative to the code wherever the blob lands.
TEST(BlobRun, ConstantDataIsReachedFromWhereverTheBlobIsLoaded) {
    MemfdWithWordAt4096 file(0);
    ASSERT_GE(file.fd(), 0) << std::strerror(errno);
    LoadedBlob loaded(arch_probe);
    ASSERT_TRUE(loaded.ok());
    arch_probe_args args{};
    args.fd = file.fd();
    args.table_index = 2;
    loaded.symbol<long (*)(arch_probe_args *)>("pie_main")(&args);
    EXPECT_EQ(args.table_word, 0x3333333333333333ull);
}

TEST(BlobRun, SysMmapRefusesAnUnalignedOffset) {
    MemfdWithWordAt4096 file(1);
    ASSERT_GE(file.fd(), 0) << std::strerror(errno);
    LoadedBlob loaded(arch_probe);
    ASSERT_TRUE(loaded.ok());
    arch_probe_args args{};
    args.fd = file.fd();
    args.offset = 100;
    EXPECT_EQ(loaded.symbol<long (*)(arch_probe_args *)>("pie_main")(&args), -EINVAL);
}

// pie_clone3_thread starts pie_thread_main(arg) in a new thread on the
// given stack; the thread exits on its own (CLONE_CHILD_CLEARTID wakes us).
TEST(BlobRun, Clone3ThreadRunsThreadMainWithItsArgumentAndExits) {
    LoadedBlob loaded(arch_probe);
    ASSERT_TRUE(loaded.ok());
    constexpr size_t kStack = 64 * 1024;
    void *stack = mmap(nullptr, kStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(stack, MAP_FAILED);
    static arch_probe_args args{};
    args = {};
    args.magic = 0xfeedfacecafebeefull;
    static volatile pid_t child_tid = 1;
    child_tid = 1;
    clone_args ca{};
    ca.flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
               CLONE_CHILD_CLEARTID;
    ca.child_tid = reinterpret_cast<uintptr_t>(&child_tid);
    ca.stack = reinterpret_cast<uintptr_t>(stack);
    ca.stack_size = kStack;
    auto clone3_thread = loaded.symbol<long (*)(void *, unsigned long, void *)>("pie_clone3_thread");
    long tid = clone3_thread(&ca, sizeof ca, &args);
    if (tid == -ENOSYS) {
        munmap(stack, kStack);
        GTEST_SKIP() << "clone3 is not available here (qemu-user before 8.x lacks it)";
    }
    ASSERT_GT(tid, 0) << "clone3: " << std::strerror(int(-tid));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (pid_t seen = child_tid) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the thread did not exit";
        timespec ts{0, 50 * 1000 * 1000};
        syscall(SYS_futex, &child_tid, FUTEX_WAIT, seen, &ts, nullptr, 0);
    }
    EXPECT_EQ(args.tid, tid);
    EXPECT_EQ(args.seen_magic, args.magic);
    EXPECT_EQ(args.done, 1);
    munmap(stack, kStack);
}

}  // namespace
}  // namespace stasis::pie
