#include "common/proc/read_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

TEST(ReadTaskFileLines, HandsOverTheSameLinesAsTheWholeFile) {
    STASIS_SKIP_IF_EMULATED();
    // A child that holds many mappings, some of a file whose path is longer
    // than a read piece, so that lines straddle reads (a child: our own
    // maps change as the test allocates).
    long page = sysconf(_SC_PAGESIZE);
    char top[] = "/tmp/stasis-lines-XXXXXX";
    ASSERT_NE(mkdtemp(top), nullptr);
    std::vector<std::string> dirs;
    std::string path = top;
    while (path.size() < 3000) {
        path += "/" + std::string(200, 'd');
        ASSERT_EQ(mkdir(path.c_str(), 0700), 0);
        dirs.push_back(path);
    }
    path += "/file";
    int fd = open(path.c_str(), O_RDWR | O_CREAT, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ftruncate(fd, page), 0);
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        for (int i = 0; i < 400; ++i)
            if (mmap(nullptr, page, i % 2 ? PROT_READ : PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | (i % 7 ? MAP_ANONYMOUS : 0), i % 7 ? -1 : fd, 0) == MAP_FAILED)
                _exit(1);
        (void)!write(ready[1], "r", 1);
        for (;;) pause();
    }
    close(fd);
    close(ready[1]);
    char c = 0;
    EXPECT_EQ(read(ready[0], &c, 1), 1);
    close(ready[0]);
    auto whole = read_task_file(child, 0, "maps");
    std::vector<std::string> lines;
    auto st = read_task_file_lines(child, 0, "maps", [&](std::string_view l) {
        lines.emplace_back(l);
        return ok();
    });
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    unlink(path.c_str());
    for (auto d = dirs.rbegin(); d != dirs.rend(); ++d) rmdir(d->c_str());
    rmdir(top);
    ASSERT_EQ(c, 'r');
    ASSERT_TRUE(whole.ok()) << whole.error().message();
    ASSERT_TRUE(st.ok()) << st.error().message();
    std::string joined;
    for (const auto &l : lines) joined += l + "\n";
    EXPECT_EQ(joined, *whole);
    EXPECT_GT(lines.size(), 400u);
    EXPECT_NE(whole->find(path), std::string::npos) << "lines longer than a read";
}

TEST(ReadTaskFileLines, TheFirstErrorOfTheCallbackStopsTheReadAndNamesTheFile) {
    int calls = 0;
    auto st = read_task_file_lines(getpid(), 0, "status", [&](std::string_view) -> Status {
        ++calls;
        return Error("refused", EINVAL);
    });
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(calls, 1);
    EXPECT_NE(st.error().message().find("/proc/" + std::to_string(getpid()) + "/status"), std::string::npos)
        << st.error().message();
}

TEST(ReadTaskFileLines, ATaskThatIsGoneIsReportedAsGone) {
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) _exit(0);
    ASSERT_EQ(waitpid(child, nullptr, 0), child);
    auto st = read_task_file_lines(child, 0, "maps", [](std::string_view) { return ok(); });
    ASSERT_FALSE(st.ok());
    EXPECT_TRUE(is_task_gone(st.error())) << st.error().message();
}

}  // namespace
}  // namespace stasis::proc
