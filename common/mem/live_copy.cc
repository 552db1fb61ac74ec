#include "common/mem/live_copy.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/images/file_io.h"
#include "common/proc/read_file.h"

namespace stasis::mem {
namespace {

constexpr uint64_t kChunk = 4ull << 20;

}  // namespace

Result<Ranges> copy_running(pid_t pid, const std::vector<CopyRun> &runs, images::RawImageWriter &out,
                            uint64_t page_size) {
    Ranges gone;
    std::string path = proc::proc_path(pid, "mem");
    images::Fd mem(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    std::vector<char> buf(kChunk);
    for (const auto &r : runs) {
        for (uint64_t done = 0; done < r.len;) {
            uint64_t len = std::min(kChunk, r.len - done);
            uint64_t addr = r.vaddr + done;
            ssize_t n = -1;
            if (!r.via_proc_mem) {
                iovec local{buf.data(), size_t(len)};
                iovec remote{reinterpret_cast<void *>(uintptr_t(addr)), size_t(len)};
                n = ::process_vm_readv(pid, &local, 1, &remote, 1, 0);
            } else if (mem.valid()) {
                n = ::pread(mem.get(), buf.data(), len, off_t(addr));
            }
            if (n == ssize_t(len)) {
                STASIS_TRY(out.append(buf.data(), size_t(len)));
                done += len;
                continue;
            }
            if (n < 0 && errno == ESRCH) {
                // The whole process is gone: nothing more to read of it.
                add_range(gone, addr, r.vaddr + r.len);
                for (const auto &rest : runs)
                    if (rest.vaddr > r.vaddr) add_range(gone, rest.vaddr, rest.vaddr + rest.len);
                return gone;
            }
            // Short or failed: page by page, keeping what can still be read.
            for (uint64_t off = 0; off < len; off += page_size) {
                ssize_t got = mem.valid() ? ::pread(mem.get(), buf.data(), page_size, off_t(addr + off)) : -1;
                if (got == ssize_t(page_size)) STASIS_TRY(out.append(buf.data(), size_t(page_size)));
                else add_range(gone, addr + off, addr + off + page_size);
            }
            done += len;
        }
    }
    return gone;
}

void drop_pages(std::vector<images::PagemapEntry> &pagemap, const Ranges &gone, uint64_t page_size) {
    if (gone.empty()) return;
    std::vector<images::PagemapEntry> out;
    for (const auto &e : pagemap) {
        if (e.flags() & (images::PAGEMAP_IN_PARENT | images::PAGEMAP_ZERO)) {
            out.push_back(e);
            continue;
        }
        uint64_t start = e.vaddr(), end = start + e.nr_pages() * page_size;
        for (uint64_t a = start; a < end;) {
            if (overlaps(gone, a, a + page_size)) {
                a += page_size;
                continue;
            }
            uint64_t b = a;
            while (b < end && !overlaps(gone, b, b + page_size)) b += page_size;
            images::PagemapEntry piece = e;
            piece.set_vaddr(a);
            piece.set_nr_pages((b - a) / page_size);
            out.push_back(piece);
            a = b;
        }
    }
    pagemap = std::move(out);
}

}  // namespace stasis::mem
