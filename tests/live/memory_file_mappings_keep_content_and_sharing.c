/* Proves: private file mappings keep their layout and content — a text-like
 * read+exec mapping and a data-like read+write one with some pages modified:
 * modified pages keep the modification, unmodified pages still match the
 * file and are still backed by it (a later write to the file shows through),
 * and the file itself never saw the private writes — and a MAP_SHARED file
 * mapping stays shared with the file in both directions. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "live.h"

enum { FILE_SEED = 10, MODIFIED_SEED = 11, SHARED_SEED = 12 };
enum { FILE_PAGES = 16, TEXT_PAGES = 4, DATA_OFFSET_PAGES = 4, DATA_PAGES = 8, SHARED_PAGES = 6 };
static const int modified_pages[] = {1, 5}; /* of the data mapping */

static size_t page;
static char file_path[600], shared_path[600];
static struct stat file_st, shared_st;
static char *file_copy; /* what the file holds, read before any mapping */

static bool is_modified(int i) {
    for (size_t k = 0; k < sizeof(modified_pages) / sizeof(modified_pages[0]); k++)
        if (modified_pages[k] == i) return true;
    return false;
}

static void expect_mapping(const char *what, const void *p, size_t len, const char *perms, size_t offset,
                           const struct stat *st) {
    struct live_vma v;
    if (!live_find_vma(p, &v)) {
        LIVE_EXPECT(false, "%s: no mapping at %p", what, p);
        return;
    }
    LIVE_EXPECT(v.start == (unsigned long)p && v.end == (unsigned long)p + len, "%s: mapping is %lx-%lx, expected %p+%zu",
                what, v.start, v.end, p, len);
    LIVE_EXPECT(strcmp(v.perms, perms) == 0, "%s: permissions %s, expected %s", what, v.perms, perms);
    LIVE_EXPECT(v.offset == offset, "%s: file offset %#llx, expected %#zx", what, v.offset, offset);
    LIVE_EXPECT(v.inode == st->st_ino, "%s: inode %lu, expected %lu", what, v.inode, (unsigned long)st->st_ino);
}

