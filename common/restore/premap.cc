#include "common/restore/premap.h"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <memory>
#include <thread>

#include "common/restore/address_space.h"
#include "common/restore/page_sources.h"
#include "common/restore/uffd_fill.h"

namespace stasis::restore {
namespace {

constexpr uint64_t kChunk = 8ull << 20;

struct Job {
    uint64_t dst, len, file_off;
    int fd;
};

// Reads [off, off+len) of fd into dst; 0 or an errno.
int read_into(int fd, char *dst, uint64_t len, uint64_t off) {
    uint64_t done = 0;
    while (done < len) {
        ssize_t n = ::pread(fd, dst + done, len - done, off_t(off + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return n < 0 ? errno : EIO;
        done += uint64_t(n);
    }
    return 0;
}

// With `uffd`, each thread reads through a bounce buffer that UFFDIO_COPY
// installs from; without, straight into place.
Status run_jobs(const std::vector<Job> &jobs, UffdFill *uffd, uint64_t page) {
    std::atomic<size_t> next{0};
    std::atomic<int> error{0};
    auto worker = [&]() {
        constexpr uint64_t kBounce = 1ull << 20;
        void *bounce = uffd ? ::mmap(nullptr, kBounce, PROT_READ | PROT_WRITE,
                                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0)
                            : MAP_FAILED;
        char *buf = bounce == MAP_FAILED ? nullptr : static_cast<char *>(bounce);
        for (size_t i; (i = next++) < jobs.size() && !error;) {
            const Job &j = jobs[i];
            int err = 0;
            if (!buf) err = read_into(j.fd, reinterpret_cast<char *>(j.dst), j.len, j.file_off);
            for (uint64_t done = 0; buf && !err && done < j.len; done += kBounce) {
                uint64_t n = std::min(kBounce, j.len - done);
                err = read_into(j.fd, buf, n, j.file_off + done);
                if (!err) err = uffd->copy(j.dst + done, buf, n, page);
            }
            if (err) {
                error = err;
                break;
            }
        }
        if (buf) ::munmap(buf, kBounce);
    };
    unsigned n = std::min<unsigned>(std::max(1u, std::thread::hardware_concurrency()), 16);
    if (jobs.size() < 2) n = 1;
    std::vector<std::thread> threads;
    for (unsigned i = 1; i < n; ++i) threads.emplace_back(worker);
    worker();
    for (auto &th : threads) th.join();
    if (error) return Error::from_errno("fill premapped memory", error);
    return ok();
}

}  // namespace

namespace {

bool premappable(const images::Vma &v) {
    return v.kind() == images::VMA_ANON_PRIVATE && !(v.flags() & MAP_GROWSDOWN);
}

// Some child of `me` shares this VMA copy-on-write with it.
bool inherited_by_a_child(const images::Checkpoint &cp, pid_t me, const images::Vma &v) {
    for (const auto &t : cp.tasks) {
        if (t.tree.ppid() != me || t.tree.zombie()) continue;
        for (const auto &cv : t.vmas)
            if (cv.cow_from_parent() && cv.start() == v.start() && cv.end() == v.end()) return true;
    }
    return false;
}

}  // namespace

bool premapped_at_restore(const images::Checkpoint &cp, const images::TaskImages &t, const images::Vma &v) {
    if (v.cow_from_parent()) return true;
    if (!premappable(v)) return false;
    if (const char *p = std::getenv("STASIS_RESTORE_PREMAP"); p && *p == '1') return true;
    return inherited_by_a_child(cp, t.tree.pid(), v);
}

Result<Premap> premap_fresh(const images::Checkpoint &cp, const std::vector<const images::Vma *> &vmas, uint64_t page,
                            const std::vector<proc::Mapping> &self) {
    Premap pm;
    uint64_t total = 0;
    for (const auto *v : vmas) total += v->end() - v->start();
    if (!total) return pm;
    STASIS_ASSIGN(uint64_t base, std::move(find_free_range(cp, self, total, page)).context("premap area"));
    // Reserve the whole area, then map each VMA over its piece with its own
    // flags (MAP_NORESERVE ...), which mremap keeps.
    void *r = ::mmap(reinterpret_cast<void *>(base), total, PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (r == MAP_FAILED) return Error::from_errno("reserve the premap area");
    pm.range = {base, base + total};
    uint64_t off = 0;
    for (const auto *v : vmas) {
        uint64_t len = v->end() - v->start();
        int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | int(v->flags() & MAP_NORESERVE);
        void *p = ::mmap(reinterpret_cast<void *>(base + off), len, PROT_READ | PROT_WRITE, flags, -1, 0);
        if (p == MAP_FAILED) return Error::from_errno("premap vma");
        pm.at[v->start()] = base + off;
        off += len;
    }
    return pm;
}

Status fill_premapped(const images::TaskImages &t, const std::vector<images::PageSource> &sources,
                      const std::map<uint64_t, uint64_t> &at, const std::vector<int> &level_fds) {
    std::vector<Job> jobs;
    STASIS_ASSIGN(std::vector<VmaPiece> pieces, split_by_vma(sources, t.vmas));
    for (const auto &p : pieces) {
        auto it = at.find(t.vmas[p.vma].start());
        if (it == at.end()) continue;
        uint64_t dst = it->second + (p.vaddr - t.vmas[p.vma].start());
        if (p.level < 0) {
            // Pages the parent has and this task does not: drop them
            // from the inherited copy (they read as zero again).
            if (::madvise(reinterpret_cast<void *>(dst), p.len, MADV_DONTNEED) != 0)
                return Error::from_errno("drop pages of an inherited vma");
            continue;
        }
        if (size_t(p.level) >= level_fds.size() || level_fds[size_t(p.level)] < 0)
            return Error("no pages image open for the pages at " + std::to_string(p.vaddr));
        for (uint64_t done = 0; done < p.len; done += kChunk)
            jobs.push_back({dst + done, std::min(kChunk, p.len - done), p.file_off + done, level_fds[size_t(p.level)]});
    }
    // Present pages of an inherited copy are copied by hand (a write
    // fault unshares them); the rest is installed (uffd_fill.h).
    std::unique_ptr<UffdFill> uffd = jobs.empty() ? nullptr : UffdFill::open();
    if (uffd)
        for (const auto &v : t.vmas)
            if (auto it = at.find(v.start()); it != at.end()) uffd->add(it->second, v.end() - v.start());
    return run_jobs(jobs, uffd.get(), uint64_t(::sysconf(_SC_PAGESIZE)));
}

}  // namespace stasis::restore
