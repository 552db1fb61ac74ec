#include "common/mem/page_copy.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "common/ptrace/ptrace.h"

namespace stasis::mem {
namespace {

// A window of the output file at a time: large enough to amortise mmap and
// the syscalls, small enough not to pin much memory.
constexpr uint64_t kWindow = 64ull << 20;
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

Result<uint64_t> copy_runs_to_file(pid_t pid, const std::vector<CopyRun> &runs, int out_fd,
                                   uint64_t file_offset, CopyStats *stats) {
    // The image writer's descriptor may be write-only; a shared writable
    // mapping needs a read-write one to the same file.
    std::string self = "/proc/self/fd/" + std::to_string(out_fd);
    int fd = ::open(self.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return Error::from_errno("reopen pages image read-write");
    Closer closer{fd};
    uint64_t total = 0;
    for (const auto &r : runs) total += r.len;
    if (total == 0) return uint64_t(0);
    std::string mem_path = "/proc/" + std::to_string(pid) + "/mem";
    int mem = ::open(mem_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (mem < 0) return Error::from_errno("open " + mem_path);
    Closer mem_closer{mem};
    long page = sysconf(_SC_PAGESIZE);
    // Reserve the whole output first: tmpfs and most file systems allocate
    // here in one go instead of page by page on faults.
    if (::fallocate(fd, 0, off_t(file_offset), off_t(total)) != 0 && errno != EOPNOTSUPP)
        return Error::from_errno("fallocate pages image");
    if (::ftruncate(fd, off_t(file_offset + total)) != 0) return Error::from_errno("grow pages image");

    size_t run = 0;
    uint64_t run_off = 0;  // bytes of runs[run] already copied
    uint64_t written = 0;
    std::vector<iovec> remote;
    while (written < total) {
        uint64_t win_len = std::min(kWindow, total - written);
        uint64_t abs = file_offset + written;
        uint64_t map_start = abs / uint64_t(page) * uint64_t(page);
        uint64_t lead = abs - map_start;
        void *win = ::mmap(nullptr, lead + win_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                           off_t(map_start));
        if (win == MAP_FAILED) return Error::from_errno("map pages image window");
        char *dst = static_cast<char *>(win) + lead;
        uint64_t filled = 0;
        Status st;
        while (filled < win_len && st.ok()) {
            remote.clear();
            uint64_t batch = 0;
            bool readable = !runs[run].via_proc_mem;
            while (filled + batch < win_len && remote.size() < kMaxIov && run < runs.size() &&
                   !runs[run].via_proc_mem == readable) {
                uint64_t take = std::min(runs[run].len - run_off, win_len - filled - batch);
                remote.push_back({reinterpret_cast<void *>(uintptr_t(runs[run].vaddr + run_off)), size_t(take)});
                batch += take;
                run_off += take;
                if (run_off == runs[run].len) {
                    ++run;
                    run_off = 0;
                }
            }
            if (readable) {
                st = read_remote(pid, remote, dst + filled, batch, stats);
            } else {
                uint64_t o = 0;
                for (const auto &r : remote) {
                    if (!st.ok()) break;
                    st = read_proc_mem(mem, uint64_t(uintptr_t(r.iov_base)), dst + filled + o, r.iov_len);
                    o += r.iov_len;
                }
            }
            filled += batch;
        }
        ::munmap(win, lead + win_len);
        if (!st.ok()) return std::move(st).error();
        written += win_len;
    }
    if (stats) stats->bytes += total;
    return total;
}

}  // namespace stasis::mem
