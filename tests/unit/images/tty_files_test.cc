// The pty entries of files.img are hostile input like the rest: each
// impossible one is refused with one error naming the file and the field.
#include <fcntl.h>

#include <gtest/gtest.h>

#include <functional>

#include "common/images/validate.h"

namespace stasis::images {
namespace {

// A pty pair as the dump writes it: master (with the state), a slave, and
// a /dev/tty of the session it controls.
std::vector<FileEntry> pty_pair() {
    std::vector<FileEntry> files(3);
    for (uint32_t i = 0; i < 3; ++i) {
        files[i].set_id(i + 1);
        files[i].mutable_tty()->set_index(4);
        files[i].mutable_tty()->set_flags(O_RDWR);
    }
    files[0].mutable_tty()->set_role(TTY_PTY_MASTER);
    auto *info = files[0].mutable_tty()->mutable_info();
    info->set_cc(std::string(32, '\0'));
    info->set_rows(24);
    info->set_cols(80);
    info->set_session(100);
    info->set_foreground_pgid(101);
    files[1].mutable_tty()->set_role(TTY_PTY_SLAVE);
    files[2].mutable_tty()->set_role(TTY_CONTROLLING);
    return files;
}

std::string error_of(const std::vector<FileEntry> &files) {
    validate::FileIndex index;
    auto st = validate::files(files, &index);
    return st.ok() ? "OK" : st.error().message();
}

TEST(TtyFiles, APairWithItsSlaveAndDevTtyIsAccepted) { EXPECT_EQ(error_of(pty_pair()), "OK"); }

struct TtyCase {
    const char *name;
    std::function<void(std::vector<FileEntry> &)> mutate;
    std::string expected;
};

class TtyFilesMalformed : public ::testing::TestWithParam<TtyCase> {};

TEST_P(TtyFilesMalformed, IsRefusedNamingTheEntry) {
    auto files = pty_pair();
    GetParam().mutate(files);
    EXPECT_EQ(error_of(files), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Tty, TtyFilesMalformed,
    ::testing::Values(
        TtyCase{"SlaveWithoutMaster", [](auto &f) { f.erase(f.begin()); },
                "file id 2: pty 4 has no master in files.img"},
        TtyCase{"TwoMasters", [](auto &f) { f[1].mutable_tty()->set_role(TTY_PTY_MASTER); },
                "pty 4 has two masters (file ids 1 and 2)"},
        TtyCase{"UnknownRole", [](auto &f) { f[1].mutable_tty()->set_role(TtyRole(9)); },
                "file id 2: tty of unknown role 9"},
        TtyCase{"IndexBeyondTheKernelsLimit", [](auto &f) { f[0].mutable_tty()->set_index(1u << 20); },
                "file id 1: pty index 1048576 (at most 1048575)"},
        TtyCase{"FlagsBeyondAccessModeAndNonblock",
                [](auto &f) { f[1].mutable_tty()->set_flags(O_RDWR | O_APPEND); },
                "file id 2: tty flags 0x402 beyond O_ACCMODE|O_NONBLOCK"},
        TtyCase{"StateOnASlave", [](auto &f) { f[1].mutable_tty()->mutable_info()->set_rows(1); },
                "file id 2: pty state on an entry other than the master"},
        TtyCase{"OversizedControlCharacters",
                [](auto &f) { f[0].mutable_tty()->mutable_info()->set_cc(std::string(65, 'x')); },
                "file id 1: termios c_cc of 65 bytes"},
        TtyCase{"WindowBeyondSixteenBits",
                [](auto &f) { f[0].mutable_tty()->mutable_info()->set_cols(70000); },
                "file id 1: window size beyond 16 bits"},
        TtyCase{"ForegroundGroupWithoutSession",
                [](auto &f) { f[0].mutable_tty()->mutable_info()->set_session(0); },
                "file id 1: a foreground process group without a session"}),
    [](const auto &info) { return std::string(info.param.name); });

}  // namespace
}  // namespace stasis::images
