// inotify: the fdinfo watch line parser on recorded and malformed lines, and
// a round trip through this process's own instance: the watches described
// from fdinfo come back, through the restore side, at the same wd numbers,
// with the same masks and targets and nothing more.
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/files/file_handle.h"
#include "common/files/inotify.h"
#include "common/proc/fdinfo.h"

namespace stasis::files {
namespace {

// Recorded on 6.18 (tmpfs-backed /tmp on device 254:0).
constexpr const char kLine[] =
    "inotify wd:3 ino:ade0ec sdev:fe00000 mask:84000006 ignored_mask:0 fhandle-bytes:8 fhandle-type:1 "
    "f_handle:ece0ad0018352347";

TEST(InotifyMarkParser, ReadsEveryFieldOfARecordedLine) {
    auto m = parse_inotify_mark(kLine);
    ASSERT_TRUE(m.ok()) << m.error().message();
    EXPECT_EQ(m->wd, 3);
    EXPECT_EQ(m->ino, 0xade0ecu);
    EXPECT_EQ(m->sdev, 0xfe00000u);
    EXPECT_EQ(m->mask, uint32_t(IN_ONESHOT | IN_EXCL_UNLINK | IN_MODIFY | IN_ATTRIB));
    EXPECT_EQ(m->handle_type, 1);
    EXPECT_EQ(m->handle, std::string("\xec\xe0\xad\x00\x18\x35\x23\x47", 8));
}

TEST(InotifyMarkParser, AcceptsAWatchWithoutFileHandle) {
    // The kernel prints no handle when the file system cannot encode one.
    auto m = parse_inotify_mark("inotify wd:1 ino:2 sdev:15 mask:4 ignored_mask:0");
    ASSERT_TRUE(m.ok()) << m.error().message();
    EXPECT_TRUE(m->handle.empty());
}

TEST(InotifyMarkParser, RefusesMalformedLines) {
    for (const char *line : {
             "inotify ino:2 sdev:15 mask:4",                                      // no wd
             "inotify wd:0 ino:2 sdev:15 mask:4",                                 // wd 0 is never handed out
             "inotify wd:-1 ino:2 sdev:15 mask:4",                                // negative
             "inotify wd:80000000 ino:2 sdev:15 mask:4",                          // beyond int
             "inotify wd:1 ino:2 sdev:15",                                        // no mask
             "inotify wd:1 ino:zz sdev:15 mask:4",                                // not hex
             "inotify wd:1 ino:2 sdev:15 mask:4 fhandle-bytes:8 fhandle-type:1",  // handle missing
             "inotify wd:1 ino:2 sdev:15 mask:4 fhandle-bytes:8 fhandle-type:1 f_handle:0011",  // short
             "inotify wd:1 ino:2 sdev:15 mask:4 fhandle-bytes:1 fhandle-type:1 f_handle:0",     // odd digits
             "tfd: 5 events: 1d data: 0",                                         // not inotify
         }) {
        EXPECT_FALSE(parse_inotify_mark(line).ok()) << line;
    }
}

TEST(FileHandle, KernelDeviceNumbersBecomeStatOnes) {
    EXPECT_EQ(userspace_dev(0xfe00000), makedev(254, 0));
    EXPECT_EQ(userspace_dev(0x800013), makedev(8, 19));
}

struct TempDir {
    std::string path;
    TempDir() {
        char t[] = "/tmp/stasis-inotify-test.XXXXXX";
        path = ::mkdtemp(t) ? t : "";
    }
    ~TempDir() {
        std::string cmd = "rm -rf '" + path + "'";
        if (!path.empty()) (void)std::system(cmd.c_str());
    }
};

std::vector<std::string> watch_lines(int fd) {
    auto info = proc::read_fdinfo(::getpid(), fd);
    EXPECT_TRUE(info.ok());
    std::vector<std::string> out;
    if (info.ok())
        for (const auto &l : info->entries)
            if (l.rfind("inotify ", 0) == 0) out.push_back(l);
    std::sort(out.begin(), out.end());
    return out;
}

TEST(Inotify, WatchesComeBackAtTheirNumbersWithMasksAndNothingElse) {
    if (::geteuid() != 0) GTEST_SKIP() << "open_by_handle_at needs CAP_DAC_READ_SEARCH";
    TempDir dir;
    ASSERT_FALSE(dir.path.empty());
    std::string sub = dir.path + "/sub", file = dir.path + "/file", spare = dir.path + "/spare";
    ASSERT_EQ(::mkdir(sub.c_str(), 0755), 0);
    ::close(::open(file.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
    ::close(::open(spare.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
    int in = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    ASSERT_GE(in, 0);
    ASSERT_EQ(::inotify_add_watch(in, sub.c_str(), IN_CREATE | IN_ONLYDIR), 1);
    for (int i = 0; i < 2000; i++) ::inotify_rm_watch(in, ::inotify_add_watch(in, spare.c_str(), IN_OPEN));
    ASSERT_EQ(::inotify_add_watch(in, file.c_str(), IN_MODIFY | IN_ONESHOT | IN_EXCL_UNLINK), 2002);

    auto info = proc::read_fdinfo(::getpid(), in);
    ASSERT_TRUE(info.ok());
    images::InotifyFile described;
    auto st = describe_inotify(::getpid(), in, *info, &described);
    ASSERT_TRUE(st.ok()) << st.error().message();
    ASSERT_EQ(described.watches_size(), 2);
    EXPECT_EQ(described.watches(0).wd(), 1);
    EXPECT_EQ(described.watches(0).path(), sub);
    EXPECT_EQ(described.watches(0).mode(), uint32_t(S_IFDIR));
    EXPECT_EQ(described.watches(1).wd(), 2002);
    EXPECT_EQ(described.watches(1).path(), file);
    EXPECT_EQ(described.watches(1).mask(), uint32_t(IN_MODIFY | IN_ONESHOT | IN_EXCL_UNLINK));
    EXPECT_TRUE(described.flags() & O_NONBLOCK);
    EXPECT_TRUE(check_inotify_targets(described).ok());

    auto restored = open_inotify(described);
    ASSERT_TRUE(restored.ok()) << restored.error().message();
    EXPECT_EQ(watch_lines(*restored), watch_lines(in));
    int queued = -1;
    EXPECT_EQ(::read(*restored, &queued, sizeof queued), -1) << "events of skipped numbers were left queued";
    EXPECT_EQ(errno, EAGAIN);
    EXPECT_EQ(::inotify_add_watch(*restored, spare.c_str(), IN_OPEN), 2003);
    ::close(*restored);

    // The directory replaced by another of the same name: refused, naming it.
    ASSERT_EQ(::rmdir(sub.c_str()), 0);
    ASSERT_EQ(::mkdir(sub.c_str(), 0755), 0);
    auto again = check_inotify_targets(described);
    ASSERT_FALSE(again.ok());
    EXPECT_NE(again.error().message().find(sub + ": the path now names another file"), std::string::npos)
        << again.error().message();
    EXPECT_FALSE(open_inotify(described).ok());
    ::close(in);
}

}  // namespace
}  // namespace stasis::files
