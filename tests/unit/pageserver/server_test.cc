// Client and serve() over loopback TCP, as dump, page-server and restore
// use them.
#include "common/pageserver/server.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "common/pageserver/client.h"
#include "tests/unit/pageserver/temp_dir.h"

namespace stasis::pageserver {
namespace {

constexpr uint32_t kPage = 4096;

// on_listening is a plain function pointer: the port comes back through this.
std::atomic<int> g_port{-1};
void remember_port(uint16_t port) { g_port = port; }

// serve() on a thread, for one test.
class RunningServer {
public:
    explicit RunningServer(const std::string &dir, bool exit_when_finished = true,
                           const std::string &address = "127.0.0.1") {
        opts_.images_dir = dir;
        opts_.page_size = kPage;
        opts_.listen.address = address;
        opts_.listen.port = 0;  // any free port, told to remember_port()
        opts_.exit_when_finished = exit_when_finished;
        opts_.on_listening = remember_port;
        g_port = -1;
        thread_ = std::thread([this] {
            status_ = serve(opts_);
            done_ = true;
        });
        for (int i = 0; i < 2000 && g_port < 0 && !done_; i++)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        where_.address = address.empty() ? "127.0.0.1" : address;
        where_.port = uint16_t(std::max(0, g_port.load()));
    }
    ~RunningServer() {
        if (!thread_.joinable()) return;
        // A finished migration ends a server that exits when finished.
        if (!done_ && opts_.exit_when_finished) {
            auto c = Client::connect(where_, Role::fetch, kPage);
            if (c.ok()) (void)c->bye(true);
        }
        thread_.join();
    }
    // Waits (a while) for serve() to return.
    bool wait_done() {
        for (int i = 0; i < 2000 && !done_; i++) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        if (done_) thread_.join();
        return !thread_.joinable();
    }
    const Endpoint &where() const { return where_; }
    const Status &status() const { return status_; }
    bool listening() const { return g_port > 0; }

private:
    ServerOptions opts_;
    std::thread thread_;
    Status status_;
    std::atomic<bool> done_{false};
    Endpoint where_;
};

std::string pattern(size_t len) {
    std::string s(len, '\0');
    for (size_t i = 0; i < len; i++) s[i] = char(i * 13 + i / 4093);
    return s;
}

TEST(PageServer, ClientPushesAndFetchesThroughServe) {
    testing::TempDir dir;
    RunningServer server(dir.path());
    ASSERT_TRUE(server.listening()) << server.status().error().message();

    // More than kMaxPayload, in pieces the client must split and join.
    std::string data = pattern(kMaxPayload + 3 * kPage);
    {
        auto push = Client::connect(server.where(), Role::push, kPage);
        ASSERT_TRUE(push.ok()) << push.error().message();
        auto h = push->open("pages-1.img");
        ASSERT_TRUE(h.ok()) << h.error().message();
        std::vector<iovec> iov;
        for (size_t off = 0; off < data.size(); off += kPage) iov.push_back({data.data() + off, kPage});
        ASSERT_TRUE(push->write_iov(*h, iov.data(), int(iov.size() - 1)).ok());
        ASSERT_TRUE(push->write(*h, data.data() + data.size() - kPage, kPage).ok());
        Status c = push->commit(*h, data.size());
        ASSERT_TRUE(c.ok()) << c.error().message();
        ASSERT_TRUE(push->bye(false).ok());
    }
    {
        auto fetch = Client::connect(server.where(), Role::fetch, kPage);
        ASSERT_TRUE(fetch.ok()) << fetch.error().message();
        auto size = fetch->stat("pages-1.img");
        ASSERT_TRUE(size.ok()) << size.error().message();
        EXPECT_EQ(*size, data.size());
        std::string back(data.size(), '\0');
        for (size_t off = 0; off < data.size(); off += kMaxPayload) {
            size_t len = std::min<size_t>(kMaxPayload, data.size() - off);
            Status r = fetch->read("pages-1.img", kPage + off, back.data() + off, len);
            ASSERT_TRUE(r.ok()) << r.error().message();
        }
        EXPECT_TRUE(back == data);
        // An error answer is an Error naming the server; the session goes on.
        char byte;
        Status missing = fetch->read("pages-9.img", 0, &byte, 1);
        ASSERT_FALSE(missing.ok());
        EXPECT_NE(missing.error().message().find("page server " + server.where().text() + ": read"),
                  std::string::npos)
            << missing.error().message();
        ASSERT_TRUE(fetch->bye(true).ok());
    }
    // The migration is finished and no session is open: serve() returns.
    ASSERT_TRUE(server.wait_done());
    EXPECT_TRUE(server.status().ok()) << server.status().error().message();
}

TEST(PageServer, ClientWithAnotherPageSizeGetsTheServersReason) {
    testing::TempDir dir;
    RunningServer server(dir.path());
    ASSERT_TRUE(server.listening());
    auto c = Client::connect(server.where(), Role::push, 2 * kPage);
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().message().find("page size 8192 differs"), std::string::npos) << c.error().message();
    EXPECT_NE(c.error().message().find(server.where().text()), std::string::npos) << c.error().message();
}

TEST(PageServer, FailedCommitIsReportedToTheClient) {
    testing::TempDir dir;
    RunningServer server(dir.path());
    ASSERT_TRUE(server.listening());
    auto push = Client::connect(server.where(), Role::push, kPage);
    ASSERT_TRUE(push.ok()) << push.error().message();
    auto h = push->open("pages-1.img");
    ASSERT_TRUE(h.ok());
    std::string data = pattern(kPage);
    ASSERT_TRUE(push->write(*h, data.data(), data.size()).ok());
    Status c = push->commit(*h, 2 * kPage);
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().message().find("4096 data bytes were written, not 8192"), std::string::npos)
        << c.error().message();
    EXPECT_TRUE(dir.names().empty());
    EXPECT_TRUE(push->bye(true).ok());
}

