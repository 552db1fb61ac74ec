// libFuzzer target: one page server session (common/pageserver/session.h)
// whose client side is the fuzz input, fed over a socketpair into a
// temporary image directory that holds a valid pages-7.img to fetch. The
// session must end (never hang or crash) whatever it is sent, and leave no
// temporary file behind. Also decodes the first 32 bytes as a header:
// what decode() accepts must encode back to the same bytes.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "common/images/format.h"
#include "common/pageserver/protocol.h"
#include "common/pageserver/session.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace stasis;
constexpr uint32_t kPage = 4096;

std::vector<std::string> entries(int dirfd);

std::string g_dir_path;

// Removes the image directory when the fuzzer exits.
void remove_image_dir() {
    int fd = ::open(g_dir_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    for (const auto &name : entries(fd)) ::unlinkat(fd, name.c_str(), 0);
    ::close(fd);
    ::rmdir(g_dir_path.c_str());
}

// The image directory, made once per process and emptied per input.
int image_dir() {
    static int fd = [] {
        const char *tmp = std::getenv("TMPDIR");
        std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/stasis-fuzz-page-server-XXXXXX";
        if (!::mkdtemp(templ.data())) std::abort();
        g_dir_path = templ;
        std::atexit(remove_image_dir);
        return ::open(templ.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }();
    return fd;
}

std::vector<std::string> entries(int dirfd) {
    std::vector<std::string> names;
    int dup = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    DIR *d = ::fdopendir(dup);
    if (!d) return names;
    while (dirent *e = ::readdir(d))
        if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) names.push_back(e->d_name);
    ::closedir(d);
    return names;
}

// An empty directory but for pages-7.img: the header page and two pages.
void reset_dir(int dirfd) {
    for (const auto &name : entries(dirfd)) ::unlinkat(dirfd, name.c_str(), 0);
    static const std::string pages7 = [] {
        std::string bytes(3 * kPage, '\0');
        const images::KindInfo *info = images::kind_info(images::IMAGE_PAGES);
        images::encode_header(
            images::ImageHeader{images::kImageMagic, uint32_t(images::IMAGE_PAGES), info->version, 0},
            bytes.data());
        for (size_t i = kPage; i < bytes.size(); i++) bytes[i] = char(i * 31);
        return bytes;
    }();
    int fd = ::openat(dirfd, "pages-7.img", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || ::write(fd, pages7.data(), pages7.size()) != ssize_t(pages7.size())) std::abort();
    ::close(fd);
}

// The client: sends the input (then its half-close) while reading and
// dropping every reply, so neither side can block the other.
void play_client(int fd, const uint8_t *data, size_t size) {
    size_t sent = 0;
    bool sending = size > 0;
    if (!sending) ::shutdown(fd, SHUT_WR);
    for (;;) {
        pollfd p{fd, short(POLLIN | (sending ? POLLOUT : 0)), 0};
        if (::poll(&p, 1, -1) < 0) continue;
        if (p.revents & POLLIN) {
            char sink[65536];
            ssize_t n = ::recv(fd, sink, sizeof sink, MSG_DONTWAIT);
            if (n == 0) return;  // the session ended
            if (n < 0 && errno != EAGAIN && errno != EINTR) return;
        } else if (p.revents & (POLLHUP | POLLERR)) {
            return;
        }
        if (sending && (p.revents & POLLOUT)) {
            ssize_t n = ::send(fd, data + sent, size - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0) sent += size_t(n);
            if (n < 0 && errno != EAGAIN && errno != EINTR) sending = false;
            if (sent == size || !sending) {
                ::shutdown(fd, SHUT_WR);
                sending = false;
            }
        }
    }
}

void check_header_round_trip(const uint8_t *data, size_t size) {
    if (size < pageserver::kHeaderSize) return;
    auto h = pageserver::decode(data);
    if (!h.ok()) return;
    unsigned char again[pageserver::kHeaderSize];
    pageserver::encode(*h, again);
    if (std::memcmp(again, data, sizeof again) != 0)
        images::fuzz::property_failed("header round trip", "encode(decode(bytes)) differs");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    check_header_round_trip(data, size);

    int dirfd = image_dir();
    reset_dir(dirfd);
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) std::abort();
    std::thread client(play_client, sv[0], data, size);
    pageserver::SessionContext ctx;
    ctx.dirfd = dirfd;
    ctx.page_size = kPage;
    (void)pageserver::serve_session(sv[1], ctx, "fuzz");
    ::shutdown(sv[1], SHUT_RDWR);
    client.join();
    ::close(sv[0]);
    ::close(sv[1]);

    // Whatever happened, nothing half-written stays: only committed images.
    for (const auto &name : entries(dirfd))
        if (!pageserver::valid_pages_name(name)) images::fuzz::property_failed("file left behind", name);
    return 0;
}
