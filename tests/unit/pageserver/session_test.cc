// One page server session driven over a socketpair, speaking the protocol
// byte by byte (as a misbehaving client could).
#include "common/pageserver/session.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <thread>

#include "common/images/file_io.h"
#include "common/images/image_writer.h"
#include "common/pageserver/protocol.h"
#include "tests/unit/pageserver/temp_dir.h"

namespace stasis::pageserver {
namespace {

constexpr uint32_t kPage = 4096;

std::string read_file(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string pattern(size_t len, char seed) {
    std::string s(len, '\0');
    for (size_t i = 0; i < len; i++) s[i] = char(seed + i * 7 + i / 4096);
    return s;
}

struct Reply {
    Header h;
    std::string payload;
};

// The client end of a session run by serve_session() on a thread.
class SessionTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_FALSE(dir_.path().empty());
        auto fd = images::open_dir(dir_.path(), false);
        ASSERT_TRUE(fd.ok());
        dirfd_ = std::move(fd).value();
        ctx_.dirfd = dirfd_.get();
        ctx_.page_size = kPage;
    }
    void TearDown() override { (void)end(); }

    void start() {
        int sv[2];
        ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        client_ = images::Fd(sv[0]);
        server_ = images::Fd(sv[1]);
        status_.reset();
        thread_ = std::thread([this] {
            status_ = serve_session(server_.get(), ctx_, "test peer");
            // As serve() closes it: the client then sees the session end.
            ::shutdown(server_.get(), SHUT_RDWR);
        });
    }
    // Hangs up (if still connected) and returns how the session ended.
    Status end() {
        client_ = images::Fd();
        if (thread_.joinable()) thread_.join();
        server_ = images::Fd();
        return status_ ? *status_ : ok();
    }

    void send_raw(const std::string &bytes) {
        ASSERT_EQ(::send(client_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL), ssize_t(bytes.size()));
    }
    void send(Header h, const std::string &payload = "") {
        unsigned char head[kHeaderSize];
        encode(h, head);
        send_raw(std::string(reinterpret_cast<char *>(head), kHeaderSize) + payload);
    }
    // The next reply; an `error` op with empty text when the session hung up.
    Reply recv() {
        unsigned char head[kHeaderSize];
        if (!recv_all(head, kHeaderSize)) return Reply{Header{Op::error, 0, 0, 0, 0}, "<closed>"};
        auto h = decode(head);
        EXPECT_TRUE(h.ok()) << h.error().message();
        if (!h.ok()) return Reply{Header{Op::error, 0, 0, 0, 0}, "<bad header>"};
        std::string payload(size_t(h->length), '\0');
        EXPECT_TRUE(recv_all(payload.data(), payload.size()));
        return Reply{*h, payload};
    }
    bool recv_all(void *buf, size_t len) {
        auto p = static_cast<char *>(buf);
        while (len > 0) {
            ssize_t n = ::recv(client_.get(), p, len, 0);
            if (n <= 0) return false;
            p += n;
            len -= size_t(n);
        }
        return true;
    }
    // True when the server closed its side (the session ended).
    bool closed_by_server() {
        char c;
        return ::recv(client_.get(), &c, 1, 0) == 0;
    }

    void hello(Role role) {
        send(Header{Op::hello, 0, uint32_t(role), kPage, 0});
        Reply r = recv();
        ASSERT_EQ(r.h.op, Op::hello_ok) << r.payload;
    }
    uint32_t open(const std::string &name) {
        send(Header{Op::open, 0, 0, 0, name.size()}, name);
        Reply r = recv();
        EXPECT_EQ(r.h.op, Op::opened) << r.payload;
        return r.h.handle;
    }
    void write(uint32_t handle, const std::string &data) {
        send(Header{Op::write, handle, 0, 0, data.size()}, data);
    }
    Reply commit(uint32_t handle, uint64_t bytes) {
        send(Header{Op::commit, handle, 0, bytes, 0});
        return recv();
    }
    Reply stat(const std::string &name) {
        send(Header{Op::stat, 0, 0, 0, name.size()}, name);
        return recv();
    }
    Reply read(const std::string &name, uint64_t offset, uint64_t len) {
        send(Header{Op::read, 0, uint32_t(name.size()), offset, len}, name);
        return recv();
    }
    void bye(bool finished) {
        send(Header{Op::bye, 0, finished ? kByeFinished : 0, 0, 0});
        EXPECT_EQ(recv().h.op, Op::bye_ok);
    }
    // Pushes `data` as `name` and commits it.
    void push(const std::string &name, const std::string &data) {
        start();
        hello(Role::push);
        uint32_t h = open(name);
        write(h, data);
        Reply r = commit(h, data.size());
        ASSERT_EQ(r.h.op, Op::committed) << r.payload;
        bye(false);
        ASSERT_TRUE(end().ok());
    }

