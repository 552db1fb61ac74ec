// TCP sockets of this process, taken apart the way the dump does
// (TcpSockets) and made again the way the restore does (open_tcp_sockets):
// a connection closed in repair mode is dropped without a word to its peer,
// and one rebuilt in repair mode goes on where it was, its sent-but-not-
// acknowledged data retransmitted. Needs CAP_NET_ADMIN (skipped without).
#include "common/files/tcp_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include <gtest/gtest.h>

namespace stasis::files {
namespace {

struct Fd {
    int fd = -1;
    Fd() = default;
    explicit Fd(int f) : fd(f) {}
    Fd(const Fd &) = delete;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

bool have_pidfd_getfd() { return ::syscall(SYS_pidfd_getfd, -1, 0, 0) >= 0 || errno != ENOSYS; }

bool can_repair() {
    Fd s(::socket(AF_INET, SOCK_STREAM, 0));
    int on = TCP_REPAIR_ON;
    return ::setsockopt(s.fd, IPPROTO_TCP, TCP_REPAIR, &on, sizeof on) == 0;
}

// A loopback connection: client and accepted server end.
void connect_pair(Fd *client, Fd *server) {
    Fd l(::socket(AF_INET, SOCK_STREAM, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ASSERT_EQ(::bind(l.fd, reinterpret_cast<sockaddr *>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(l.fd, 1), 0);
    ASSERT_EQ(::getsockname(l.fd, reinterpret_cast<sockaddr *>(&a), &len), 0);
    client->fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_EQ(::connect(client->fd, reinterpret_cast<sockaddr *>(&a), sizeof a), 0);
    server->fd = ::accept(l.fd, nullptr, nullptr);
    ASSERT_GE(server->fd, 0);
}

std::string read_some(int fd, size_t want) {
    std::string out;
    char buf[256];
    while (out.size() < want) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 5000) <= 0) break;
        ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0) break;
        out.append(buf, size_t(n));
    }
    return out;
}

// The dump's view of `fd`: described, held in repair mode, queues read.
Result<images::FileEntry> dump_connection(TcpSockets &held, int fd) {
    images::FileEntry e;
    e.set_id(1);
    struct stat st {};
    if (::fstat(fd, &st) != 0) return Error::from_errno("fstat");
    proc::FdInfo info;
    info.flags = O_RDWR;
    STASIS_ASSIGN(images::Fd copy, copy_of_socket(::getpid(), fd));
    STASIS_TRY(TcpSockets::describe(st.st_ino, info, copy, e.mutable_tcp_sk()));
    STASIS_TRY(held.hold(1, ::getpid(), fd, std::move(copy), e.tcp_sk()));
    std::vector<images::FileEntry> entries{e};
    STASIS_TRY(held.read_connections(entries));
    return entries[0];
}

TEST(TcpSocket, QueuesAreReadWithTheirSequenceNumbersNotConsumed) {
    if (!have_pidfd_getfd() || !can_repair()) GTEST_SKIP() << "no pidfd_getfd or no CAP_NET_ADMIN";
    Fd client, server;
    connect_pair(&client, &server);
    ASSERT_EQ(::send(server.fd, "queued for the client", 21, 0), 21);
    ASSERT_EQ(read_some(client.fd, 0), "");
    ::usleep(50 * 1000);
    TcpSockets held;
    auto e = dump_connection(held, client.fd);
    ASSERT_TRUE(e.ok()) << e.error().message();
    const auto &c = e->tcp_sk().connection();
    EXPECT_EQ(e->tcp_sk().state(), images::TCP_SK_ESTABLISHED);
    EXPECT_EQ(c.recv_queue(), "queued for the client");
    EXPECT_EQ(c.send_queue(), "");
    EXPECT_GT(c.mss_clamp(), 0u);
    ASSERT_TRUE(held.leave_repair().ok());
    EXPECT_EQ(read_some(client.fd, 21), "queued for the client");  // still there, and readable again
}

TEST(TcpSocket, ConnectionClosedInRepairModeIsRebuiltAndRetransmitsItsSentData) {
    if (!have_pidfd_getfd() || !can_repair()) GTEST_SKIP() << "no pidfd_getfd or no CAP_NET_ADMIN";
    Fd client, server;
    connect_pair(&client, &server);
    ASSERT_EQ(::send(server.fd, "to client", 9, 0), 9);
    ::usleep(50 * 1000);
    images::FileEntry e;
    {
        TcpSockets held;
        auto dumped = dump_connection(held, client.fd);
        ASSERT_TRUE(dumped.ok()) << dumped.error().message();
        e = *dumped;
        held.close_silently();
        ::close(client.fd);  // the last reference: dropped in repair mode
        client.fd = -1;
    }
    pollfd p{server.fd, POLLRDHUP, 0};
    EXPECT_EQ(::poll(&p, 1, 200), 0) << "the peer saw the connection end (revents " << p.revents << ")";
    // As if the process had written "hello" just before the dump, sent but
    // not acknowledged: it must reach the peer by retransmission.
    e.mutable_tcp_sk()->mutable_connection()->set_send_queue("hello");
    auto made = open_tcp_sockets({e});
    ASSERT_TRUE(made.ok()) << made.error().message();
    ASSERT_EQ(made->size(), 1u);
    Fd again(made->front().second);
    EXPECT_EQ(read_some(server.fd, 5), "hello");
    EXPECT_EQ(read_some(again.fd, 9), "to client");
    ASSERT_EQ(::send(again.fd, " world", 6, 0), 6);
    EXPECT_EQ(read_some(server.fd, 6), " world");
}

TEST(TcpSocket, ListenerWithConnectionWaitingIsRefused) {
    if (!have_pidfd_getfd()) GTEST_SKIP() << "no pidfd_getfd";
    Fd l(::socket(AF_INET, SOCK_STREAM, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ASSERT_EQ(::bind(l.fd, reinterpret_cast<sockaddr *>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(l.fd, 1), 0);
    ASSERT_EQ(::getsockname(l.fd, reinterpret_cast<sockaddr *>(&a), &len), 0);
    Fd c(::socket(AF_INET, SOCK_STREAM, 0));
    ASSERT_EQ(::connect(c.fd, reinterpret_cast<sockaddr *>(&a), sizeof a), 0);
    auto copy = copy_of_socket(::getpid(), l.fd);
    ASSERT_TRUE(copy.ok());
    images::TcpSocketFile out;
    proc::FdInfo info;
    info.flags = O_RDWR;
    auto st = TcpSockets::describe(7, info, *copy, &out);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message().find("1 connection(s) not accepted yet"), std::string::npos)
        << st.error().message();
}

}  // namespace
}  // namespace stasis::files
