#include "common/restore/remote_pages.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "common/images/format.h"
#include "common/pageserver/client.h"
#include "common/restore/plan.h"
#include "common/restore/premap.h"
#include "common/util/log.h"

namespace stasis::restore {
namespace {

constexpr uint64_t kChunk = 4ull << 20;

Status pwrite_all(int fd, const char *data, uint64_t len, uint64_t off) {
    for (uint64_t done = 0; done < len;) {
        ssize_t n = ::pwrite(fd, data + done, len - done, off_t(off + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return Error::from_errno("store fetched pages", n < 0 ? errno : EIO);
        done += uint64_t(n);
    }
    return ok();
}

}  // namespace

Status fetch_pages(const pageserver::Endpoint &server, const images::Checkpoint &cp, std::vector<TaskPages> &pages,
                   uint32_t page_size, bool lazy) {
    STASIS_ASSIGN(pageserver::Client client, pageserver::Client::connect(server, pageserver::Role::fetch, page_size));
    std::vector<char> buf(kChunk);
    uint64_t fetched = 0;
    for (size_t i = 0; i < cp.tasks.size(); ++i) {
        const auto &t = cp.tasks[i];
        if (t.tree.zombie() || pages[i].levels.empty()) continue;
        if (pages[i].levels.size() > 1)
            return Error("--page-server with parent images is not supported: the page server holds one level");
        TaskPages::Level &level = pages[i].levels[0];
        if (!level.pages) continue;
        std::string name = images::pages_file_name(level.pages_id);
        STASIS_ASSIGN(uint64_t bytes, client.stat(name));
        if (bytes < level.pages * page_size)
            return Error(log::cat(name, " on the page server ", server.text(), " holds ", bytes / page_size,
                                  " pages; the pagemap needs ", level.pages));
        int memfd = ::memfd_create(name.c_str(), MFD_CLOEXEC);
        if (memfd < 0) return Error::from_errno("memfd_create for " + name);
        auto fd = std::make_shared<images::Fd>(memfd);
        if (::ftruncate(memfd, off_t((1 + level.pages) * page_size)) != 0)
            return Error::from_errno("size the memfd for " + name);
        STASIS_ASSIGN(std::vector<VmaPiece> pieces, split_by_vma(pages[i].sources, t.vmas));
        for (const auto &p : pieces) {
            // What the restorer leaves to lazy-pages (plan.cc): lazy
            // candidates that are not premapped.
            const images::Vma &v = t.vmas[p.vma];
            if (p.level < 0 || (lazy && lazy_candidate(v) && !premapped_at_restore(cp, t, v))) continue;
            for (uint64_t done = 0; done < p.len;) {
                uint64_t len = std::min(kChunk, p.len - done);
                STASIS_TRY(client.read(name, p.file_off + done, buf.data(), len));
                STASIS_TRY(pwrite_all(memfd, buf.data(), len, p.file_off + done));
                done += len;
                fetched += len;
            }
        }
        level.fetched = std::move(fd);
    }
    STASIS_TRY(client.bye(false));
    log::info("fetched ", fetched / 1024, " KiB of pages from the page server ", server.text(),
              lazy ? " (the rest comes lazily)" : "");
    return ok();
}

}  // namespace stasis::restore
