#include "common/proc/read_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/unit/proc/test_support.h"

namespace stasis::proc {
namespace {

TEST(ReadFile, ReadsFilesMuchLargerThanOneRead) {
    char path[] = "/tmp/stasis-read-file-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    std::string content;
    for (int i = 0; content.size() < 3 * 1024 * 1024 + 17; ++i) content += "line " + std::to_string(i) + "\n";
    ASSERT_EQ(write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    close(fd);
    auto got = read_file(path);
    unlink(path);
    ASSERT_TRUE(got.ok()) << got.error().message();
    EXPECT_EQ(*got, content);
}

TEST(ReadFile, MissingFileNamesThePath) {
    auto got = read_file("/nonexistent/stasis");
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.error().sys_errno(), ENOENT);
    EXPECT_EQ(got.error().message(), "/nonexistent/stasis: open: No such file or directory");
}

TEST(ReadLink, LongTargetsAreNotTruncated) {
    std::string target(3000, 'x');
    std::string link = "/tmp/stasis-long-link-" + std::to_string(getpid());
    ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0);
    auto got = read_link(link);
    unlink(link.c_str());
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, target);
}

TEST(TaskPaths, NameProcessAndThreadFiles) {
    EXPECT_EQ(proc_path(12, "smaps"), "/proc/12/smaps");
    EXPECT_EQ(proc_path(12, ""), "/proc/12");
    EXPECT_EQ(task_path(12, 13, "stat"), "/proc/12/task/13/stat");
}

TEST(ReadTaskFile, ProcFileWithZeroSizeIsReadWhole) {
    STASIS_SKIP_IF_EMULATED();
    // Enough mappings that smaps is far larger than a page and one read.
    long page = sysconf(_SC_PAGESIZE);
    std::vector<void *> regions;
    for (int i = 0; i < 300; ++i) {
        void *p = mmap(nullptr, page, i % 2 ? PROT_READ : PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                       -1, 0);
        ASSERT_NE(p, MAP_FAILED);
        regions.push_back(p);
    }
    auto text = read_task_file(getpid(), 0, "smaps");
    for (void *p : regions) munmap(p, page);
    ASSERT_TRUE(text.ok()) << text.error().message();
    EXPECT_GT(text->size(), 64u * 1024);
    EXPECT_EQ(text->back(), '\n');
    EXPECT_NE(text->find("[stack]"), std::string::npos);
}

}  // namespace
}  // namespace stasis::proc
