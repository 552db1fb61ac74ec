/* Proves: files deleted while open ("ghost" files) come back with their
 * content, size, offset, flags and zero link count — also one that is
 * mmap'ed shared (fd and mapping still the same file), and one whose name
 * was taken by a new file (the fd still reads the old content, the new
 * file is untouched) — and no trace of them reappears in the directory. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "live.h"

enum { GHOST_FD = 50, REPLACED_FD = 51, GHOST_SEED = 80, GHOST_OFFSET = 100 };
static const char old_text[] = "the old content of replaced.txt\n";
static const char new_text[] = "a new file under the same name\n";

int main(int argc, char **argv) {
    live_init(argc, argv);
    const size_t page = live_page_size();
    const size_t ghost_len = 3 * page + 321;
    char ghost_path[600], replaced_path[600];

    live_path(ghost_path, sizeof(ghost_path), "ghost.bin");
    int fd = LIVE_SETUP(open(ghost_path, O_RDWR | O_CREAT | O_TRUNC, 0640));
    char *content = live_mmap_isolated(4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    live_fill(content, ghost_len, GHOST_SEED);
    LIVE_SETUP(write(fd, content, ghost_len) == (ssize_t)ghost_len ? 0 : -1);
    LIVE_SETUP(dup3(fd, GHOST_FD, 0));
    close(fd);
    fd = GHOST_FD;
    LIVE_SETUP(lseek(fd, GHOST_OFFSET, SEEK_SET));
    char *map = live_mmap_isolated(2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)page);
    int flags_before = fcntl(fd, F_GETFL);
    LIVE_SETUP(unlink(ghost_path));

    live_path(replaced_path, sizeof(replaced_path), "replaced.txt");
    int rfd = LIVE_SETUP(open(replaced_path, O_RDWR | O_CREAT | O_TRUNC, 0644));
    LIVE_SETUP(write(rfd, old_text, sizeof(old_text) - 1));
    LIVE_SETUP(dup3(rfd, REPLACED_FD, O_CLOEXEC));
    close(rfd);
    rfd = REPLACED_FD;
    LIVE_SETUP(unlink(replaced_path));
    int nfd = LIVE_SETUP(open(replaced_path, O_WRONLY | O_CREAT | O_TRUNC, 0644));
    LIVE_SETUP(write(nfd, new_text, sizeof(new_text) - 1));
    close(nfd);

    live_log("ghost fd %d (%zu bytes, mapped at %p), replaced fd %d", fd, ghost_len, map, rfd);
    live_ready();
    live_wait_for_check();

    /* Calls whose results a message prints come first: C leaves the order
     * in which LIVE_EXPECT's arguments are evaluated open. */
    struct stat st;
    memset(&st, 0, sizeof(st));
    int fstat_ok = fstat(fd, &st) == 0;
    LIVE_EXPECT(fstat_ok && st.st_nlink == 0 && st.st_size == (off_t)ghost_len &&
                    (st.st_mode & 07777) == 0640,
                "ghost fd: nlink %lu size %lld mode %o, expected 0, %zu, 640", (unsigned long)st.st_nlink,
                (long long)st.st_size, st.st_mode & 07777, ghost_len);
    LIVE_EXPECT(lseek(fd, 0, SEEK_CUR) == GHOST_OFFSET, "ghost fd offset %lld, was %d",
                (long long)lseek(fd, 0, SEEK_CUR), GHOST_OFFSET);
    LIVE_EXPECT(fcntl(fd, F_GETFL) == flags_before, "ghost fd open flags %#o, were %#o", fcntl(fd, F_GETFL),
                flags_before);
    static char buf[65536 * 4 + 512];
    ssize_t n = pread(fd, buf, ghost_len + 10, 0);
    LIVE_EXPECT(n == (ssize_t)ghost_len && memcmp(buf, content, ghost_len) == 0,
                "ghost file content differs (read %zd bytes)", n);
    LIVE_EXPECT(memcmp(map, content + page, 2 * page) == 0, "the mapping of the ghost file differs");
    struct live_vma v;
    memset(&v, 0, sizeof(v));
    bool found = live_find_vma(map, &v);
    LIVE_EXPECT(found && v.inode == st.st_ino && strcmp(v.perms, "rw-s") == 0,
                "the ghost mapping (inode %lu) and the ghost fd (inode %lu) are different files", v.inode,
                (unsigned long)st.st_ino);
    memcpy(map + 10, "via-mapping", 11);
    LIVE_EXPECT(pread(fd, buf, 11, (off_t)page + 10) == 11 && memcmp(buf, "via-mapping", 11) == 0,
                "a write to the ghost mapping does not reach the ghost fd");
    char link[700], want[700];
    n = readlink("/proc/self/fd/50", link, sizeof(link) - 1);
    link[n < 0 ? 0 : n] = '\0';
    snprintf(want, sizeof(want), "%s (deleted)", ghost_path);
    LIVE_EXPECT(strcmp(link, want) == 0, "ghost fd links to \"%s\", expected \"%s\"", link, want);
    LIVE_EXPECT(access(ghost_path, F_OK) == -1 && errno == ENOENT, "%s exists again after restore", ghost_path);

    memset(buf, 0, sizeof(old_text));
    LIVE_EXPECT(pread(rfd, buf, sizeof(old_text) - 1, 0) == sizeof(old_text) - 1 &&
                    memcmp(buf, old_text, sizeof(old_text) - 1) == 0,
                "the replaced file's fd reads \"%.40s\", expected its old content", buf);
    fstat_ok = fstat(rfd, &st) == 0;
    LIVE_EXPECT(fstat_ok && st.st_nlink == 0, "the replaced file's fd has nlink %lu",
                (unsigned long)st.st_nlink);
    char now[128] = "";
    live_read_file(replaced_path, now, sizeof(now));
    LIVE_EXPECT(strcmp(now, new_text) == 0, "the new replaced.txt holds \"%s\"", now);
    live_finish();
}