TEST(PageServer, ConnectionRefusedNamesTheServer) {
    // A port nobody listens on: bound, then closed.
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr *>(&a), sizeof a), 0);
    ASSERT_EQ(::getsockname(s, reinterpret_cast<sockaddr *>(&a), &len), 0);
    ::close(s);
    Endpoint where{"", ntohs(a.sin_port)};  // no address: the loopback
    auto c = Client::connect(where, Role::fetch, kPage);
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().message().find("page server 127.0.0.1:" + std::to_string(where.port) + ": connect"),
              std::string::npos)
        << c.error().message();
}

TEST(PageServer, ServerThatHangsUpMidSessionIsAnErrorNotAHang) {
    // A "server" that accepts and closes at once.
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr *>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(s, 1), 0);
    ASSERT_EQ(::getsockname(s, reinterpret_cast<sockaddr *>(&a), &len), 0);
    std::thread t([s] { ::close(::accept(s, nullptr, nullptr)); });
    auto c = Client::connect(Endpoint{"127.0.0.1", ntohs(a.sin_port)}, Role::fetch, kPage);
    t.join();
    ::close(s);
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().message().find("closed the connection during hello"), std::string::npos)
        << c.error().message();
}

TEST(PageServer, SigtermStopsTheServerWithASessionOpen) {
    testing::TempDir dir;
    RunningServer server(dir.path(), false);
    ASSERT_TRUE(server.listening());
    auto idle = Client::connect(server.where(), Role::fetch, kPage);
    ASSERT_TRUE(idle.ok()) << idle.error().message();
    ::kill(::getpid(), SIGTERM);
    ASSERT_TRUE(server.wait_done());
    EXPECT_TRUE(server.status().ok());
    // The session was ended: the idle client finds out.
    EXPECT_FALSE(idle->stat("pages-1.img").ok());
}

TEST(PageServer, Ipv6LoopbackWorksWhereThereIsIpv6) {
    int probe = ::socket(AF_INET6, SOCK_STREAM, 0);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    bool have_v6 = probe >= 0 && ::bind(probe, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0;
    if (probe >= 0) ::close(probe);
    if (!have_v6) GTEST_SKIP() << "no IPv6 loopback here";
    testing::TempDir dir;
    RunningServer server(dir.path(), true, "");  // every address: IPv6 and IPv4
    ASSERT_TRUE(server.listening()) << server.status().error().message();
    auto v6 = Client::connect(Endpoint{"::1", server.where().port}, Role::fetch, kPage);
    ASSERT_TRUE(v6.ok()) << v6.error().message();
    auto v4 = Client::connect(Endpoint{"127.0.0.1", server.where().port}, Role::fetch, kPage);
    ASSERT_TRUE(v4.ok()) << v4.error().message();
    EXPECT_TRUE(v4->bye(false).ok());
    EXPECT_TRUE(v6->bye(true).ok());
    ASSERT_TRUE(server.wait_done());
    EXPECT_TRUE(server.status().ok());
}

}  // namespace
}  // namespace stasis::pageserver
