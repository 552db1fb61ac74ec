// `stasis image show DIR`: a short human summary of a checkpoint.
#include "common/images/show.h"

#include <cstdio>
#include <map>
#include <sstream>

#include "common/images/checkpoint.h"
#include "common/images/format.h"
#include "common/util/log.h"

namespace stasis::images {
namespace {

std::string human_bytes(uint64_t bytes) {
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = double(bytes);
    int unit = 0;
    while (v >= 1024 && unit < 6) {
        v /= 1024;
        unit++;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, unit == 0 ? "%.0f %s" : "%.1f %s", v, units[unit]);
    return buf;
}

// Names are bytes: show printable ASCII as is and everything else escaped.
std::string printable(const std::string &s) {
    std::string out;
    for (unsigned char c : s) {
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            out += char(c);
        } else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        }
    }
    return out;
}

std::string vma_kind_label(VmaKind kind) {
    switch (kind) {
        case VMA_ANON_PRIVATE: return "anon-private";
        case VMA_ANON_SHARED: return "anon-shared";
        case VMA_FILE_PRIVATE: return "file-private";
        case VMA_FILE_SHARED: return "file-shared";
        case VMA_SYSV_SHM: return "sysv-shm";
        case VMA_VDSO: return "vdso";
        case VMA_VVAR: return "vvar";
        case VMA_VVAR_VCLOCK: return "vvar-vclock";
        case VMA_VSYSCALL: return "vsyscall";
        case VMA_SIGPAGE: return "sigpage";
        case VMA_VECTORS: return "vectors";
        default: return "unknown";
    }
}

void show_header(std::ostream &o, const std::string &dir, const Inventory &inv) {
    o << "checkpoint " << dir << "\n";
    o << "  " << inv.dump_kind() << " of " << inv.task_count() << " task(s), root pid " << inv.root_pid() << "\n";
    o << "  " << arch_name(inv.arch()) << ", page size " << inv.page_size() << ", kernel "
      << printable(inv.kernel_release()) << ", stasis " << printable(inv.stasis_version()) << ", format "
      << inv.format_version() << "\n";
    if (!inv.parent_dir().empty()) o << "  parent images: " << printable(inv.parent_dir()) << "\n";
    if (!inv.dirty_tracking().empty()) o << "  dirty tracking: " << inv.dirty_tracking() << "\n";
    if (inv.lazy_pages()) o << "  lazy pages allowed\n";
}

void show_tasks(std::ostream &o, const Checkpoint &cp) {
    o << "tasks:\n";
    for (const TaskImages &t : cp.tasks) {
        o << "  pid " << t.tree.pid() << "  ppid " << t.tree.ppid() << "  pgid " << t.tree.pgid() << "  sid "
          << t.tree.sid() << "  threads " << t.tree.threads_size() << "  comm \"" << printable(t.core.comm())
          << "\"";
        if (t.tree.zombie()) o << "  zombie (exit status " << t.tree.exit_status() << ")";
        o << "\n";
    }
}

void show_memory(std::ostream &o, const Checkpoint &cp) {
    uint64_t page_size = cp.inventory.page_size();
    o << "memory:\n";
    for (const TaskImages &t : cp.tasks) {
        std::map<std::string, std::pair<uint64_t, uint64_t>> by_kind;  // label -> (count, bytes)
        uint64_t total = 0;
        for (const Vma &v : t.vmas) {
            auto &k = by_kind[vma_kind_label(v.kind())];
            k.first++;
            k.second += v.end() - v.start();
            total += v.end() - v.start();
        }
        o << "  pid " << t.tree.pid() << ": " << t.vmas.size() << " vmas, " << human_bytes(total) << "\n";
        for (const auto &[label, count_bytes] : by_kind)
            o << "    " << label << ": " << count_bytes.first << " (" << human_bytes(count_bytes.second) << ")\n";
        uint64_t in_parent = 0, lazy = 0;
        for (const PagemapEntry &e : t.pagemap) {
            if (e.flags() & PAGEMAP_IN_PARENT) in_parent += e.nr_pages();
            if (e.flags() & PAGEMAP_LAZY) lazy += e.nr_pages();
        }
        uint64_t stored = pages_in_file(t.pagemap);
        o << "    pages: " << stored << " (" << human_bytes(stored * page_size) << ") in "
          << pages_file_name(t.pagemap_head.pages_id()) << ", " << in_parent << " in the parent, " << lazy
          << " lazy\n";
    }
}

void show_files(std::ostream &o, const Checkpoint &cp) {
    size_t regular = 0, pipes = 0, eventfds = 0, ghosts = 0, signalfds = 0, timerfds = 0, epolls = 0;
    for (const FileEntry &f : cp.files) {
        if (f.has_reg()) regular++, ghosts += f.reg().ghost_id() != 0;
        if (f.has_pipe()) pipes++;
        if (f.has_eventfd()) eventfds++;
        if (f.has_signalfd()) signalfds++;
        if (f.has_timerfd()) timerfds++;
        if (f.has_epoll()) epolls++;
    }
    o << "files: " << cp.files.size() << " (" << regular << " regular, " << ghosts << " of them deleted, " << pipes
      << " pipe ends, " << eventfds << " eventfd, " << signalfds << " signalfd, " << timerfds << " timerfd, " << epolls
      << " epoll)\n";
    for (const TaskImages &t : cp.tasks) o << "  pid " << t.tree.pid() << ": " << t.fds.size() << " fds\n";
}

}  // namespace

Result<std::string> show_checkpoint(const std::string &dir) {
    // Shows images of any architecture: take arch and page size from the
    // inventory, but check everything else as a restore would.
    ReadOptions opts;
    STASIS_ASSIGN(Checkpoint cp, read_checkpoint(dir, opts));
    std::ostringstream o;
    show_header(o, dir, cp.inventory);
    show_tasks(o, cp);
    show_memory(o, cp);
    show_files(o, cp);
    return o.str();
}

}  // namespace stasis::images
