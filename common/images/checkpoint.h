// A whole checkpoint in memory, and the functions that write it to an image
// directory and read it back, trusting nothing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/images/file_io.h"
#include "common/util/result.h"
#include "images/core.pb.h"
#include "images/files.pb.h"
#include "images/inventory.pb.h"
#include "images/mm.pb.h"
#include "images/pagemap.pb.h"
#include "images/pstree.pb.h"
#include "images/vdso.pb.h"

namespace stasis::images {

// Everything of one task but its page data.
struct TaskImages {
    PstreeEntry tree;                  // its pstree.img entry
    TaskCore core;                     // core-<pid>.img
    std::vector<ThreadCore> threads;   //   one per tree.threads, in that order
    MmHeader mm;                       // mm-<pid>.img
    std::vector<Vma> vmas;
    PagemapHead pagemap_head;          // pagemap-<pid>.img
    std::vector<PagemapEntry> pagemap;
    std::vector<FdEntry> fds;          // fdinfo-<pid>.img
    VdsoInfo vdso;                     // vdso-<pid>.img
};

// One whole checkpoint in memory: everything but page data and ghost file
// contents. tasks are in pstree order (parents before children, root first).
struct Checkpoint {
    Inventory inventory;
    std::vector<TaskImages> tasks;
    std::vector<FileEntry> files;      // files.img
};

struct WriteOptions {
    // syncfs(2) the image directory's file system before inventory.img is
    // written and fsync inventory.img and the directory after, so that a
    // checkpoint whose inventory.img exists survives a power cut whole.
    bool durable = true;
};

// Writes every protobuf image of the checkpoint (not pages, not ghosts),
// inventory.img LAST: a directory without inventory.img is an incomplete
// checkpoint. An older inventory.img in `dir` is removed first. Creates `dir`
// (0700) if missing. Fills in the redundant fields the reader cross-checks:
// Inventory.task_count and image_files, MmHeader.vma_count,
// PagemapHead.entry_count. Writes what it is given without judging it
// (validate_checkpoint() does that), so tests can make bad images with it.
Status write_checkpoint(const std::string &dir, const Checkpoint &cp, const WriteOptions &opts = {});

struct ReadOptions {
    uint32_t expect_arch = 0;       // images::Arch of this build; 0 accepts the inventory's
    uint32_t expect_page_size = 0;  // this system's page size; 0 accepts the inventory's
    // Check that pages-<id>.img files cover the pagemaps and ghost files exist.
    bool check_pages = true;
    // Check each file against the size and CRC-32C inventory.img recorded.
    bool check_digests = true;
};

// Reads and checks a whole checkpoint. Every check happens before anything
// uses the data; the first failure is returned as one error naming the file
// and the field ("mm-1234.img: vma #7 [0x..-0x..] overlaps vma #6 [...]").
Result<Checkpoint> read_checkpoint(const std::string &dir, const ReadOptions &opts);

// Only the inventory of the checkpoint in `dir`, checked like
// read_checkpoint() checks it (for a look at a parent's tracking without
// reading its tasks and pages).
Result<Inventory> read_checkpoint_inventory(const std::string &dir, const ReadOptions &opts);

// The consistency checks of read_checkpoint() on a checkpoint in memory (page
// and ghost files are not looked at). The dump side may run it on what it is
// about to write.
Status validate_checkpoint(const Checkpoint &cp, const ReadOptions &opts);

// An open raw image (pages-<id>.img, ghost-<id>.img) whose header is checked.
struct RawImage {
    Fd fd;
    uint64_t file_size = 0;
    uint64_t data_offset = 0;   // == page size
    uint64_t data_size = 0;     // file_size - data_offset
};

// Opens a raw image and checks its header: magic, kind, version, flags, the
// zero padding up to the page size.
Result<RawImage> open_raw_image(const std::string &dir, const std::string &name, ImageKind kind,
                                uint32_t page_size);

// Opens pages-<id>.img for reading (the caller owns and closes the fd),
// checks its header and that it holds at least `expected_pages` pages after
// it. Page n of the pagemap's data is at offset page_size * (1 + n).
Result<int> open_pages(const std::string &dir, uint32_t pages_id, uint32_t page_size, uint64_t expected_pages);

// The number of pages a task's pagemap stores in its pages file (entries not
// in the parent image). Only meaningful on a validated pagemap.
uint64_t pages_in_file(const std::vector<PagemapEntry> &pagemap);

}  // namespace stasis::images
