// Pseudo-terminals: telling the pty device nodes apart, and a pair's state
// read through its master (as the dump does) made again on a new pair with
// the same index (as the restore does).
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/files/tty.h"
#include "common/files/tty_restore.h"

namespace stasis::files {
namespace {

struct stat char_device(unsigned ma, unsigned mi) {
    struct stat st {};
    st.st_mode = S_IFCHR | 0620;
    st.st_rdev = makedev(ma, mi);
    return st;
}

TEST(TtyKind, DeviceNumbersNameMasterSlaveAndControllingTerminal) {
    EXPECT_EQ(tty_kind(char_device(5, 2)), TtyKind::pty_master);
    EXPECT_EQ(tty_kind(char_device(5, 0)), TtyKind::controlling);
    EXPECT_EQ(tty_kind(char_device(136, 7)), TtyKind::pty_slave);
    EXPECT_EQ(pty_slave_index(makedev(136, 300)), 300u);
    EXPECT_EQ(tty_kind(char_device(4, 1)), TtyKind::other);  // a virtual console
    EXPECT_EQ(tty_kind(char_device(1, 3)), TtyKind::other);  // /dev/null
    struct stat reg = char_device(5, 2);
    reg.st_mode = S_IFREG | 0644;
    EXPECT_EQ(tty_kind(reg), TtyKind::other);
}

int int_ioctl(int fd, unsigned long req) {
    int v = -1;
    return ::ioctl(fd, req, &v) == 0 ? v : -1;
}

TEST(PtyState, ReadThroughTheMasterComesBackOnANewPairWithTheSameIndex) {
    int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) GTEST_SKIP() << "no /dev/ptmx here";
    ASSERT_EQ(::unlockpt(master), 0);
    unsigned index = 0;
    ASSERT_EQ(::ioctl(master, TIOCGPTN, &index), 0);
    int slave = ::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    ASSERT_GE(slave, 0);
    struct termios t {};
    ASSERT_EQ(::tcgetattr(slave, &t), 0);
    t.c_lflag &= ~(ECHO | ICANON);
    t.c_cc[VMIN] = 3;
    t.c_cc[VERASE] = 0x08;
    ::cfsetispeed(&t, B2400);
    ::cfsetospeed(&t, B2400);
    ASSERT_EQ(::tcsetattr(slave, TCSANOW, &t), 0);
    struct winsize ws = {40, 120, 3, 4};
    ASSERT_EQ(::ioctl(master, TIOCSWINSZ, &ws), 0);
    int one = 1;
    ASSERT_EQ(::ioctl(master, TIOCPKT, &one), 0);
    ASSERT_EQ(::ioctl(slave, TIOCEXCL), 0);
    ASSERT_EQ(::ioctl(master, TIOCSPTLCK, &one), 0);

    auto holders = find_pty_holders({::getpid()});
    if (!holders.ok()) {
        ::close(slave);
        ::close(master);
        GTEST_SKIP() << holders.error().message();  // no pidfd_getfd
    }
    ASSERT_TRUE(holders->master.count(index));
    ASSERT_TRUE(holders->slave.count(index));
    auto info = describe_pty(index, *holders, {::getpid()});
    ::close(slave);
    ::close(master);
    ASSERT_TRUE(info.ok()) << info.error().message();
    EXPECT_TRUE(info->locked());
    EXPECT_TRUE(info->packet());
    EXPECT_TRUE(info->slave_exclusive());
    EXPECT_FALSE(info->master_exclusive());
    EXPECT_EQ(info->session(), 0);

    std::vector<images::FileEntry> files(2);
    files[0].set_id(1);
    files[0].mutable_tty()->set_index(index);
    files[0].mutable_tty()->set_role(images::TTY_PTY_MASTER);
    files[0].mutable_tty()->set_flags(O_RDWR | O_NONBLOCK);
    *files[0].mutable_tty()->mutable_info() = *info;
    files[1].set_id(2);
    files[1].mutable_tty()->set_index(index);
    files[1].mutable_tty()->set_role(images::TTY_PTY_SLAVE);
    files[1].mutable_tty()->set_flags(O_RDONLY);
    auto ends = open_pty_ends(files, files[1]);
    if (!ends.ok() && ends.error().message().find("in use") != std::string::npos)
        GTEST_SKIP() << "another process took the index meanwhile: " << ends.error().message();
    ASSERT_TRUE(ends.ok()) << ends.error().message();
    ASSERT_EQ(ends->size(), 2u);
    int new_slave = -1, new_master = -1;
    for (auto [id, fd] : *ends) (id == 1 ? new_master : new_slave) = fd;
    unsigned got = 0;
    EXPECT_EQ(::ioctl(new_master, TIOCGPTN, &got), 0);
    EXPECT_EQ(got, index);
    struct termios now {};
    ASSERT_EQ(::tcgetattr(new_slave, &now), 0);
    EXPECT_EQ(now.c_lflag, t.c_lflag);
    EXPECT_EQ(now.c_iflag, t.c_iflag);
    EXPECT_EQ(now.c_cflag, t.c_cflag);
    EXPECT_EQ(now.c_cc[VMIN], 3);
    EXPECT_EQ(now.c_cc[VERASE], 0x08);
    EXPECT_EQ(::cfgetospeed(&now), speed_t(B2400));
    struct winsize wnow {};
    ASSERT_EQ(::ioctl(new_slave, TIOCGWINSZ, &wnow), 0);
    EXPECT_EQ(wnow.ws_row, 40);
    EXPECT_EQ(wnow.ws_col, 120);
    EXPECT_EQ(wnow.ws_xpixel, 3);
    EXPECT_EQ(wnow.ws_ypixel, 4);
    EXPECT_EQ(int_ioctl(new_master, TIOCGPKT), 1);
    EXPECT_EQ(int_ioctl(new_master, TIOCGPTLCK), 1);
    EXPECT_EQ(int_ioctl(new_slave, TIOCGEXCL), 1);
    EXPECT_EQ(int_ioctl(new_master, TIOCGEXCL), 0);
    EXPECT_TRUE(::fcntl(new_master, F_GETFL) & O_NONBLOCK);
    EXPECT_EQ(::fcntl(new_slave, F_GETFL) & O_ACCMODE, O_RDONLY);
    ::close(new_slave);
    ::close(new_master);
}

}  // namespace
}  // namespace stasis::files
