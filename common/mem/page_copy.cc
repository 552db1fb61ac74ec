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
    }
    if (stats) stats->bytes += total;
    return total;
}

}  // namespace stasis::mem