    testing::TempDir dir_;
    images::Fd dirfd_;
    SessionContext ctx_;
    images::Fd client_, server_;
    std::thread thread_;
    std::optional<Status> status_;
};

TEST_F(SessionTest, PushedFileIsCommittedAndFetchedBack) {
    std::string data = pattern(3 * kPage, 'a');
    start();
    hello(Role::push);
    uint32_t h = open("pages-1.img");
    EXPECT_NE(h, 0u);
    write(h, data.substr(0, 100));
    write(h, data.substr(100));
    Reply r = commit(h, data.size());
    ASSERT_EQ(r.h.op, Op::committed) << r.payload;
    EXPECT_EQ(r.h.offset, data.size());
    bye(false);
    ASSERT_TRUE(end().ok());
    EXPECT_EQ(dir_.names(), std::vector<std::string>{"pages-1.img"});
    struct stat st;
    ASSERT_EQ(::stat(dir_.file("pages-1.img").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);

    start();
    hello(Role::fetch);
    r = stat("pages-1.img");
    ASSERT_EQ(r.h.op, Op::size) << r.payload;
    EXPECT_EQ(r.h.offset, data.size());
    r = read("pages-1.img", kPage, data.size());  // all the data, after the header page
    ASSERT_EQ(r.h.op, Op::data) << r.payload;
    EXPECT_EQ(r.payload, data);
    r = read("pages-1.img", 2 * kPage + 5, 10);
    ASSERT_EQ(r.h.op, Op::data) << r.payload;
    EXPECT_EQ(r.payload, data.substr(kPage + 5, 10));
    bye(false);
    EXPECT_TRUE(end().ok());
    EXPECT_FALSE(ctx_.finished);
}

TEST_F(SessionTest, PushedFileHasTheBytesOfALocalRawImage) {
    std::string data = pattern(2 * kPage, 'q');
    push("pages-7.img", data);
    testing::TempDir local;
    auto w = images::RawImageWriter::create(local.path(), "pages-7.img", images::IMAGE_PAGES, kPage);
    ASSERT_TRUE(w.ok()) << w.error().message();
    ASSERT_TRUE(w->append(data.data(), data.size()).ok());
    ASSERT_TRUE(w->commit().ok());
    EXPECT_EQ(read_file(dir_.file("pages-7.img")), read_file(local.file("pages-7.img")));
}

TEST_F(SessionTest, PushReplacesAnOlderFileOfTheSameName) {
    push("pages-2.img", pattern(kPage, 'x'));
    push("pages-2.img", pattern(2 * kPage, 'y'));
    EXPECT_EQ(read_file(dir_.file("pages-2.img")).substr(kPage), pattern(2 * kPage, 'y'));
}

TEST_F(SessionTest, CommitOfTheWrongSizeIsRefusedAndRemovesTheFile) {
    start();
    hello(Role::push);
    uint32_t h = open("pages-1.img");
    write(h, pattern(2 * kPage, 'a'));
    Reply r = commit(h, kPage);
    ASSERT_EQ(r.h.op, Op::error);
    EXPECT_NE(r.payload.find("8192 data bytes were written, not 4096"), std::string::npos) << r.payload;
    EXPECT_TRUE(dir_.names().empty());
    // Answered, not fatal: the session goes on, the handle is gone.
    r = commit(h, 2 * kPage);
    ASSERT_EQ(r.h.op, Op::error);
    EXPECT_NE(r.payload.find("not open"), std::string::npos) << r.payload;
    bye(false);
    EXPECT_TRUE(end().ok());
}

TEST_F(SessionTest, CommitOfPartPagesIsRefused) {
    start();
    hello(Role::push);
    uint32_t h = open("pages-1.img");
    write(h, "12345");
    Reply r = commit(h, 5);
    ASSERT_EQ(r.h.op, Op::error);
    EXPECT_NE(r.payload.find("not whole pages"), std::string::npos) << r.payload;
    EXPECT_TRUE(dir_.names().empty());
}

TEST_F(SessionTest, InvalidNamesAreRefusedAndTheSessionGoesOn) {
    start();
    hello(Role::push);
    for (std::string bad : {"../pages-1.img", "pages-01.img", "core-1.img", "", "pages-1.img\n"}) {
        send(Header{Op::open, 0, 0, 0, bad.size()}, bad);
        Reply r = recv();
        ASSERT_EQ(r.h.op, Op::error) << bad;
        EXPECT_NE(r.payload.find("is not a pages image name"), std::string::npos) << r.payload;
        EXPECT_EQ(r.payload.find('\n'), std::string::npos) << "one line: " << r.payload;
    }
    EXPECT_NE(open("pages-3.img"), 0u);
    EXPECT_TRUE(dir_.names().size() == 1 && dir_.names()[0][0] == '.') << "only the temporary file";
}

TEST_F(SessionTest, NameLongerThanTheLimitEndsTheSession) {
    start();
    hello(Role::push);
    std::string name(kMaxName + 1, 'p');
    send(Header{Op::open, 0, 0, 0, name.size()}, name);
    Reply r = recv();
    ASSERT_EQ(r.h.op, Op::error);
    EXPECT_TRUE(closed_by_server());
    EXPECT_FALSE(end().ok());
}

TEST_F(SessionTest, HelloWithAnotherPageSizeIsRefused) {
    start();
    send(Header{Op::hello, 0, uint32_t(Role::push), 2 * kPage, 0});
    Reply r = recv();
    ASSERT_EQ(r.h.op, Op::error);
    EXPECT_NE(r.payload.find("page size 8192 differs from this page server's 4096"), std::string::npos)
        << r.payload;
    EXPECT_TRUE(closed_by_server());
    EXPECT_FALSE(end().ok());
}

TEST_F(SessionTest, HelloWithAnUnknownRoleIsRefused) {
    start();
    send(Header{Op::hello, 0, 3, kPage, 0});
    EXPECT_EQ(recv().h.op, Op::error);
    EXPECT_FALSE(end().ok());
}

TEST_F(SessionTest, RequestBeforeHelloEndsTheSession) {
    start();
    send(Header{Op::stat, 0, 0, 0, 11}, "pages-1.img");
    Reply r = recv();
    ASSERT_EQ(r.h.op, Op::error);
    EXPECT_NE(r.payload.find("stat before hello"), std::string::npos) << r.payload;
    EXPECT_FALSE(end().ok());
}

TEST_F(SessionTest, OpOfTheOtherRoleEndsTheSession) {
    start();
    hello(Role::fetch);
    send(Header{Op::open, 0, 0, 0, 11}, "pages-1.img");
    Reply r = recv();
    ASSERT_EQ(r.h.op, Op::error);
    EXPECT_NE(r.payload.find("open in a fetch session"), std::string::npos) << r.payload;
    EXPECT_TRUE(closed_by_server());
    EXPECT_FALSE(end().ok());
    EXPECT_TRUE(dir_.names().empty());
}

TEST_F(SessionTest, GarbageHeaderEndsTheSession) {
    start();
    hello(Role::fetch);
    send_raw(std::string(kHeaderSize, 'Z'));
    Reply r = recv();
    ASSERT_EQ(r.h.op, Op::error);
    EXPECT_NE(r.payload.find("page server protocol: bad magic"), std::string::npos) << r.payload;
    Status s = end();
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message().find("bad magic"), std::string::npos) << s.error().message();
}

TEST_F(SessionTest, WriteToAHandleNotOpenEndsTheSession) {
    start();
    hello(Role::push);
    write(9, "data");
    EXPECT_EQ(recv().h.op, Op::error);
    EXPECT_FALSE(end().ok());
}

TEST_F(SessionTest, DisconnectInTheMiddleOfAWriteLeavesNoFile) {
    start();
    hello(Role::push);
    uint32_t h = open("pages-1.img");
    write(h, pattern(kPage, 'a'));
    // A write header announcing more than is sent, then the client is gone.
    unsigned char head[kHeaderSize];
    encode(Header{Op::write, h, 0, 0, 2 * kPage}, head);
    send_raw(std::string(reinterpret_cast<char *>(head), kHeaderSize) + pattern(100, 'b'));
    Status s = end();
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message().find("closed the connection during write"), std::string::npos)
        << s.error().message();
    EXPECT_TRUE(dir_.names().empty());
}

