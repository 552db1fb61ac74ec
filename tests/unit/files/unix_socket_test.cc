// Unix sockets: what the dump reads from this process's own sockets (the
// queue, peeked without consuming it; the peer) and what the restore side
// makes from entries (connected, bound, with the data queued again).
#include "common/files/unix_socket.h"

#include <fcntl.h>
#include <linux/kcmp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "common/proc/fdinfo.h"

namespace stasis::files {
namespace {

struct Fd {
    int fd;
    explicit Fd(int f) : fd(f) {}
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

bool have_pidfd_getfd() { return ::syscall(SYS_pidfd_getfd, -1, 0, 0) >= 0 || errno != ENOSYS; }

uint64_t ino_of(int fd) {
    struct stat st {};
    EXPECT_EQ(::fstat(fd, &st), 0);
    return st.st_ino;
}

Result<images::UnixSocketFile> describe(int fd, uint64_t *peer) {
    STASIS_ASSIGN(proc::FdInfo info, proc::read_fdinfo(::getpid(), fd));
    images::UnixSocketFile out;
    std::vector<InFlight> in_flight;
    STASIS_TRY(describe_unix_socket(::getpid(), fd, ino_of(fd), info, &out, peer, &in_flight));
    if (!in_flight.empty()) return Error("descriptors in flight");
    return out;
}

Result<int> no_other_files(uint32_t id) { return Error("file id " + std::to_string(id) + " asked for"); }

int int_opt(int fd, int opt) {
    int v = -2;
    socklen_t len = sizeof v;
    ::getsockopt(fd, SOL_SOCKET, opt, &v, &len);
    return v;
}

TEST(UnixSocket, QueuedMessagesArePeekedWithTheirBoundariesNotConsumed) {
    if (!have_pidfd_getfd()) GTEST_SKIP() << "no pidfd_getfd (emulated?)";
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    Fd a(sv[0]), b(sv[1]);
    for (const char *m : {"one", "two!", "x"}) ASSERT_EQ(::send(b.fd, m, std::strlen(m), 0), ssize_t(std::strlen(m)));
    uint64_t peer = 0;
    auto d = describe(a.fd, &peer);
    ASSERT_TRUE(d.ok()) << d.error().message();
    EXPECT_EQ(d->type(), uint32_t(SOCK_SEQPACKET));
    EXPECT_EQ(d->state(), images::UNIX_SK_CONNECTED);
    EXPECT_EQ(peer, ino_of(b.fd));
    ASSERT_EQ(d->queued_size(), 3);
    EXPECT_EQ(d->queued(0), "one");
    EXPECT_EQ(d->queued(1), "two!");
    EXPECT_EQ(d->queued(2), "x");
    EXPECT_EQ(int_opt(a.fd, SO_PEEK_OFF), -1);  // the peek offset is off again
    char buf[16];
    EXPECT_EQ(::recv(a.fd, buf, sizeof buf, MSG_DONTWAIT), 3);  // still queued
}

TEST(UnixSocket, EmptyDatagramsKeepTheirPlaceInTheQueue) {
    if (!have_pidfd_getfd()) GTEST_SKIP() << "no pidfd_getfd (emulated?)";
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
    Fd a(sv[0]), b(sv[1]);
    ASSERT_EQ(::send(b.fd, "a", 1, 0), 1);
    ASSERT_EQ(::send(b.fd, "", 0, 0), 0);
    ASSERT_EQ(::send(b.fd, "bc", 2, 0), 2);
    ASSERT_EQ(::send(b.fd, "", 0, 0), 0);
    uint64_t peer = 0;
    auto d = describe(a.fd, &peer);
    ASSERT_TRUE(d.ok()) << d.error().message();
    ASSERT_EQ(d->queued_size(), 4);
    EXPECT_EQ(d->queued(0), "a");
    EXPECT_EQ(d->queued(1), "");
    EXPECT_EQ(d->queued(2), "bc");
    EXPECT_EQ(d->queued(3), "");

    std::vector<images::FileEntry> files(2);
    files[0].set_id(1);
    *files[0].mutable_unix_sk() = *d;
    files[0].mutable_unix_sk()->set_peer_id(2);
    files[1].set_id(2);
    files[1].mutable_unix_sk()->set_ino(peer);
    files[1].mutable_unix_sk()->set_type(SOCK_DGRAM);
    files[1].mutable_unix_sk()->set_flags(O_RDWR);
    files[1].mutable_unix_sk()->set_state(images::UNIX_SK_CONNECTED);
    files[1].mutable_unix_sk()->set_peer_id(1);
    auto made = open_unix_sockets(files, no_other_files);
    ASSERT_TRUE(made.ok()) << made.error().message();
    Fd one((*made)[0].second), two((*made)[1].second);
    char buf[8];
    EXPECT_EQ(::recv(one.fd, buf, sizeof buf, MSG_DONTWAIT), 1);
    EXPECT_EQ(::recv(one.fd, buf, sizeof buf, MSG_DONTWAIT), 0);
    EXPECT_EQ(::recv(one.fd, buf, sizeof buf, MSG_DONTWAIT), 2);
    EXPECT_EQ(::recv(one.fd, buf, sizeof buf, MSG_DONTWAIT), 0);
    EXPECT_EQ(::recv(one.fd, buf, sizeof buf, MSG_DONTWAIT), -1);
}

TEST(UnixSocket, StreamQueueIsOneRunOfBytes) {
    if (!have_pidfd_getfd()) GTEST_SKIP() << "no pidfd_getfd (emulated?)";
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    Fd a(sv[0]), b(sv[1]);
    ASSERT_EQ(::send(b.fd, "abc", 3, 0), 3);
    ASSERT_EQ(::send(b.fd, "defg", 4, 0), 4);
    ASSERT_EQ(::shutdown(b.fd, SHUT_WR), 0);
    uint64_t peer = 0;
    auto d = describe(a.fd, &peer);
    ASSERT_TRUE(d.ok()) << d.error().message();
    ASSERT_EQ(d->queued_size(), 1);
    EXPECT_EQ(d->queued(0), "abcdefg");
    EXPECT_EQ(d->shutdown(), 1u);  // its reading side: the peer shut down writing
}

TEST(UnixSocket, DescriptorsInFlightComeOutAsOwnDescriptorsAndStayQueued) {
    if (!have_pidfd_getfd()) GTEST_SKIP() << "no pidfd_getfd (emulated?)";
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
    Fd a(sv[0]), b(sv[1]);
    int pv[2];
    ASSERT_EQ(::pipe(pv), 0);
    Fd r(pv[0]), w(pv[1]);
    char byte = 'f';
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &r.fd, sizeof r.fd);
    ASSERT_EQ(::sendmsg(b.fd, &msg, 0), 1);
    ASSERT_EQ(::send(b.fd, "g", 1, 0), 1);

