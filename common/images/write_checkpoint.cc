// write_checkpoint(): every protobuf image of a checkpoint, inventory.img last.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "common/images/checkpoint.h"
#include "common/images/image_writer.h"
#include "common/util/log.h"

namespace stasis::images {
namespace {

// Writes one image through `fill` and records its size and checksum in the
// inventory's list of image files.
template <typename Fill>
Status write_image(int dirfd, const std::string &name, ImageKind kind, Inventory *inventory, Fill &&fill) {
    STASIS_ASSIGN(ImageWriter w, ImageWriter::create_at(dirfd, name, kind));
    STASIS_TRY(fill(w));
    STASIS_TRY(w.commit());
    ImageFileDigest *digest = inventory->add_image_files();
    digest->set_name(name);
    digest->set_size(w.size());
    digest->set_crc32c(w.crc32c());
    return ok();
}

template <typename Records>
Status write_all_records(ImageWriter &w, const Records &records) {
    for (const auto &r : records) STASIS_TRY(w.write(r));
    return ok();
}

Status write_task(int dirfd, const TaskImages &t, Inventory *inventory) {
    int32_t pid = t.tree.pid();
    STASIS_TRY(write_image(dirfd, core_file_name(pid), IMAGE_CORE, inventory, [&](ImageWriter &w) -> Status {
        STASIS_TRY(w.write(t.core));
        return write_all_records(w, t.threads);
    }));
    STASIS_TRY(write_image(dirfd, mm_file_name(pid), IMAGE_MM, inventory, [&](ImageWriter &w) -> Status {
        MmHeader mm = t.mm;
        mm.set_vma_count(uint32_t(t.vmas.size()));
        STASIS_TRY(w.write(mm));
        return write_all_records(w, t.vmas);
    }));
    STASIS_TRY(write_image(dirfd, pagemap_file_name(pid), IMAGE_PAGEMAP, inventory, [&](ImageWriter &w) -> Status {
        PagemapHead head = t.pagemap_head;
        head.set_entry_count(uint32_t(t.pagemap.size()));
        STASIS_TRY(w.write(head));
        return write_all_records(w, t.pagemap);
    }));
    STASIS_TRY(write_image(dirfd, fdinfo_file_name(pid), IMAGE_FDINFO, inventory,
                           [&](ImageWriter &w) { return write_all_records(w, t.fds); }));
    return write_image(dirfd, vdso_file_name(pid), IMAGE_VDSO, inventory,
                       [&](ImageWriter &w) { return w.write(t.vdso); });
}

Status write_inventory(int dirfd, const Inventory &inventory, bool durable) {
    const std::string name = inventory_file_name();
    STASIS_ASSIGN(ImageWriter w, ImageWriter::create_at(dirfd, name, IMAGE_INVENTORY));
    STASIS_TRY(w.write(inventory));
    if (durable) STASIS_TRY(w.sync());
    STASIS_TRY(w.commit());
    if (durable && ::fsync(dirfd) != 0) return Error::from_errno("fsync image directory");
    return ok();
}

}  // namespace

Status write_checkpoint(const std::string &dir, const Checkpoint &cp, const WriteOptions &opts) {
    STASIS_ASSIGN(Fd dirfd, std::move(open_dir(dir, true)).context("images dir"));
    // An older inventory.img would vouch for a mix of old and new files
    // while this checkpoint is being written.
    if (::unlinkat(dirfd.get(), inventory_file_name().c_str(), 0) != 0 && errno != ENOENT)
        return Error::from_errno(log::cat(dir, ": remove old ", inventory_file_name()));

    Inventory inventory = cp.inventory;
    inventory.clear_image_files();
    inventory.set_task_count(uint32_t(cp.tasks.size()));
    STASIS_TRY(write_image(dirfd.get(), files_file_name(), IMAGE_FILES, &inventory,
                           [&](ImageWriter &w) { return write_all_records(w, cp.files); }));
    STASIS_TRY(write_image(dirfd.get(), pstree_file_name(), IMAGE_PSTREE, &inventory, [&](ImageWriter &w) -> Status {
        for (const auto &t : cp.tasks) STASIS_TRY(w.write(t.tree));
        return ok();
    }));
    for (const auto &t : cp.tasks) STASIS_TRY(write_task(dirfd.get(), t, &inventory));

    // Everything the inventory vouches for (these images, and the pages and
    // ghost files written before) reaches the disk before the inventory does.
    if (opts.durable && ::syncfs(dirfd.get()) != 0) return Error::from_errno(log::cat(dir, ": syncfs"));
    return std::move(write_inventory(dirfd.get(), inventory, opts.durable)).context(dir);
}

}  // namespace stasis::images