TEST_F(SessionTest, DisconnectBeforeCommitLeavesNoFile) {
    start();
    hello(Role::push);
    write(open("pages-1.img"), pattern(kPage, 'a'));
    write(open("pages-2.img"), pattern(kPage, 'b'));
    Status s = end();
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message().find("2 files not committed"), std::string::npos) << s.error().message();
    EXPECT_TRUE(dir_.names().empty());
}

TEST_F(SessionTest, MissingFileIsAnsweredAndTheSessionGoesOn) {
    push("pages-1.img", pattern(kPage, 'a'));
    start();
    hello(Role::fetch);
    Reply r = stat("pages-2.img");
    ASSERT_EQ(r.h.op, Op::error);
    EXPECT_NE(r.payload.find("pages-2.img: No such file"), std::string::npos) << r.payload;
    r = read("pages-2.img", 0, 1);
    ASSERT_EQ(r.h.op, Op::error);
    r = stat("pages-1.img");
    ASSERT_EQ(r.h.op, Op::size) << r.payload;
    EXPECT_EQ(r.h.offset, kPage);
    bye(true);
    EXPECT_TRUE(end().ok());
    EXPECT_TRUE(ctx_.finished);
}

TEST_F(SessionTest, ReadOutsideTheFileIsRefused) {
    push("pages-1.img", pattern(kPage, 'a'));
    start();
    hello(Role::fetch);
    for (auto [offset, len] : {std::pair<uint64_t, uint64_t>{kPage, kPage + 1},
                               {2 * kPage + 1, 0},
                               {~0ull, 2},
                               {~0ull - 1, kMaxPayload}}) {
        Reply r = read("pages-1.img", offset, len);
        ASSERT_EQ(r.h.op, Op::error) << offset << " " << len;
        EXPECT_NE(r.payload.find("beyond"), std::string::npos) << r.payload;
    }
    Reply r = read("pages-1.img", 2 * kPage, 0);  // the empty range at the end is inside
    EXPECT_EQ(r.h.op, Op::data) << r.payload;
    bye(false);
    EXPECT_TRUE(end().ok());
}

TEST_F(SessionTest, FilesThatAreNotPagesImagesAreNotServed) {
    // A symlink (O_NOFOLLOW), a short file and another kind of image.
    ASSERT_EQ(::symlink("/etc/passwd", dir_.file("pages-1.img").c_str()), 0);
    { std::ofstream(dir_.file("pages-2.img")) << "short"; }
    push("pages-3.img", pattern(kPage, 'a'));
    std::string bytes = read_file(dir_.file("pages-3.img"));
    bytes[4] = 99;  // an unknown kind
    { std::ofstream(dir_.file("pages-4.img"), std::ios::binary) << bytes; }
    ASSERT_EQ(::mkfifo(dir_.file("pages-5.img").c_str(), 0600), 0);
    start();
    hello(Role::fetch);
    for (const char *name : {"pages-1.img", "pages-2.img", "pages-4.img", "pages-5.img"}) {
        EXPECT_EQ(stat(name).h.op, Op::error) << name;
        EXPECT_EQ(read(name, 0, 1).h.op, Op::error) << name;
    }
    EXPECT_EQ(stat("pages-3.img").h.op, Op::size);
    bye(false);
    EXPECT_TRUE(end().ok());
}

}  // namespace
}  // namespace stasis::pageserver
