// File handling shared by the image writers and readers: an owned fd, a
// temporary file that is renamed into place on commit (and unlinked
// otherwise), and a bounded whole-file read that refuses anything but a
// regular file.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/util/result.h"

namespace stasis::images {

// An owned file descriptor, closed on destruction.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd &&o) noexcept : fd_(o.release()) {}
    Fd &operator=(Fd &&o) noexcept;
    Fd(const Fd &) = delete;
    Fd &operator=(const Fd &) = delete;
    ~Fd();

    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    int release();

private:
    int fd_ = -1;
};

// Opens a directory (for the *at() calls). With `create`, missing
// directories along the path are created 0700 first.
Result<Fd> open_dir(const std::string &path, bool create);

// write(2) until everything is written (EINTR and short writes handled).
Status write_all(int fd, const void *data, size_t len);
// writev(2) until everything is written, in IOV_MAX chunks.
Status writev_all(int fd, const struct iovec *iov, int count);

// Reads a whole regular file relative to `dirfd`. Refuses FIFOs, devices and
// directories (which could block or never end) and files over `max_bytes`.
// A missing file fails with errno ENOENT.
Result<std::string> read_regular_file(int dirfd, const std::string &name, uint64_t max_bytes);

// A file created 0600 under a temporary name in its directory and renamed
// to its final name by commit(). Until then, destruction unlinks it, so a
// failed or abandoned write leaves nothing behind under the final name.
class TempFile {
public:
    static Result<TempFile> create(int dirfd, const std::string &name);
    TempFile(TempFile &&o) noexcept;
    TempFile &operator=(TempFile &&) = delete;
    TempFile(const TempFile &) = delete;
    ~TempFile();

    int fd() const { return fd_.get(); }
    int dirfd() const { return dirfd_.get(); }
    const std::string &name() const { return name_; }
    bool committed() const { return committed_; }
    // Renames the file into place (replacing an older file of that name).
    Status commit();

private:
    TempFile(Fd dirfd, Fd fd, std::string name, std::string temp_name);

    Fd dirfd_;
    Fd fd_;
    std::string name_;
    std::string temp_name_;
    bool committed_ = false;
};

}  // namespace stasis::images
