#include "common/mem/page_copy.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <optional>
#include <string>
#include <thread>

#include "common/linux/uapi.h"

#include "common/ptrace/ptrace.h"

namespace stasis::mem {
namespace {

// The copy buffer: large enough to amortise the syscalls, small enough to
// stay in the cache.
constexpr uint64_t kBuffer = 4ull << 20;
constexpr size_t kMaxIov = 1024;  // IOV_MAX

// Reads [vaddr, vaddr+len) of pid into dst, readable memory first through
// process_vm_readv, falling back to /proc/PID/mem for what it refuses.
Status read_remote(pid_t pid, const std::vector<iovec> &remote, char *dst, uint64_t total, CopyStats *stats) {
    iovec local{dst, size_t(total)};
    ssize_t n = process_vm_readv(pid, &local, 1, remote.data(), remote.size(), 0);
    if (stats) ++stats->calls;
    if (n == ssize_t(total)) return ok();
    // A partial or failed read: finish segment by segment through
    // /proc/PID/mem (also the path for pages without read permission).
    uint64_t done = n > 0 ? uint64_t(n) : 0;
    uint64_t off = 0;
    for (const auto &r : remote) {
        uint64_t seg_end = off + r.iov_len;
        if (seg_end > done) {
            uint64_t skip = done > off ? done - off : 0;
            STASIS_TRY(ptrace::read_mem(pid, uint64_t(uintptr_t(r.iov_base)) + skip, dst + off + skip,
                                        r.iov_len - skip));
        }
        off = seg_end;
    }
    return ok();
}

struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
};

// A copy this big into a tmpfs file has a second thread allocate the
// file's pages ahead of the writer.
constexpr uint64_t kPrefaultMin = 32ull << 20;
constexpr uint64_t kPrefaultWindow = 4ull << 20;

// Allocating a tmpfs file's pages (allocation, memory cgroup charge, and
// on a VM host that backs guest memory lazily, the host's first touch of
// each page) costs more than copying into them, and write(2) does it with
// the file's lock held. Page faults on a shared mapping of the file
// allocate without that lock: this thread populates windows of the file
// (MADV_POPULATE_READ, 5.14+, which never changes content) one window
// ahead of the writer, while the writer copies into what is there and
// allocates itself whatever it catches up with. On this project's 2-CPU
// VM host a 2 GiB dump went from 1.9-2.9 s to 0.7-1.6 s (4 GiB stayed at
// 7-8 s either way, bound by how fast the host backs that much memory).
class Prefaulter {
  public:
    // `fd`: the file open for reading (a shared mapping needs that; the
    // writer's descriptor is write-only), closed at the end.
    Prefaulter(int fd, uint64_t begin, uint64_t end) : fd_(fd), begin_(begin), end_(end), pos_(begin) {
        thread_ = std::thread([this] { run(); });
    }
    ~Prefaulter() {
        stop_.store(true, std::memory_order_relaxed);
        thread_.join();
        ::close(fd_);
    }
    Prefaulter(const Prefaulter &) = delete;
    Prefaulter &operator=(const Prefaulter &) = delete;
    void written_up_to(uint64_t offset) { pos_.store(offset, std::memory_order_relaxed); }

    // Only tmpfs allocates on a read fault of a hole (a disk file system
    // maps the zero page): elsewhere there is nothing to win.
    static bool worth_it(int fd, uint64_t bytes) {
        struct statfs fs {};
        return fd >= 0 && bytes >= kPrefaultMin && ::fstatfs(fd, &fs) == 0 && fs.f_type == TMPFS_MAGIC;
    }

  private:
    void run() {
        uint64_t next = begin_;
        while (!stop_.load(std::memory_order_relaxed)) {
            uint64_t writer = pos_.load(std::memory_order_relaxed);
            // Where the writer is, it allocates itself: one window further.
            uint64_t ahead = begin_ + ((writer - begin_) / kPrefaultWindow + 1) * kPrefaultWindow;
            next = std::max(next, ahead);
            if (next >= end_) return;
            uint64_t len = std::min(kPrefaultWindow, end_ - next);
            void *p = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd_, off_t(next));
            if (p == MAP_FAILED) return;  // only an optimisation
            int r = ::madvise(p, len, MADV_POPULATE_READ);
            ::munmap(p, len);
            if (r != 0) return;
            next += len;
        }
    }

