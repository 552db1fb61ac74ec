#include "common/proc/read_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace stasis::proc {
namespace {

// seq_file files (maps, smaps, status) hand out at most one kernel buffer
// (a page) per read, whatever the buffer: reading in small pieces and
// appending lets the string grow geometrically without zero-filling or
// copying a big read-ahead buffer (reading through a buffer doubling up to
// 4 MiB made every read of a 5000-mapping process's maps fault in and copy
// ~16 MiB: 40 % of its dump).
//
// Half a page at most: a read that asks for more makes seq_file format
// records until its page overflows, and the record that overflowed is
// thrown away and formatted again by the next read. For smaps, formatting
// a record walks the page tables of the mapping: one mapping in four was
// walked twice, and a 1 GiB mapping that overflowed cost 9 ms twice over
// with the tree frozen. With reads of half a page, seq_file stops once the
// read is served, before a record (smaps' are about 1 KiB) can overflow.
constexpr size_t kMaxReadPiece = 32 * 1024;

size_t read_piece() {
    static const size_t piece = [] {
        long page = ::sysconf(_SC_PAGESIZE);
        return page > 0 ? std::min(kMaxReadPiece, size_t(page) / 2) : size_t(2048);
    }();
    return piece;
}

class FdCloser {
  public:
    explicit FdCloser(int fd) : fd_(fd) {}
    ~FdCloser() {
        if (fd_ >= 0) ::close(fd_);
    }
    FdCloser(const FdCloser &) = delete;
    FdCloser &operator=(const FdCloser &) = delete;

  private:
    int fd_;
};

// Reads until EOF; returns 0 or the errno of the failed read.
int read_all(int fd, std::string &out) {
    char piece[kMaxReadPiece];
    const size_t want = read_piece();
    out.clear();
    for (;;) {
        ssize_t n = ::read(fd, piece, want);
        if (n < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            out.clear();
            return err;
        }
        if (n == 0) break;
        out.append(piece, static_cast<size_t>(n));
    }
    return 0;
}

bool task_dir_exists(pid_t pid, pid_t tid) {
    std::string dir = tid ? task_path(pid, tid, "") : proc_path(pid, "");
    return ::access(dir.c_str(), F_OK) == 0 || errno != ENOENT;
}

}  // namespace

Status read_file_into(const std::string &path, std::string &out) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Error::from_errno("open", errno).context(path);
    FdCloser closer(fd);
    if (int err = read_all(fd, out)) return Error::from_errno("read", err).context(path);
    return ok();
}

Result<std::string> read_file(const std::string &path) {
    std::string out;
    STASIS_TRY(read_file_into(path, out));
    return out;
}

Result<std::string> read_link(const std::string &path) {
    std::vector<char> buf(256);
    for (;;) {
        ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
        if (n < 0) return Error::from_errno("readlink", errno).context(path);
        // readlink truncates silently: a full buffer may be a cut-off target.
        if (static_cast<size_t>(n) < buf.size()) return std::string(buf.data(), static_cast<size_t>(n));
        if (buf.size() >= 1024 * 1024)
            return Error("readlink: target longer than 1 MiB", ENAMETOOLONG).context(path);
        buf.resize(buf.size() * 4);
    }
}

std::string proc_path(pid_t pid, std::string_view leaf) {
    std::string p = "/proc/" + std::to_string(pid);
    if (!leaf.empty()) {
        p += '/';
        p += leaf;
    }
    return p;
}

std::string task_path(pid_t pid, pid_t tid, std::string_view leaf) {
    std::string p = "/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid);
    if (!leaf.empty()) {
        p += '/';
        p += leaf;
    }
    return p;
}

Error task_file_error(pid_t pid, pid_t tid, const std::string &path, std::string_view what, int err) {
    bool gone = err == ESRCH || (err == ENOENT && !task_dir_exists(pid, tid));
    if (!gone) return Error::from_errno(what, err).context(path);
    std::string msg = tid && tid != pid
                          ? "thread " + std::to_string(tid) + " of process " + std::to_string(pid)
                          : "process " + std::to_string(pid);
    msg += " exited";
    return Error(std::move(msg), ESRCH).context(path);
}

Status read_task_file_into(pid_t pid, pid_t tid, std::string_view leaf, std::string &out) {
    std::string path = tid ? task_path(pid, tid, leaf) : proc_path(pid, leaf);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return task_file_error(pid, tid, path, "open", errno);
    FdCloser closer(fd);
    if (int err = read_all(fd, out)) return task_file_error(pid, tid, path, "read", err);
    return ok();
}

Status read_task_file_lines(pid_t pid, pid_t tid, std::string_view leaf,
                            const std::function<Status(std::string_view)> &on_line) {
    std::string path = tid ? task_path(pid, tid, leaf) : proc_path(pid, leaf);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return task_file_error(pid, tid, path, "open", errno);
    FdCloser closer(fd);
    const size_t want = read_piece();
    std::string buf;  // a read and at most one unfinished line
    buf.reserve(4 * want);
    for (;;) {
        size_t kept = buf.size();
        buf.resize(kept + want);
        ssize_t n = ::read(fd, buf.data() + kept, want);
        if (n < 0) {
            if (errno == EINTR) {
                buf.resize(kept);
                continue;
            }
            return task_file_error(pid, tid, path, "read", errno);
        }
        buf.resize(kept + size_t(n));
        size_t begin = 0;
        for (size_t nl; (nl = buf.find('\n', begin)) != std::string::npos; begin = nl + 1)
            STASIS_TRY(on_line(std::string_view(buf).substr(begin, nl - begin)).context(path));
        buf.erase(0, begin);
        if (n == 0) break;
    }
    if (!buf.empty()) STASIS_TRY(on_line(buf).context(path));
    return ok();
}

Result<std::string> read_task_file(pid_t pid, pid_t tid, std::string_view leaf) {
    std::string out;
    STASIS_TRY(read_task_file_into(pid, tid, leaf, out));
    return out;
}

bool is_task_gone(const Error &e) { return e.sys_errno() == ESRCH; }

}  // namespace stasis::proc
