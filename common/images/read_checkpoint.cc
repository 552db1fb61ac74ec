// read_checkpoint(): reads an image directory, trusting nothing in it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <unordered_map>

#include "common/images/checkpoint.h"
#include "common/images/crc32c.h"
#include "common/images/image_codec.h"
#include "common/images/validate.h"
#include "common/util/log.h"

namespace stasis::images {
namespace {

// An image directory being read, with the sizes and checksums its
// inventory.img recorded.
struct ImageDir {
    Fd fd;
    bool check_digests = true;
    std::unordered_map<std::string, const ImageFileDigest *> digests;
};

Status check_digest(const ImageDir &dir, const std::string &name, const std::string &bytes) {
    auto it = dir.digests.find(name);
    if (it == dir.digests.end()) return Error(log::cat(name, ": not listed in inventory.img"));
    if (bytes.size() != it->second->size())
        return Error(log::cat(name, ": ", bytes.size(), " bytes, but inventory.img recorded ", it->second->size(),
                              " (truncated or changed after the dump)"));
    if (crc32c_update(0, bytes.data(), bytes.size()) != it->second->crc32c())
        return Error(log::cat(name, ": checksum differs from the one inventory.img recorded (damaged or changed "
                                    "after the dump)"));
    return ok();
}

template <typename FileMessage>
Result<FileMessage> read_image(const ImageDir &dir, const std::string &name) {
    STASIS_ASSIGN(std::string bytes, read_regular_file(dir.fd.get(), name, kMaxImageFileBytes));
    if (dir.check_digests) STASIS_TRY(check_digest(dir, name, bytes));
    return std::move(parse_image_file_as<FileMessage>(bytes)).context(name);
}

// Moves protobuf's repeated records into the vector the engine uses.
template <typename T>
std::vector<T> take(google::protobuf::RepeatedPtrField<T> *records) {
    std::vector<T> out(size_t(records->size()));
    for (size_t i = 0; i < out.size(); i++) out[i].Swap(records->Mutable(int(i)));
    records->Clear();
    return out;
}

Result<Inventory> read_inventory(ImageDir *dir, const std::string &path, const ReadOptions &opts) {
    const std::string name = inventory_file_name();
    auto bytes = read_regular_file(dir->fd.get(), name, kMaxImageFileBytes);
    if (!bytes.ok() && bytes.error().sys_errno() == ENOENT)
        return Error(log::cat("incomplete checkpoint: no ", name, " in ", path));
    if (!bytes.ok()) return std::move(bytes).error();
    STASIS_ASSIGN(InventoryImage image, std::move(parse_image_file_as<InventoryImage>(*bytes)).context(name));
    STASIS_TRY(std::move(validate::inventory(image.inventory(), opts)).context(name));
    Inventory inventory;
    inventory.Swap(image.mutable_inventory());
    return inventory;
}

Status read_task(const ImageDir &dir, TaskImages *t) {
    int32_t pid = t->tree.pid();
    STASIS_ASSIGN(CoreImage core, read_image<CoreImage>(dir, core_file_name(pid)));
    t->core.Swap(core.mutable_task());
    t->threads = take(core.mutable_threads());
    STASIS_ASSIGN(MmImage mm, read_image<MmImage>(dir, mm_file_name(pid)));
    t->mm.Swap(mm.mutable_mm());
    t->vmas = take(mm.mutable_vmas());
    STASIS_ASSIGN(PagemapImage pagemap, read_image<PagemapImage>(dir, pagemap_file_name(pid)));
    t->pagemap_head.Swap(pagemap.mutable_head());
    t->pagemap = take(pagemap.mutable_entries());
    STASIS_ASSIGN(FdinfoImage fdinfo, read_image<FdinfoImage>(dir, fdinfo_file_name(pid)));
    t->fds = take(fdinfo.mutable_fds());
    STASIS_ASSIGN(VdsoImage vdso, read_image<VdsoImage>(dir, vdso_file_name(pid)));
    t->vdso.Swap(vdso.mutable_vdso());
    return ok();
}

Result<RawImage> open_raw_image_at(int dirfd, const std::string &name, ImageKind kind, uint32_t page_size) {
    if (!valid_page_size(page_size)) return Error(log::cat(name, ": invalid page size ", page_size));
    RawImage image;
    image.fd = Fd(::openat(dirfd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
    if (!image.fd.valid()) return Error::from_errno(name);
    struct stat st;
    if (::fstat(image.fd.get(), &st) != 0) return Error::from_errno(log::cat(name, ": fstat"));
    if (!S_ISREG(st.st_mode)) return Error(log::cat(name, ": not a regular file"));
    if (::fcntl(image.fd.get(), F_SETFL, 0) != 0) return Error::from_errno(log::cat(name, ": fcntl"));
    image.file_size = uint64_t(st.st_size);
    if (image.file_size < page_size)
        return Error(log::cat(name, ": truncated header: ", image.file_size, " bytes, the header page is ",
                              page_size));
    std::string header(page_size, '\0');
    ssize_t n = ::pread(image.fd.get(), header.data(), header.size(), 0);
    if (n < 0) return Error::from_errno(log::cat(name, ": read header"));
    if (size_t(n) != header.size()) return Error(log::cat(name, ": file shrank while being read"));
    STASIS_TRY(std::move(parse_header(header, kind)).context(name));
    if (header.find_first_not_of('\0', kHeaderSize) != std::string::npos)
        return Error(log::cat(name, ": header padding is not zero (written with another page size?)"));
    image.data_offset = page_size;
    image.data_size = image.file_size - page_size;
    return image;
}

Status check_pages_files(const ImageDir &dir, const Checkpoint &cp) {
    uint32_t page_size = cp.inventory.page_size();
    for (const TaskImages &t : cp.tasks) {
        uint64_t pages = pages_in_file(t.pagemap);
        if (pages == 0) continue;
        std::string name = pages_file_name(t.pagemap_head.pages_id());
        STASIS_ASSIGN(RawImage image, std::move(open_raw_image_at(dir.fd.get(), name, IMAGE_PAGES, page_size))
                                          .context(pagemap_file_name(t.tree.pid())));
        if (image.data_size % page_size != 0)
            return Error(log::cat(name, ": ", image.data_size, " data bytes are not whole pages (truncated?)"));
        if (image.data_size / page_size < pages)
            return Error(log::cat(name, ": holds ", image.data_size / page_size, " pages, but ",
                                  pagemap_file_name(t.tree.pid()), " needs ", pages));
    }
    for (size_t i = 0; i < cp.files.size(); i++) {
        const FileEntry &f = cp.files[i];
        if (!f.has_reg() || f.reg().ghost_id() == 0) continue;
        STASIS_TRY(std::move(open_raw_image_at(dir.fd.get(), ghost_file_name(f.reg().ghost_id()), IMAGE_GHOST,
                                               page_size))
                       .context(log::cat("files.img: file #", i, " (id ", f.id(), ")")));
    }
    return ok();
}

}  // namespace

uint64_t pages_in_file(const std::vector<PagemapEntry> &pagemap) {
    uint64_t pages = 0;
    for (const auto &e : pagemap)
        if (!(e.flags() & (PAGEMAP_IN_PARENT | PAGEMAP_ZERO))) pages += e.nr_pages();
    return pages;
}

Status validate_checkpoint(const Checkpoint &cp, const ReadOptions &opts) {
    const Inventory &inv = cp.inventory;
    STASIS_TRY(std::move(validate::inventory(inv, opts)).context(inventory_file_name()));
    STASIS_TRY(std::move(validate::pstree(cp.tasks, inv)).context(pstree_file_name()));
    validate::FileIndex files;
    STASIS_TRY(std::move(validate::files(cp.files, &files)).context(files_file_name()));
    uint64_t page_size = inv.page_size();
    std::unordered_map<uint32_t, int32_t> pages_owner;
    for (const TaskImages &t : cp.tasks) {
        int32_t pid = t.tree.pid();
        STASIS_TRY(std::move(validate::core(t, inv.arch(), inv.dump_kind() == "pre-dump")).context(core_file_name(pid)));
        STASIS_TRY(std::move(validate::fds(t, files)).context(fdinfo_file_name(pid)));
        STASIS_TRY(std::move(validate::mm(t, files, page_size, inv.dump_kind() == "pre-dump")).context(mm_file_name(pid)));
        STASIS_TRY(std::move(validate::pagemap(t, page_size, !inv.parent_dir().empty()))
                       .context(pagemap_file_name(pid)));
        STASIS_TRY(std::move(validate::vdso(t, page_size)).context(vdso_file_name(pid)));
        if (pages_in_file(t.pagemap) == 0) continue;
        auto [owner, fresh] = pages_owner.emplace(t.pagemap_head.pages_id(), pid);
        if (!fresh)
            return Error(log::cat(pagemap_file_name(pid), ": pages_id ", t.pagemap_head.pages_id(),
                                  " is also used by pid ", owner->second));
    }
    return std::move(validate::epoll_watches(cp.tasks, files)).context(files_file_name());
}

Result<Inventory> read_checkpoint_inventory(const std::string &path, const ReadOptions &opts) {
    route_protobuf_logging();
    ImageDir dir;
    STASIS_ASSIGN(dir.fd, std::move(open_dir(path, false)).context("images dir"));
    return read_inventory(&dir, path, opts);
}

Result<Checkpoint> read_checkpoint(const std::string &path, const ReadOptions &opts) {
    route_protobuf_logging();
    ImageDir dir;
    dir.check_digests = opts.check_digests;
    STASIS_ASSIGN(dir.fd, std::move(open_dir(path, false)).context("images dir"));
    Checkpoint cp;
    STASIS_ASSIGN(cp.inventory, read_inventory(&dir, path, opts));
    for (const auto &d : cp.inventory.image_files()) dir.digests.emplace(d.name(), &d);

    // The tree first: its pids name the other files, so they are checked
    // before any file name is made from them.
    STASIS_ASSIGN(PstreeImage pstree, read_image<PstreeImage>(dir, pstree_file_name()));
    cp.tasks.resize(size_t(pstree.tasks_size()));
    for (size_t i = 0; i < cp.tasks.size(); i++) cp.tasks[i].tree.Swap(pstree.mutable_tasks(int(i)));
    STASIS_TRY(std::move(validate::pstree(cp.tasks, cp.inventory)).context(pstree_file_name()));

    STASIS_ASSIGN(FilesImage files, read_image<FilesImage>(dir, files_file_name()));
    cp.files = take(files.mutable_files());
    for (TaskImages &t : cp.tasks) STASIS_TRY(read_task(dir, &t));

    STASIS_TRY(validate_checkpoint(cp, opts));
    if (opts.check_pages) STASIS_TRY(check_pages_files(dir, cp));
    return cp;
}

Result<RawImage> open_raw_image(const std::string &dir, const std::string &name, ImageKind kind,
                                uint32_t page_size) {
    STASIS_ASSIGN(Fd dirfd, std::move(open_dir(dir, false)).context("images dir"));
    return open_raw_image_at(dirfd.get(), name, kind, page_size);
}

Result<int> open_pages(const std::string &dir, uint32_t pages_id, uint32_t page_size, uint64_t expected_pages) {
    std::string name = pages_file_name(pages_id);
    STASIS_ASSIGN(RawImage image, open_raw_image(dir, name, IMAGE_PAGES, page_size));
    if (image.data_size % page_size != 0)
        return Error(log::cat(name, ": ", image.data_size, " data bytes are not whole pages (truncated?)"));
    if (image.data_size / page_size < expected_pages)
        return Error(log::cat(name, ": holds ", image.data_size / page_size, " pages, the pagemap needs ",
                              expected_pages));
    return image.fd.release();
}

}  // namespace stasis::images