    auto info = proc::read_fdinfo(::getpid(), a.fd);
    ASSERT_TRUE(info.ok());
    images::UnixSocketFile out;
    uint64_t peer = 0;
    std::vector<InFlight> in_flight;
    ASSERT_TRUE(describe_unix_socket(::getpid(), a.fd, ino_of(a.fd), *info, &out, &peer, &in_flight).ok());
    ASSERT_EQ(out.queued_size(), 2);
    ASSERT_EQ(in_flight.size(), 1u);
    EXPECT_EQ(in_flight[0].message, 0u);
    ASSERT_EQ(in_flight[0].fds.size(), 1u);
    EXPECT_EQ(::syscall(SYS_kcmp, ::getpid(), ::getpid(), KCMP_FILE, in_flight[0].fds[0].get(), r.fd), 0)
        << "not the description that was sent";
    // Still queued, with its descriptor, for the process itself.
    char got = 0;
    alignas(cmsghdr) char back[CMSG_SPACE(sizeof(int))] = {};
    iovec riov{&got, 1};
    msghdr rmsg{};
    rmsg.msg_iov = &riov;
    rmsg.msg_iovlen = 1;
    rmsg.msg_control = back;
    rmsg.msg_controllen = sizeof back;
    ASSERT_EQ(::recvmsg(a.fd, &rmsg, MSG_DONTWAIT), 1);
    EXPECT_EQ(got, 'f');
    cmsghdr *rc = CMSG_FIRSTHDR(&rmsg);
    ASSERT_NE(rc, nullptr);
    int arrived;
    std::memcpy(&arrived, CMSG_DATA(rc), sizeof arrived);
    Fd keep(arrived);
}

TEST(UnixSocket, OtherAddressFamiliesAreRefusedByName) {
    if (!have_pidfd_getfd()) GTEST_SKIP() << "no pidfd_getfd (emulated?)";
    Fd udp(::socket(AF_INET, SOCK_DGRAM, 0));
    ASSERT_GE(udp.fd, 0);
    uint64_t peer = 0;
    auto d = describe(udp.fd, &peer);
    ASSERT_FALSE(d.ok());
    EXPECT_NE(d.error().message().find("only AF_UNIX sockets are supported"), std::string::npos)
        << d.error().message();
}

images::FileEntry unix_entry(uint32_t id, uint32_t type, uint32_t peer_id) {
    images::FileEntry e;
    e.set_id(id);
    auto *sk = e.mutable_unix_sk();
    sk->set_ino(900 + id);
    sk->set_type(type);
    sk->set_flags(O_RDWR);
    if (peer_id) sk->set_state(images::UNIX_SK_CONNECTED);
    sk->set_peer_id(peer_id);
    return e;
}

TEST(UnixSocket, DgramPairComesBackConnectedWithDataBothWays) {
    std::vector<images::FileEntry> files{unix_entry(1, SOCK_DGRAM, 2), unix_entry(2, SOCK_DGRAM, 1)};
    files[0].mutable_unix_sk()->add_queued("to one");
    files[0].mutable_unix_sk()->add_queued("again");
    files[1].mutable_unix_sk()->add_queued("to two");
    files[1].mutable_unix_sk()->set_flags(O_RDWR | O_NONBLOCK);
    auto made = open_unix_sockets(files, no_other_files);
    ASSERT_TRUE(made.ok()) << made.error().message();
    ASSERT_EQ(made->size(), 2u);
    Fd one((*made)[0].second), two((*made)[1].second);
    EXPECT_EQ((*made)[0].first, 1u);
    EXPECT_FALSE(::fcntl(one.fd, F_GETFL) & O_NONBLOCK);
    EXPECT_TRUE(::fcntl(two.fd, F_GETFL) & O_NONBLOCK);
    char buf[16];
    ASSERT_EQ(::recv(one.fd, buf, sizeof buf, MSG_DONTWAIT), 6);
    EXPECT_EQ(std::string(buf, 6), "to one");
    ASSERT_EQ(::recv(one.fd, buf, sizeof buf, MSG_DONTWAIT), 5);
    EXPECT_EQ(std::string(buf, 5), "again");
    ASSERT_EQ(::recv(two.fd, buf, sizeof buf, MSG_DONTWAIT), 6);
    ASSERT_EQ(::send(two.fd, "new", 3, 0), 3);
    EXPECT_EQ(::recv(one.fd, buf, sizeof buf, MSG_DONTWAIT), 3);
}

TEST(UnixSocket, StreamWhosePeerWasClosedReadsItsDataThenEndOfFile) {
    std::vector<images::FileEntry> files{unix_entry(1, SOCK_STREAM, 0)};
    files[0].mutable_unix_sk()->set_state(images::UNIX_SK_CONNECTED);
    files[0].mutable_unix_sk()->add_queued("last words");
    auto made = open_unix_sockets(files, no_other_files);
    ASSERT_TRUE(made.ok()) << made.error().message();
    Fd s((*made)[0].second);
    char buf[32];
    EXPECT_EQ(::recv(s.fd, buf, sizeof buf, MSG_DONTWAIT), 10);
    EXPECT_EQ(::recv(s.fd, buf, sizeof buf, MSG_DONTWAIT), 0);
}

TEST(UnixSocket, BoundDgramSocketGetsItsQueueAndTheSocketFileMode) {
    std::string dir = ::testing::TempDir() + "stasis-unix-XXXXXX";
    ASSERT_NE(::mkdtemp(dir.data()), nullptr);
    std::string path = dir + "/d.sock";
    // A stale socket file left at the path, as a killed process leaves it.
    {
        Fd stale(::socket(AF_UNIX, SOCK_DGRAM, 0));
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
        ASSERT_EQ(::bind(stale.fd, reinterpret_cast<sockaddr *>(&a), sizeof a), 0);
    }
    std::vector<images::FileEntry> files{unix_entry(1, SOCK_DGRAM, 0)};
    auto *sk = files[0].mutable_unix_sk();
    sk->set_name(path);
    sk->set_name_mode(0604);
    sk->add_queued("first");
    sk->add_queued("second");
    auto made = open_unix_sockets(files, no_other_files);
    ASSERT_TRUE(made.ok()) << made.error().message();
    Fd s((*made)[0].second);
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0604u);
    char buf[16];
    EXPECT_EQ(::recv(s.fd, buf, sizeof buf, MSG_DONTWAIT), 5);
    EXPECT_EQ(::recv(s.fd, buf, sizeof buf, MSG_DONTWAIT), 6);
    ::unlink(path.c_str());
    ::rmdir(dir.c_str());
}

TEST(UnixSocket, SocketWhoseFileWasRemovedIsBoundThenUnlinkedAgain) {
    std::string dir = ::testing::TempDir() + "stasis-unix-XXXXXX";
    ASSERT_NE(::mkdtemp(dir.data()), nullptr);
    std::string path = dir + "/gone.sock";
    std::vector<images::FileEntry> files{unix_entry(1, SOCK_STREAM, 0), unix_entry(2, SOCK_DGRAM, 0)};
    files[0].mutable_unix_sk()->set_name(path);
    files[0].mutable_unix_sk()->set_name_unlinked(true);
    files[0].mutable_unix_sk()->set_state(images::UNIX_SK_LISTENING);
    files[0].mutable_unix_sk()->set_backlog(3);
    files[1].mutable_unix_sk()->set_name(std::string("\0stasis-unit-", 13) + std::to_string(::getpid()));
    auto made = open_unix_sockets(files, no_other_files);
    ASSERT_TRUE(made.ok()) << made.error().message();
    Fd listener((*made)[0].second), abstract((*made)[1].second);
    EXPECT_EQ(int_opt(listener.fd, SO_ACCEPTCONN), 1);
    sockaddr_un a{};
    socklen_t len = sizeof a;
    ASSERT_EQ(::getsockname(listener.fd, reinterpret_cast<sockaddr *>(&a), &len), 0);
    EXPECT_EQ(std::string(a.sun_path), path);
    EXPECT_NE(::access(path.c_str(), F_OK), 0);  // its file is gone again
    len = sizeof a;
    ASSERT_EQ(::getsockname(abstract.fd, reinterpret_cast<sockaddr *>(&a), &len), 0);
    EXPECT_EQ(std::string(a.sun_path, len - offsetof(sockaddr_un, sun_path)), files[1].unix_sk().name());
    ::rmdir(dir.c_str());
}

}  // namespace
}  // namespace stasis::files
