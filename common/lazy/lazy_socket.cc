#include "common/lazy/lazy_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "common/util/log.h"

namespace stasis::lazy {
namespace {

Result<sockaddr_un> address(int dirfd) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::string path = log::cat("/proc/self/fd/", dirfd, "/", kSocketName);
    if (path.size() >= sizeof a.sun_path) return Error("socket path too long: " + path);
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    return a;
}

}  // namespace

Result<images::Fd> listen_socket(const std::string &images_dir) {
    STASIS_ASSIGN(images::Fd dir, std::move(images::open_dir(images_dir, false)).context("images dir"));
    STASIS_ASSIGN(sockaddr_un a, address(dir.get()));
    images::Fd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s.valid()) return Error::from_errno("socket");
    // A socket file left by a server that is gone: nobody answers on it.
    struct stat st {};
    if (::fstatat(dir.get(), kSocketName, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (!S_ISSOCK(st.st_mode)) return Error(log::cat(images_dir, "/", kSocketName, " exists and is no socket"));
        images::Fd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (::connect(probe.get(), reinterpret_cast<sockaddr *>(&a), sizeof a) == 0)
            return Error(log::cat("another stasis lazy-pages already serves ", images_dir));
        ::unlinkat(dir.get(), kSocketName, 0);
    }
    mode_t old = ::umask(0177);
    int r = ::bind(s.get(), reinterpret_cast<sockaddr *>(&a), sizeof a);
    ::umask(old);
    if (r != 0) return Error::from_errno(log::cat("bind ", images_dir, "/", kSocketName));
    if (::listen(s.get(), 128) != 0) return Error::from_errno("listen");
    return s;
}

Result<images::Fd> connect_socket(const std::string &images_dir, int wait_ms) {
    STASIS_ASSIGN(images::Fd dir, std::move(images::open_dir(images_dir, false)).context("images dir"));
    STASIS_ASSIGN(sockaddr_un a, address(dir.get()));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
    for (;;) {
        images::Fd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (!s.valid()) return Error::from_errno("socket");
        if (::connect(s.get(), reinterpret_cast<sockaddr *>(&a), sizeof a) == 0) return s;
        int err = errno;
        if ((err != ENOENT && err != ECONNREFUSED) || std::chrono::steady_clock::now() >= deadline)
            return Error::from_errno(log::cat("no stasis lazy-pages serving ", images_dir, " (start it first)"), err);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

}  // namespace stasis::lazy
