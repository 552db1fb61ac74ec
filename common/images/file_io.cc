#include "common/images/file_io.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <vector>

#include "common/util/log.h"

namespace stasis::images {

Fd &Fd::operator=(Fd &&o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = o.release();
    }
    return *this;
}

Fd::~Fd() {
    if (fd_ >= 0) ::close(fd_);
}

int Fd::release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
}

Result<Fd> open_dir(const std::string &path, bool create) {
    if (path.empty()) return Error("empty directory path");
    if (create) {
        // mkdir -p, each new level 0700: images hold a process's memory.
        for (size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
            std::string prefix = path.substr(0, slash);
            if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST)
                return Error::from_errno(log::cat("mkdir ", prefix));
            if (slash == std::string::npos) break;
        }
    }
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Error::from_errno(path);
    return Fd(fd);
}

Status write_all(int fd, const void *data, size_t len) {
    auto p = static_cast<const char *>(data);
    while (len > 0) {
        ssize_t n = ::write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return Error::from_errno("write");
        }
        p += n;
        len -= size_t(n);
    }
    return ok();
}

Status writev_all(int fd, const struct iovec *iov, int count) {
    // A local window of at most IOV_MAX entries that partial writes advance.
    std::vector<struct iovec> window;
    int next = 0;
    while (next < count || !window.empty()) {
        while (next < count && window.size() < IOV_MAX) {
            if (iov[next].iov_len > 0) window.push_back(iov[next]);
            next++;
        }
        if (window.empty()) break;
        ssize_t n = ::writev(fd, window.data(), int(window.size()));
        if (n < 0) {
            if (errno == EINTR) continue;
            return Error::from_errno("writev");
        }
        size_t done = size_t(n), drop = 0;
        while (drop < window.size() && done >= window[drop].iov_len) done -= window[drop++].iov_len;
        window.erase(window.begin(), window.begin() + long(drop));
        if (!window.empty() && done > 0) {
            window[0].iov_base = static_cast<char *>(window[0].iov_base) + done;
            window[0].iov_len -= done;
        }
    }
    return ok();
}

Result<std::string> read_regular_file(int dirfd, const std::string &name, uint64_t max_bytes) {
    // O_NONBLOCK: opening a FIFO planted under an image name must not hang.
    Fd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
    if (!fd.valid()) return Error::from_errno(name);
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return Error::from_errno(log::cat(name, ": fstat"));
    if (!S_ISREG(st.st_mode)) return Error(log::cat(name, ": not a regular file"));
    if (uint64_t(st.st_size) > max_bytes)
        return Error(log::cat(name, ": ", st.st_size, " bytes is more than the ", max_bytes, "-byte limit"));
    std::string data(size_t(st.st_size), '\0');
    size_t have = 0;
    while (have < data.size()) {
        ssize_t n = ::read(fd.get(), data.data() + have, data.size() - have);
        if (n < 0) {
            if (errno == EINTR) continue;
            return Error::from_errno(log::cat(name, ": read"));
        }
        if (n == 0) return Error(log::cat(name, ": file shrank while being read"));
        have += size_t(n);
    }
    return data;
}

TempFile::TempFile(Fd dirfd, Fd fd, std::string name, std::string temp_name)
    : dirfd_(std::move(dirfd)), fd_(std::move(fd)), name_(std::move(name)), temp_name_(std::move(temp_name)) {}

TempFile::TempFile(TempFile &&o) noexcept
    : dirfd_(std::move(o.dirfd_)),
      fd_(std::move(o.fd_)),
      name_(std::move(o.name_)),
      temp_name_(std::move(o.temp_name_)),
      committed_(o.committed_) {
    o.committed_ = true;  // the moved-from object owns nothing to clean up
}

Result<TempFile> TempFile::create(int dirfd, const std::string &name) {
    if (name.empty() || name.find('/') != std::string::npos || name[0] == '.')
        return Error(log::cat("invalid image file name '", name, "'"));
    Fd own_dir(::fcntl(dirfd, F_DUPFD_CLOEXEC, 0));
    if (!own_dir.valid()) return Error::from_errno("dup directory fd");
    static std::atomic<uint64_t> counter{0};
    // Hidden and without the .img suffix, so nothing mistakes it for an image.
    std::string temp_name = log::cat(".", name, ".tmp.", ::getpid(), ".", counter++);
    Fd fd(::openat(own_dir.get(), temp_name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd.valid()) return Error::from_errno(log::cat(name, ": create"));
    // The umask may have removed bits from 0600; the owner needs both.
    if (::fchmod(fd.get(), 0600) != 0) {
        Error e = Error::from_errno(log::cat(name, ": fchmod"));
        ::unlinkat(own_dir.get(), temp_name.c_str(), 0);
        return e;
    }
    return TempFile(std::move(own_dir), std::move(fd), name, std::move(temp_name));
}

Status TempFile::commit() {
    if (committed_) return Error(log::cat(name_, ": already committed"));
    if (::renameat(dirfd_.get(), temp_name_.c_str(), dirfd_.get(), name_.c_str()) != 0)
        return Error::from_errno(log::cat(name_, ": rename into place"));
    committed_ = true;
    return ok();
}

TempFile::~TempFile() {
    if (!committed_ && dirfd_.valid()) ::unlinkat(dirfd_.get(), temp_name_.c_str(), 0);
}

}  // namespace stasis::images