int main(int argc, char **argv) {
    live_init(argc, argv);
    page = live_page_size();

    /* The file: 16 pages of pattern. */
    live_path(file_path, sizeof(file_path), "mapped.bin");
    int fd = LIVE_SETUP(open(file_path, O_RDWR | O_CREAT | O_TRUNC, 0644));
    file_copy = live_mmap_isolated(FILE_PAGES * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    live_fill(file_copy, FILE_PAGES * page, FILE_SEED);
    LIVE_SETUP(pwrite(fd, file_copy, FILE_PAGES * page, 0) == (ssize_t)(FILE_PAGES * page) ? 0 : -1);
    LIVE_SETUP(fstat(fd, &file_st));

    /* Text-like: read+exec, private, pages 0-3, never written. */
    char *text = live_mmap_isolated(TEXT_PAGES * page, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
    /* Data-like: read+write, private, pages 4-11; two pages modified. */
    char *data = live_mmap_isolated(DATA_PAGES * page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd,
                                    (off_t)(DATA_OFFSET_PAGES * page));
    for (int i = 0; i < DATA_PAGES; i++) {
        volatile char c = data[(size_t)i * page]; /* fault every page in */
        (void)c;
        if (is_modified(i)) live_fill(data + (size_t)i * page, page, MODIFIED_SEED + (uint64_t)i);
    }
    close(fd); /* the mappings keep the file */

    /* Shared: written through the mapping before the checkpoint. */
    live_path(shared_path, sizeof(shared_path), "shared.bin");
    int sfd = LIVE_SETUP(open(shared_path, O_RDWR | O_CREAT | O_TRUNC, 0644));
    LIVE_SETUP(ftruncate(sfd, (off_t)(SHARED_PAGES * page)));
    LIVE_SETUP(fstat(sfd, &shared_st));
    char *shared = live_mmap_isolated(SHARED_PAGES * page, PROT_READ | PROT_WRITE, MAP_SHARED, sfd, 0);
    close(sfd);
    live_fill(shared, SHARED_PAGES * page, SHARED_SEED);

    live_log("file %s: text %p, data %p; shared %s at %p", file_path, text, data, shared_path, shared);
    live_ready();
    live_wait_for_check();

    expect_mapping("text-like mapping", text, TEXT_PAGES * page, "r-xp", 0, &file_st);
    expect_mapping("data-like mapping", data, DATA_PAGES * page, "rw-p", DATA_OFFSET_PAGES * page, &file_st);
    expect_mapping("shared mapping", shared, SHARED_PAGES * page, "rw-s", 0, &shared_st);

    LIVE_EXPECT(memcmp(text, file_copy, TEXT_PAGES * page) == 0, "text-like mapping no longer matches the file");
    for (int i = 0; i < DATA_PAGES; i++) {
        const char *p = data + (size_t)i * page;
        if (is_modified(i)) {
            ssize_t bad = live_find_mismatch(p, page, MODIFIED_SEED + (uint64_t)i);
            LIVE_EXPECT(bad < 0, "data page %d lost its private modification (offset %zd)", i, bad);
        } else {
            LIVE_EXPECT(memcmp(p, file_copy + (DATA_OFFSET_PAGES + (size_t)i) * page, page) == 0,
                        "unmodified data page %d no longer matches the file", i);
        }
    }
    ssize_t bad = live_find_mismatch(shared, SHARED_PAGES * page, SHARED_SEED);
    LIVE_EXPECT(bad < 0, "shared mapping content differs at offset %zd", bad);

    /* The files: private writes never reached mapped.bin; shared writes did. */
    static char buf[65536];
    fd = open(file_path, O_RDWR);
    LIVE_EXPECT(fd >= 0, "cannot reopen %s: %s", file_path, strerror(errno));
    for (size_t off = 0; fd >= 0 && off < FILE_PAGES * page; off += page) {
        LIVE_EXPECT(pread(fd, buf, page, (off_t)off) == (ssize_t)page && memcmp(buf, file_copy + off, page) == 0,
                    "mapped.bin page %zu changed on disk (private writes leaked into the file?)", off / page);
    }
    sfd = open(shared_path, O_RDWR);
    LIVE_EXPECT(sfd >= 0, "cannot reopen %s: %s", shared_path, strerror(errno));
    for (size_t off = 0; sfd >= 0 && off < SHARED_PAGES * page; off += page) {
        LIVE_EXPECT(pread(sfd, buf, page, (off_t)off) == (ssize_t)page && memcmp(buf, shared + off, page) == 0,
                    "shared.bin page %zu differs from the shared mapping", off / page);
    }

    /* Still backed by the files after restore. A write to mapped.bin shows
     * in the unmodified private pages (they were never copied), not in the
     * modified ones; shared.bin and its mapping see each other's writes. */
    if (fd >= 0) {
        for (int i = 0; i < DATA_PAGES; i++) {
            char mark[16] = "file-write-0";
            mark[11] = (char)('0' + i);
            off_t at = (off_t)((DATA_OFFSET_PAGES + (size_t)i) * page + 100);
            LIVE_EXPECT(pwrite(fd, mark, sizeof(mark), at) == (ssize_t)sizeof(mark), "pwrite mapped.bin: %s",
                        strerror(errno));
            bool shows = memcmp(data + (size_t)i * page + 100, mark, sizeof(mark)) == 0;
            if (is_modified(i))
                LIVE_EXPECT(!shows, "modified private page %d shows a later write to the file", i);
            else
                LIVE_EXPECT(shows, "unmodified private page %d is no longer backed by the file "
                                   "(a write to the file does not show in it)", i);
        }
        char mark[8] = "text-ok";
        LIVE_EXPECT(pwrite(fd, mark, sizeof(mark), 200) == (ssize_t)sizeof(mark), "pwrite: %s", strerror(errno));
        LIVE_EXPECT(memcmp(text + 200, mark, sizeof(mark)) == 0,
                    "the text-like mapping is no longer backed by the file");
        close(fd);
    }
    if (sfd >= 0) {
        char mark[12] = "to-the-file";
        memcpy(shared + page + 7, mark, sizeof(mark));
        LIVE_EXPECT(pread(sfd, buf, sizeof(mark), (off_t)page + 7) == (ssize_t)sizeof(mark) &&
                        memcmp(buf, mark, sizeof(mark)) == 0,
                    "a write to the shared mapping does not reach shared.bin");
        char back[12] = "from-a-file";
        LIVE_EXPECT(pwrite(sfd, back, sizeof(back), 3 * (off_t)page + 9) == (ssize_t)sizeof(back), "pwrite: %s",
                    strerror(errno));
        LIVE_EXPECT(memcmp(shared + 3 * page + 9, back, sizeof(back)) == 0,
                    "a write to shared.bin does not show in the shared mapping");
        close(sfd);
    }
    live_finish();
}
