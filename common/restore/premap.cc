#include "common/restore/premap.h"

#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "common/images/checkpoint.h"
#include "common/restore/address_space.h"

namespace stasis::restore {
namespace {

constexpr uint64_t kChunk = 8ull << 20;

struct Job {
    uint64_t dst, len, file_off;
};

bool premappable(const images::Vma &v) {
    return v.kind() == images::VMA_ANON_PRIVATE && !(v.flags() & MAP_GROWSDOWN);
}

}  // namespace

Result<Premap> premap_private_memory(const images::TaskImages &t, int pages_fd, uint64_t page,
                                     const std::vector<proc::Mapping> &self) {
    Premap pm;
    uint64_t total = 0;
    for (const auto &v : t.vmas)
        if (premappable(v)) total += v.end() - v.start();
    if (!total) return pm;
    STASIS_ASSIGN(uint64_t base, std::move(find_free_range(t, self, total, page)).context("premap area"));
    // Reserve the whole area, then map each VMA over its piece with its own
    // flags (MAP_NORESERVE ...), which mremap keeps.
    void *r = ::mmap(reinterpret_cast<void *>(base), total, PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (r == MAP_FAILED) return Error::from_errno("reserve the premap area");
    pm.start = base;
    pm.end = base + total;
    uint64_t off = 0;
    for (const auto &v : t.vmas) {
        if (!premappable(v)) continue;
        uint64_t len = v.end() - v.start();
        int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | (v.flags() & MAP_NORESERVE);
        void *p = ::mmap(reinterpret_cast<void *>(base + off), len, PROT_READ | PROT_WRITE, flags, -1, 0);
        if (p == MAP_FAILED) return Error::from_errno("premap vma");
        pm.at[v.start()] = base + off;
        off += len;
    }
    // The fill jobs: pages file order, only for premapped VMAs.
    std::vector<Job> jobs;
    uint64_t file_off = page;  // data starts after the header page
    size_t vi = 0;
    for (const auto &e : t.pagemap) {
        if (e.flags() & images::PAGEMAP_IN_PARENT) continue;
        uint64_t addr = e.vaddr(), len = e.nr_pages() * page;
        while (vi < t.vmas.size() && t.vmas[vi].end() <= addr) ++vi;
        auto at = vi < t.vmas.size() ? pm.at.find(t.vmas[vi].start()) : pm.at.end();
        if (at != pm.at.end()) {
            uint64_t dst = at->second + (addr - t.vmas[vi].start());
            for (uint64_t done = 0; done < len; done += kChunk)
                jobs.push_back({dst + done, std::min(kChunk, len - done), file_off + done});
        }
        file_off += len;
    }
    std::atomic<size_t> next{0};
    std::atomic<int> error{0};
    auto worker = [&]() {
        for (size_t i; (i = next++) < jobs.size() && !error;) {
            uint64_t done = 0;
            while (done < jobs[i].len) {
                ssize_t n = ::pread(pages_fd, reinterpret_cast<void *>(jobs[i].dst + done), jobs[i].len - done,
                                    off_t(jobs[i].file_off + done));
                if (n <= 0) {
                    error = n < 0 ? errno : EIO;
                    return;
                }
                done += uint64_t(n);
            }
        }
    };
    unsigned n = std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::thread> threads;
    for (unsigned i = 1; i < n; ++i) threads.emplace_back(worker);
    worker();
    for (auto &th : threads) th.join();
    if (error) return Error::from_errno("fill premapped memory", error);
    return pm;
}

}  // namespace stasis::restore
