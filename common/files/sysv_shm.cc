#include "common/files/sysv_shm.h"

#include <fcntl.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/util/log.h"

namespace stasis::files {
namespace {

Status write_next_id(int id) {
    int fd = ::open("/proc/sys/kernel/shm_next_id", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return Error::from_errno("open /proc/sys/kernel/shm_next_id");
    std::string v = std::to_string(id);
    ssize_t n = ::write(fd, v.data(), v.size());
    int err = errno;
    ::close(fd);
    if (n != ssize_t(v.size())) return Error::from_errno("write /proc/sys/kernel/shm_next_id", err);
    return ok();
}

Status fill(int id, const images::SysvShmSegment &seg, const std::string &dir, uint32_t page_size) {
    std::string name = "ghost-" + std::to_string(seg.ghost_id()) + ".img";
    STASIS_ASSIGN(images::RawImage img, images::open_raw_image(dir, name, images::IMAGE_GHOST, page_size));
    if (img.data_size != seg.size())
        return Error(name + " holds " + std::to_string(img.data_size) + " bytes, the segment had " +
                     std::to_string(seg.size()));
    void *p = ::shmat(id, nullptr, 0);
    if (p == reinterpret_cast<void *>(-1)) return Error::from_errno("attach the new segment");
    uint64_t off = 0;
    Status st;
    while (off < seg.size() && st.ok()) {
        ssize_t n = ::pread(img.fd.get(), static_cast<char *>(p) + off, seg.size() - off, off_t(img.data_offset + off));
        if (n <= 0) st = Error::from_errno("read " + name);
        else off += uint64_t(n);
    }
    ::shmdt(p);
    return st;
}

}  // namespace

SysvSegments::~SysvSegments() {
    if (committed_) return;
    for (int id : created_) ::shmctl(id, IPC_RMID, nullptr);
}

Status SysvSegments::prepare(const images::Checkpoint &cp, const std::string &dir, uint32_t page_size) {
    for (const auto &f : cp.files) {
        if (!f.has_sysv_shm()) continue;
        const auto &seg = f.sysv_shm();
        std::string what = "SysV shm segment " + std::to_string(seg.id());
        struct shmid_ds ds {};
        if (::shmctl(seg.id(), IPC_STAT, &ds) == 0) {
            if (ds.shm_perm.__key == seg.key() && ds.shm_segsz == seg.size() && !(ds.shm_perm.mode & SHM_DEST)) {
                log::info(what, " still exists: attaching it as it is");
                if (seg.removed()) remove_on_commit_.push_back(seg.id());
                continue;
            }
            return Error(what + " is taken by another segment now");
        }
        key_t key = seg.key();
        if (key != IPC_PRIVATE && ::shmget(key, 0, 0) >= 0)
            return Error(what + ": its key " + std::to_string(key) + " is taken by another segment now");
        STASIS_TRY(std::move(write_next_id(seg.id())).context(what));
        int id = ::shmget(key, seg.size(), IPC_CREAT | IPC_EXCL | int(seg.mode() & 0777));
        if (id < 0) return Error::from_errno("recreate " + what);
        created_.push_back(id);
        if (id != seg.id()) return Error(what + ": the kernel gave id " + std::to_string(id));
        STASIS_TRY(std::move(fill(id, seg, dir, page_size)).context(what));
        struct shmid_ds set {};
        ::shmctl(id, IPC_STAT, &set);
        set.shm_perm.uid = seg.uid();
        set.shm_perm.gid = seg.gid();
        if (::shmctl(id, IPC_SET, &set) != 0) return Error::from_errno("set owner of " + what);
        if (seg.removed()) remove_on_commit_.push_back(id);
    }
    return ok();
}

Status SysvSegments::commit() {
    committed_ = true;
    for (int id : remove_on_commit_)
        if (::shmctl(id, IPC_RMID, nullptr) != 0) return Error::from_errno("remove SysV shm segment " + std::to_string(id));
    return ok();
}

}  // namespace stasis::files