    int fd_;
    uint64_t begin_, end_;
    std::atomic<uint64_t> pos_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

Status read_proc_mem(int mem, uint64_t addr, char *dst, uint64_t len) {
    uint64_t done = 0;
    while (done < len) {
        ssize_t n = ::pread(mem, dst + done, len - done, off_t(addr + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return Error::from_errno("read /proc/PID/mem at " + std::to_string(addr + done), n < 0 ? errno : EIO);
        done += uint64_t(n);
    }
    return ok();
}

}  // namespace

Result<uint64_t> copy_runs_to_image(pid_t pid, const std::vector<CopyRun> &runs, images::RawImageWriter &out,
                                    CopyStats *stats) {
    uint64_t total = 0;
    for (const auto &r : runs) total += r.len;
    if (total == 0) return uint64_t(0);
    std::string mem_path = "/proc/" + std::to_string(pid) + "/mem";
    int mem = ::open(mem_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (mem < 0) return Error::from_errno("open " + mem_path);
    Closer mem_closer{mem};
    // One small buffer, reused: it stays in the cache, and the file's pages
    // are filled by write(2) whole, so tmpfs and the page cache never zero
    // them first (a mapped window faults every page in zeroed, which cost as
    // much as the copy itself).
    uint64_t buf_len = std::min(kBuffer, total);
    void *buf = ::mmap(nullptr, buf_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (buf == MAP_FAILED) return Error::from_errno("map the copy buffer");
    struct Unmap {
        void *p;
        uint64_t n;
        ~Unmap() { ::munmap(p, n); }
    } unmap{buf, buf_len};
    char *dst = static_cast<char *>(buf);

    std::optional<Prefaulter> prefault;
    if (Prefaulter::worth_it(out.fd(), total)) {
        std::string self = "/proc/self/fd/" + std::to_string(out.fd());
        int rfd = ::open(self.c_str(), O_RDONLY | O_CLOEXEC);
        if (rfd >= 0) {
            // Both ends page-aligned: the data starts at a page and pages are whole.
            uint64_t begin = out.data_offset() + out.size();
            Status grown = out.extend(total);
            if (grown.ok()) prefault.emplace(rfd, begin, begin + total);
            else ::close(rfd);
            STASIS_TRY(std::move(grown));
        }
    }

    size_t run = 0;
    uint64_t run_off = 0;  // bytes of runs[run] already copied
    uint64_t written = 0;
    std::vector<iovec> remote;
    while (written < total) {
        remote.clear();
        uint64_t batch = 0;
        bool readable = !runs[run].via_proc_mem;
        while (batch < buf_len && remote.size() < kMaxIov && run < runs.size() && !runs[run].via_proc_mem == readable) {
            uint64_t take = std::min(runs[run].len - run_off, buf_len - batch);
            remote.push_back({reinterpret_cast<void *>(uintptr_t(runs[run].vaddr + run_off)), size_t(take)});
            batch += take;
            run_off += take;
            if (run_off == runs[run].len) {
                ++run;
                run_off = 0;
            }
        }
        if (readable) {
            STASIS_TRY(read_remote(pid, remote, dst, batch, stats));
        } else {
            uint64_t o = 0;
            for (const auto &r : remote) {
                STASIS_TRY(read_proc_mem(mem, uint64_t(uintptr_t(r.iov_base)), dst + o, r.iov_len));
                o += r.iov_len;
            }
        }
        STASIS_TRY(out.append(dst, batch));
        written += batch;
        if (prefault) prefault->written_up_to(out.data_offset() + out.size());
    }
    if (stats) stats->bytes += total;
    return total;
}

}  // namespace stasis::mem
