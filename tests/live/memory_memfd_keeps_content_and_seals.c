/* Proves: a memfd mapped shared keeps its content, size, name, seals and
 * fd; the mapping and the fd still share pages; and a second memfd that is
 * only mapped (its fd closed) keeps its content too. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "live.h"

enum { MEMFD_SEED = 20, MAPPED_ONLY_SEED = 21, PAGES = 8, FD_NUMBER = 40 };

int main(int argc, char **argv) {
    live_init(argc, argv);
    const size_t page = live_page_size(), len = PAGES * page;

    int fd = LIVE_SETUP(memfd_create("stasis-live-sealed", MFD_ALLOW_SEALING | MFD_CLOEXEC));
    LIVE_SETUP(ftruncate(fd, (off_t)len));
    char *map = live_mmap_isolated(len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    live_fill(map, len, MEMFD_SEED);
    /* Shrink and grow are forbidden; writes (through the mapping) are not. */
    const int seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
    LIVE_SETUP(fcntl(fd, F_ADD_SEALS, seals));
    LIVE_SETUP(dup3(fd, FD_NUMBER, O_CLOEXEC));
    close(fd);
    fd = FD_NUMBER;
    struct stat st;
    LIVE_SETUP(fstat(fd, &st));

    int fd2 = LIVE_SETUP(memfd_create("stasis-live-mapped-only", 0));
    LIVE_SETUP(ftruncate(fd2, (off_t)(2 * page)));
    char *only = live_mmap_isolated(2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
    close(fd2);
    live_fill(only, 2 * page, MAPPED_ONLY_SEED);

    live_log("memfd fd %d mapped at %p, mapped-only memfd at %p", fd, map, only);
    live_ready();
    live_wait_for_check();

    ssize_t bad = live_find_mismatch(map, len, MEMFD_SEED);
    LIVE_EXPECT(bad < 0, "memfd mapping content differs at offset %zd", bad);
    bad = live_find_mismatch(only, 2 * page, MAPPED_ONLY_SEED);
    LIVE_EXPECT(bad < 0, "mapped-only memfd content differs at offset %zd", bad);

    int got = fcntl(fd, F_GET_SEALS);
    LIVE_EXPECT(got == seals, "memfd seals are %#x (errno %d), were %#x", got, got < 0 ? errno : 0, seals);
    LIVE_EXPECT(fcntl(fd, F_GETFD) == FD_CLOEXEC, "memfd fd %d: FD_CLOEXEC flag is %d", fd, fcntl(fd, F_GETFD));
    struct stat now;
    memset(&now, 0, sizeof(now));
    int fstat_ok = fstat(fd, &now) == 0; /* before LIVE_EXPECT prints now */
    LIVE_EXPECT(fstat_ok && now.st_size == st.st_size, "memfd size is %lld, was %lld",
                (long long)now.st_size, (long long)st.st_size);
    LIVE_EXPECT(ftruncate(fd, (off_t)len / 2) == -1 && errno == EPERM, "memfd could shrink despite F_SEAL_SHRINK");
    LIVE_EXPECT(ftruncate(fd, (off_t)len * 2) == -1 && errno == EPERM, "memfd could grow despite F_SEAL_GROW");

    char link[256], expect_link[] = "/memfd:stasis-live-sealed (deleted)";
    ssize_t n = readlink("/proc/self/fd/40", link, sizeof(link) - 1);
    link[n < 0 ? 0 : n] = '\0';
    LIVE_EXPECT(strcmp(link, expect_link) == 0, "fd %d links to \"%s\", expected \"%s\"", fd, link, expect_link);
    struct live_vma v;
    memset(&v, 0, sizeof(v));
    bool found = live_find_vma(map, &v);
    LIVE_EXPECT(found && strcmp(v.path, expect_link) == 0 && strcmp(v.perms, "rw-s") == 0 &&
                    v.start == (unsigned long)map && v.end == (unsigned long)map + len,
                "memfd mapping is \"%lx-%lx %s %s\"", v.start, v.end, v.perms, v.path);
    LIVE_EXPECT(v.inode == now.st_ino, "the memfd mapping (inode %lu) and fd %d (inode %lu) are different files",
                v.inode, fd, (unsigned long)now.st_ino);

    /* Fd and mapping share pages, both ways. */
    char buf[16];
    LIVE_EXPECT(pread(fd, buf, sizeof(buf), (off_t)page * 3) == (ssize_t)sizeof(buf) &&
                    memcmp(buf, map + 3 * page, sizeof(buf)) == 0,
                "read through the memfd differs from its mapping");
    LIVE_EXPECT(pwrite(fd, "through-the-fd!", 16, (off_t)page * 5 + 1) == 16, "pwrite memfd: %s", strerror(errno));
    LIVE_EXPECT(memcmp(map + 5 * page + 1, "through-the-fd!", 16) == 0,
                "a write through the memfd does not show in its mapping");
    live_finish();
}
