/* Proves: a SysV shared memory segment attached twice keeps its id, size,
 * attach count, removed-but-attached state and content, and both
 * attachments are still the same memory after restore. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#include "live.h"

enum { SHM_SEED = 30, PAGES = 8 };

int main(int argc, char **argv) {
    live_init(argc, argv);
    const size_t page = live_page_size(), len = PAGES * page;

    int id = LIVE_SETUP(shmget(IPC_PRIVATE, len, IPC_CREAT | 0600));
    char *a = shmat(id, NULL, 0);
    char *b = a == (void *)-1 ? a : shmat(id, NULL, SHM_RDONLY);
    /* Removed at once: the segment lives while attached and can never leak,
     * even when the test is killed. */
    shmctl(id, IPC_RMID, NULL);
    if (a == (void *)-1 || b == (void *)-1) live_fail("setup: shmat: %s", strerror(errno));
    live_fill(a, len, SHM_SEED);
    struct shmid_ds ds;
    LIVE_SETUP(shmctl(id, IPC_STAT, &ds));

    live_log("SysV segment %d attached at %p (rw) and %p (ro), nattch %lu", id, a, b, (unsigned long)ds.shm_nattch);
    live_ready();
    live_wait_for_check();

    struct shmid_ds now;
    if (shmctl(id, IPC_STAT, &now) != 0) {
        live_fail("shmctl(%d, IPC_STAT): %s (the segment id changed or the segment is gone)", id, strerror(errno));
    }
    LIVE_EXPECT(now.shm_segsz == ds.shm_segsz, "segment size %zu, was %zu", (size_t)now.shm_segsz,
                (size_t)ds.shm_segsz);
    LIVE_EXPECT(now.shm_nattch == 2, "segment attach count %lu, expected 2", (unsigned long)now.shm_nattch);
    LIVE_EXPECT(now.shm_perm.mode == ds.shm_perm.mode, "segment mode %#o, was %#o", now.shm_perm.mode,
                ds.shm_perm.mode);
    LIVE_EXPECT(now.shm_perm.mode & SHM_DEST, "segment is no longer marked for removal");
    LIVE_EXPECT(now.shm_perm.__key == IPC_PRIVATE, "segment key %#x, expected IPC_PRIVATE",
                (unsigned)now.shm_perm.__key);

    ssize_t bad = live_find_mismatch(a, len, SHM_SEED);
    LIVE_EXPECT(bad < 0, "read-write attachment differs at offset %zd", bad);
    bad = live_find_mismatch(b, len, SHM_SEED);
    LIVE_EXPECT(bad < 0, "read-only attachment differs at offset %zd", bad);

    struct live_vma va, vb;
    memset(&va, 0, sizeof(va));
    memset(&vb, 0, sizeof(vb));
    bool found_a = live_find_vma(a, &va), found_b = live_find_vma(b, &vb); /* before LIVE_EXPECT prints them */
    LIVE_EXPECT(found_a && strcmp(va.perms, "rw-s") == 0 && va.inode == (unsigned long)id &&
                    va.end - va.start == len,
                "read-write attachment is \"%lx-%lx %s inode %lu %s\"", va.start, va.end, va.perms, va.inode, va.path);
    LIVE_EXPECT(found_b && strcmp(vb.perms, "r--s") == 0 && vb.inode == (unsigned long)id &&
                    vb.end - vb.start == len,
                "read-only attachment is \"%lx-%lx %s inode %lu %s\"", vb.start, vb.end, vb.perms, vb.inode, vb.path);
    for (size_t off = 0; off < len; off += page) {
        a[off + 11] ^= 0x3c;
        LIVE_EXPECT(b[off + 11] == a[off + 11], "segment page %zu: the two attachments no longer share memory",
                    off / page);
    }
    live_finish();
}
