#include "common/files/file_handle.h"

#include <fcntl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/images/file_io.h"
#include "common/proc/read_file.h"
#include "common/util/log.h"

namespace stasis::files {
namespace {

constexpr const char kDeleted[] = " (deleted)";

// mountinfo escapes blank, tab, newline and backslash as \ooo.
std::string unescape_octal(std::string_view s) {
    auto octal = [](char c) { return c >= '0' && c <= '7'; };
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() && octal(s[i + 1]) && octal(s[i + 2]) && octal(s[i + 3])) {
            out += char((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

// Mount points of device major:minor, mounts of the file system's root
// first (their paths name every file of it).
Result<std::vector<std::string>> mounts_of(uint32_t major, uint32_t minor) {
    std::string text;
    STASIS_TRY(proc::read_file_into("/proc/self/mountinfo", text));
    std::string want = std::to_string(major) + ":" + std::to_string(minor);
    std::vector<std::string> whole, part;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        std::string_view line(text.data() + start, end - start);
        start = end + 1;
        // "36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw"
        std::vector<std::string_view> f;
        for (size_t pos = 0; pos < line.size() && f.size() < 5;) {
            size_t blank = line.find(' ', pos);
            if (blank == std::string_view::npos) blank = line.size();
            f.push_back(line.substr(pos, blank - pos));
            pos = blank + 1;
        }
        if (f.size() < 5 || f[2] != want) continue;
        (f[3] == "/" ? whole : part).push_back(unescape_octal(f[4]));
    }
    whole.insert(whole.end(), part.begin(), part.end());
    return whole;
}

}  // namespace

uint64_t userspace_dev(uint32_t kernel_dev) { return makedev(kernel_dev >> 20, kernel_dev & 0xfffff); }

Result<HandleTarget> find_by_handle(uint32_t kernel_dev, int type, const std::string &handle, uint64_t ino) {
    uint32_t major = kernel_dev >> 20, minor = kernel_dev & 0xfffff;
    std::string where = log::cat("inode ", ino, " of device ", major, ":", minor);
    if (handle.empty() || handle.size() > MAX_HANDLE_SZ)
        return Error(log::cat(where, ": file handle of ", handle.size(), " bytes"));
    STASIS_ASSIGN(auto mounts, mounts_of(major, minor));
    if (mounts.empty()) return Error(where + ": no mount of that device in /proc/self/mountinfo");
    std::vector<char> buf(sizeof(file_handle) + handle.size());
    auto *fh = reinterpret_cast<file_handle *>(buf.data());
    fh->handle_bytes = unsigned(handle.size());
    fh->handle_type = type;
    std::memcpy(fh->f_handle, handle.data(), handle.size());
    std::string last = "no mount gave a path that names it";
    for (const auto &mount : mounts) {
        // Not O_PATH: open_by_handle_at refuses such a descriptor (EBADF).
        images::Fd mount_fd(::open(mount.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!mount_fd.valid()) {
            last = log::cat("open mount ", mount, ": ", std::strerror(errno));
            continue;
        }
        // O_PATH: nothing is really opened (a FIFO would block, a device act).
        images::Fd file(::open_by_handle_at(mount_fd.get(), fh, O_PATH | O_CLOEXEC));
        if (!file.valid()) {
            // ESTALE: the inode is gone; EOPNOTSUPP: the file system cannot
            // decode handles (procfs, some FUSE); EPERM: no CAP_DAC_READ_SEARCH.
            last = log::cat("open_by_handle_at through mount ", mount, ": ", std::strerror(errno));
            if (errno == ESTALE) return Error(where + " was deleted: its file handle no longer opens it (ESTALE)");
            continue;
        }
        HandleTarget t;
        if (::fstat(file.get(), &t.st) != 0) return Error::from_errno("fstat " + where);
        if (t.st.st_ino != ino) return Error(log::cat(where, ": its file handle opens inode ", t.st.st_ino));
        STASIS_ASSIGN(std::string path, proc::read_link("/proc/self/fd/" + std::to_string(file.get())));
        size_t n = sizeof kDeleted - 1;
        bool deleted = path.size() > n && path.compare(path.size() - n, n, kDeleted) == 0;
        if (deleted || t.st.st_nlink == 0) {
            if (deleted) path.resize(path.size() - n);
            return Error(where + " (was " + path + ") was deleted: no path names it any more");
        }
        struct stat at {};
        if (path.empty() || path[0] != '/' || ::lstat(path.c_str(), &at) != 0 || at.st_dev != t.st.st_dev ||
            at.st_ino != t.st.st_ino) {
            last = "through mount " + mount + " it shows as '" + path + "', which names another file or nothing";
            continue;
        }
        t.path = std::move(path);
        return t;
    }
    return Error(where + ": cannot find its path (" + last + ")");
}

}  // namespace stasis::files
