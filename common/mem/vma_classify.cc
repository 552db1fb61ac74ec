#include "common/mem/vma_classify.h"

#include <sys/mman.h>

#include <string>

namespace stasis::mem {
namespace {

using proc::VmFlag;

Error refuse(const proc::Mapping &m, const std::string &why) {
    char range[64];
    std::snprintf(range, sizeof range, "%llx-%llx", (unsigned long long)m.start, (unsigned long long)m.end);
    return Error(std::string("mapping ") + range + " " + (m.path.empty() ? "(anonymous)" : m.path) + ": " + why);
}

Result<VmaClass> classify_special(const proc::Mapping &m) {
    VmaClass c;
    if (m.path == "[vdso]") c.kind = images::VMA_VDSO;
    else if (m.path == "[vvar]") c.kind = images::VMA_VVAR;
    else if (m.path == "[vvar_vclock]") c.kind = images::VMA_VVAR_VCLOCK;
    else if (m.path == "[vsyscall]") c.kind = images::VMA_VSYSCALL;
    else if (m.path == "[sigpage]") c.kind = images::VMA_SIGPAGE;
    else if (m.path == "[vectors]") c.kind = images::VMA_VECTORS;
    else return refuse(m, "unknown kernel-provided mapping; stasis does not know how to restore it");
    // Never saved as pages: the restoring kernel provides its own (vvar
    // contents are kernel data; the vDSO is recorded by its symbols).
    return c;
}

}  // namespace

Result<VmaClass> classify(const proc::Mapping &m) {
    if (m.has(VmFlag::io) || m.has(VmFlag::pfn_map)) {
        if (m.is_special()) return classify_special(m);
        return refuse(m, "device memory (VM_IO/VM_PFNMAP) cannot be checkpointed");
    }
    if (m.has(VmFlag::hugetlb)) return refuse(m, "hugetlbfs mappings are not supported yet");
    if (m.has(VmFlag::shadow_stack)) return refuse(m, "shadow stacks are not supported yet");
    if (m.has(VmFlag::uffd_missing) || m.has(VmFlag::uffd_wp) || m.has(VmFlag::uffd_minor))
        return refuse(m, "memory registered with a userfaultfd is not supported (the program's own, or the "
                         "tracking of an earlier pre-dump: dump on top of it with --prev-images-dir, or end its "
                         "stasis-track keeper)");
    if (m.is_special()) return classify_special(m);

    VmaClass c;
    bool anon_path = m.path.empty() || m.is_heap() || m.is_stack() || m.is_named_anonymous();
    if (anon_path) {
        if (m.shared) {
            c.kind = images::VMA_ANON_SHARED;
            c.content = ContentSource::shared_object;
        } else {
            c.kind = images::VMA_ANON_PRIVATE;
            c.content = ContentSource::present_pages;
        }
        return c;
    }
    if (m.path == "/dev/zero" && m.deleted && m.shared) {
        c.kind = images::VMA_ANON_SHARED;
        c.content = ContentSource::shared_object;
        return c;
    }
    if (m.path.rfind("/SYSV", 0) == 0 && m.deleted) {
        c.kind = images::VMA_SYSV_SHM;
        c.content = ContentSource::none;  // the segment itself is saved by the file table
        return c;
    }
    if (m.path.rfind("anon_inode:", 0) == 0 || m.path.rfind("/[aio]", 0) == 0)
        return refuse(m, "mapping of a kernel object (" + m.path + ") is not supported");
    if (m.path[0] != '/') return refuse(m, "unrecognised mapping name");
    c.file_backed = true;
    c.kind = m.shared ? images::VMA_FILE_SHARED : images::VMA_FILE_PRIVATE;
    if (m.deleted || m.is_memfd()) {
        // The file cannot be opened by path at restore: its content is saved
        // with the file, and private COW copies on top as for any file.
        c.content = m.shared ? ContentSource::file_content : ContentSource::anon_pages;
    } else {
        c.content = m.shared ? ContentSource::none : ContentSource::anon_pages;
    }
    return c;
}

uint32_t map_flags(const proc::Mapping &m, const VmaClass &c) {
    uint32_t f = m.shared ? MAP_SHARED : MAP_PRIVATE;
    if (c.kind == images::VMA_ANON_PRIVATE || c.kind == images::VMA_ANON_SHARED) f |= MAP_ANONYMOUS;
    if (m.has(VmFlag::grows_down)) f |= MAP_GROWSDOWN;
    if (m.has(VmFlag::no_reserve)) f |= MAP_NORESERVE;
    return f;
}

uint64_t madvise_bits(const proc::Mapping &m) {
    uint64_t bits = 0;
    auto set = [&bits](int advice) { bits |= uint64_t(1) << advice; };
    if (m.has(VmFlag::sequential_read)) set(MADV_SEQUENTIAL);
    if (m.has(VmFlag::random_read)) set(MADV_RANDOM);
    if (m.has(VmFlag::dont_copy)) set(MADV_DONTFORK);
    if (m.has(VmFlag::dont_dump)) set(MADV_DONTDUMP);
    if (m.has(VmFlag::huge_page)) set(MADV_HUGEPAGE);
    if (m.has(VmFlag::no_huge_page)) set(MADV_NOHUGEPAGE);
    if (m.has(VmFlag::wipe_on_fork)) set(MADV_WIPEONFORK);
    if (m.has(VmFlag::mergeable)) set(MADV_MERGEABLE);
    return bits;
}

}  // namespace stasis::mem
