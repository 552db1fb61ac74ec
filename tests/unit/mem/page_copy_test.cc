// copy_runs_to_image on a real child process: what lands in the pages
// image is the child's memory, byte for byte, in run order; on tmpfs a copy
// this big has its file pages allocated ahead by a second thread, and the
// file is cut to what was written.
#include <signal.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "common/images/image_writer.h"
#include "common/mem/page_copy.h"
#include "tests/unit/proc/test_support.h"

namespace stasis::mem {
namespace {

// A scratch directory on tmpfs (/dev/shm), or "" where there is none.
std::string tmpfs_dir() {
    struct statfs fs {};
    if (::statfs("/dev/shm", &fs) != 0 || fs.f_type != 0x01021994 /* TMPFS_MAGIC */) return "";
    char tmpl[] = "/dev/shm/stasis-page-copy.XXXXXX";
    return ::mkdtemp(tmpl) ? tmpl : "";
}

TEST(PageCopy, BigCopyIntoTmpfsIsTheChildsMemoryInRunOrder) {
    STASIS_SKIP_IF_EMULATED();
    std::string dir = tmpfs_dir();
    if (dir.empty()) GTEST_SKIP() << "no tmpfs at /dev/shm";
    const uint64_t page = uint64_t(sysconf(_SC_PAGESIZE));
    const uint64_t len = 48ull << 20;  // past the size that starts the prefaulter
    auto *mem = static_cast<uint64_t *>(
        ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(mem, MAP_FAILED);
    for (uint64_t i = 0; i < len / 8; ++i) mem[i] = i * 0x9e3779b97f4a7c15ull;
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        for (;;) ::pause();
    }
    // Two runs out of order: the second half first.
    const uint64_t base = uint64_t(uintptr_t(mem)), half = len / 2;
    std::vector<CopyRun> runs = {{base + half, half, false}, {base, half, false}};
    {
        auto out = images::RawImageWriter::create(dir, "pages-1.img", images::IMAGE_PAGES, uint32_t(page));
        ASSERT_TRUE(out.ok()) << out.error().message();
        auto copied = copy_runs_to_image(child, runs, *out);
        ASSERT_TRUE(copied.ok()) << copied.error().message();
        EXPECT_EQ(*copied, len);
        EXPECT_EQ(out->size(), len);
        ASSERT_TRUE(out->commit().ok());
    }
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    std::string path = dir + "/pages-1.img";
    EXPECT_EQ(std::filesystem::file_size(path), page + len);
    FILE *f = std::fopen(path.c_str(), "rb");
    ASSERT_NE(f, nullptr);
    std::vector<uint64_t> got(len / 8);
    ASSERT_EQ(std::fseek(f, long(page), SEEK_SET), 0);
    ASSERT_EQ(std::fread(got.data(), 1, len, f), len);
    std::fclose(f);
    const uint64_t words = half / 8;
    uint64_t bad = 0;
    for (uint64_t i = 0; i < len / 8; ++i) {
        uint64_t want = i < words ? mem[words + i] : mem[i - words];
        bad += got[i] != want;
    }
    EXPECT_EQ(bad, 0u) << "words of the image that are not the child's memory";
    ::munmap(mem, len);
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace stasis::mem
