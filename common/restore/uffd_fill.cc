#include "common/restore/uffd_fill.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/linux/uapi.h"

namespace stasis::restore {

std::unique_ptr<UffdFill> UffdFill::open() {
    int fd = int(::syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY));
    if (fd < 0) return nullptr;
    uffdio_api api{};
    api.api = UFFD_API;
    if (::ioctl(fd, UFFDIO_API, &api) != 0) {
        ::close(fd);
        return nullptr;
    }
    return std::unique_ptr<UffdFill>(new UffdFill(fd));
}

UffdFill::~UffdFill() { ::close(fd_); }

bool UffdFill::add(uint64_t start, uint64_t len) {
    uffdio_register reg{};
    reg.range.start = start;
    reg.range.len = len;
    reg.mode = UFFDIO_REGISTER_MODE_MISSING;
    return ::ioctl(fd_, UFFDIO_REGISTER, &reg) == 0;
}

int UffdFill::copy(uint64_t dst, const char *src, uint64_t len, uint64_t page) {
    while (len) {
        uffdio_copy c{};
        c.dst = dst;
        c.src = reinterpret_cast<uintptr_t>(src);
        c.len = len;
        if (::ioctl(fd_, UFFDIO_COPY, &c) == 0) return 0;
        int err = errno;
        if (err == EAGAIN || err == EINTR) {
            if (c.copy > 0) {
                dst += uint64_t(c.copy);
                src += c.copy;
                len -= uint64_t(c.copy);
            }
            continue;
        }
        if (err != EEXIST && err != ENOENT) return err;
        if (c.copy > 0) {  // what was installed before the present page
            dst += uint64_t(c.copy);
            src += c.copy;
            len -= uint64_t(c.copy);
        }
        if (len > page) {
            // Page by page: present pages and unregistered ones among the rest.
            for (uint64_t done = 0; done < len; done += page)
                if (int e = copy(dst + done, src + done, page, page)) return e;
            return 0;
        }
        std::memcpy(reinterpret_cast<void *>(dst), src, len);
        return 0;
    }
    return 0;
}

}  // namespace stasis::restore
