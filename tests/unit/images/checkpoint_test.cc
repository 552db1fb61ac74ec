// Writing and reading whole checkpoints: what goes in comes out, files are
// private, and nothing half-written is ever left under an image name.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>

#include "common/images/image_writer.h"
#include "common/images/images.h"
#include "tests/unit/images/sample_checkpoint.h"

namespace stasis::images {
namespace {

using testing::sample_checkpoint;
using testing::sample_read_options;
using testing::TempDir;
using testing::write_sample;

template <typename M>
std::string bytes_of(const M &m) {
    return m.SerializeAsString();
}

template <typename M>
void expect_same_records(const std::vector<M> &a, const std::vector<M> &b) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); i++) EXPECT_EQ(bytes_of(a[i]), bytes_of(b[i])) << "record #" << i;
}

void expect_same_task(const TaskImages &a, const TaskImages &b) {
    EXPECT_EQ(bytes_of(a.tree), bytes_of(b.tree));
    EXPECT_EQ(bytes_of(a.core), bytes_of(b.core));
    expect_same_records(a.threads, b.threads);
    MmHeader mm = a.mm;
    mm.set_vma_count(uint32_t(a.vmas.size()));
    EXPECT_EQ(bytes_of(mm), bytes_of(b.mm));
    expect_same_records(a.vmas, b.vmas);
    PagemapHead head = a.pagemap_head;
    head.set_entry_count(uint32_t(a.pagemap.size()));
    EXPECT_EQ(bytes_of(head), bytes_of(b.pagemap_head));
    expect_same_records(a.pagemap, b.pagemap);
    expect_same_records(a.fds, b.fds);
    EXPECT_EQ(bytes_of(a.vdso), bytes_of(b.vdso));
}

mode_t mode_of(const std::string &path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
}

TEST(Checkpoint, WrittenAndReadBackEqual) {
    TempDir dir;
    Checkpoint written = sample_checkpoint();
    ASSERT_TRUE(write_sample(dir.path(), written).ok());
    auto read = read_checkpoint(dir.path(), sample_read_options());
    ASSERT_TRUE(read.ok()) << read.error().message();
    Inventory inventory = read->inventory;
    EXPECT_EQ(inventory.image_files_size(), 2 + 5 * 2);  // files, pstree, 5 per task
    inventory.clear_image_files();
    EXPECT_EQ(bytes_of(inventory), bytes_of(written.inventory));
    expect_same_records(written.files, read->files);
    ASSERT_EQ(read->tasks.size(), written.tasks.size());
    for (size_t i = 0; i < written.tasks.size(); i++) expect_same_task(written.tasks[i], read->tasks[i]);
}

TEST(Checkpoint, ReadsEveryArchAndPageSize) {
    for (uint32_t arch : {ARCH_X86_64, ARCH_AARCH64, ARCH_ARM, ARCH_PPC64LE, ARCH_S390X}) {
        for (uint32_t page_size : {4096u, 16384u, 65536u}) {
            TempDir dir;
            ASSERT_TRUE(write_sample(dir.path(), sample_checkpoint(arch, page_size)).ok());
            auto read = read_checkpoint(dir.path(), sample_read_options(arch, page_size));
            EXPECT_TRUE(read.ok()) << arch_name(arch) << "/" << page_size << ": " << read.error().message();
        }
    }
}

TEST(Checkpoint, ImageFilesAreCreated0600InA0700Dir) {
    TempDir base;
    std::string dir = base.path() + "/new/images";
    ASSERT_TRUE(write_sample(base.path(), sample_checkpoint()).ok());
    ASSERT_TRUE(write_checkpoint(dir, sample_checkpoint(), WriteOptions{.durable = false}).ok());
    EXPECT_EQ(mode_of(base.path() + "/new"), 0700u);
    EXPECT_EQ(mode_of(dir), 0700u);
    mode_t old_umask = ::umask(0277);  // would leave 0400 without the writer's fchmod
    auto w = RawImageWriter::create(dir, "pages-9.img", IMAGE_PAGES, 4096);
    ::umask(old_umask);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->commit().ok());
    for (const auto &entry : std::filesystem::directory_iterator(dir))
        EXPECT_EQ(mode_of(entry.path()), 0600u) << entry.path();
    for (const auto &entry : std::filesystem::directory_iterator(base.path()))
        if (entry.is_regular_file()) {
            EXPECT_EQ(mode_of(entry.path()), 0600u) << entry.path();
        }
}

TEST(Checkpoint, UncommittedWriterLeavesNoFile) {
    TempDir dir;
    {
        auto w = ImageWriter::create(dir.path(), "mm-5.img", IMAGE_MM);
        ASSERT_TRUE(w.ok());
        ASSERT_TRUE(w->write(MmHeader()).ok());
        auto raw = RawImageWriter::create(dir.path(), "pages-5.img", IMAGE_PAGES, 4096);
        ASSERT_TRUE(raw.ok());
        std::string page(4096, 'x');
        ASSERT_TRUE(raw->append(page.data(), page.size()).ok());
    }
    EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(Checkpoint, WriterRefusesRecordOfTheWrongType) {
    TempDir dir;
    auto w = ImageWriter::create(dir.path(), "mm-5.img", IMAGE_MM);
    ASSERT_TRUE(w.ok());
    auto wrong = w->write(Vma());
    ASSERT_FALSE(wrong.ok());
    EXPECT_EQ(wrong.error().message(), "mm-5.img: record #0 must be a MmHeader, not a Vma");
    auto inventory = ImageWriter::create(dir.path(), "inventory.img", IMAGE_INVENTORY);
    ASSERT_TRUE(inventory.ok());
    EXPECT_FALSE(inventory->commit().ok());  // no Inventory record yet
    ASSERT_TRUE(inventory->write(Inventory()).ok());
    EXPECT_FALSE(inventory->write(Inventory()).ok());
}

TEST(Checkpoint, RawWriterKeepsDataPageAligned) {
    TempDir dir;
    auto w = RawImageWriter::create(dir.path(), "pages-1.img", IMAGE_PAGES, 16384);
    ASSERT_TRUE(w.ok());
    EXPECT_EQ(w->data_offset(), 16384u);
    std::string a(16384, 'a'), b(16384, 'b'), c(32768, 'c');
    struct iovec iov[3] = {{a.data(), a.size()}, {b.data(), b.size()}, {c.data(), c.size()}};
    ASSERT_TRUE(w->append_iov(iov, 3).ok());
    EXPECT_EQ(w->size(), 65536u);
    std::string half(100, 'h');
    ASSERT_TRUE(w->append(half.data(), half.size()).ok());
    EXPECT_FALSE(w->commit().ok());  // not whole pages
    auto whole = RawImageWriter::create(dir.path(), "pages-2.img", IMAGE_PAGES, 16384);
    ASSERT_TRUE(whole.ok());
    ASSERT_TRUE(whole->append_iov(iov, 3).ok());
    ASSERT_TRUE(whole->commit().ok());
    auto fd = open_pages(dir.path(), 2, 16384, 4);
    ASSERT_TRUE(fd.ok()) << fd.error().message();
    char first = 0, third = 0;
    EXPECT_EQ(::pread(*fd, &first, 1, 16384), 1);
    EXPECT_EQ(::pread(*fd, &third, 1, 16384 * 3), 1);
    EXPECT_EQ(first, 'a');
    EXPECT_EQ(third, 'c');
    ::close(*fd);
    auto too_many = open_pages(dir.path(), 2, 16384, 5);
    ASSERT_FALSE(too_many.ok());
    EXPECT_EQ(too_many.error().message(), "pages-2.img: holds 4 pages, the pagemap needs 5");
}

// A reservation is only space: what was appended is the image, whether it
// fell short of the reservation or ran past it.
TEST(Checkpoint, RawWriterReservationIsCutToWhatWasAppended) {
    TempDir dir;
    const std::string a(4096, 'a'), b(3 * 4096, 'b');
    auto shorter = RawImageWriter::create(dir.path(), "pages-1.img", IMAGE_PAGES, 4096);
    ASSERT_TRUE(shorter.ok());
    ASSERT_TRUE(shorter->reserve(16 * 4096).ok());
    EXPECT_EQ(shorter->size(), 0u);
    ASSERT_TRUE(shorter->append(a.data(), a.size()).ok());
    EXPECT_EQ(shorter->size(), 4096u);
    ASSERT_TRUE(shorter->commit().ok());
    EXPECT_EQ(std::filesystem::file_size(dir.path() + "/pages-1.img"), 2 * 4096u);
    auto fd = open_pages(dir.path(), 1, 4096, 1);
    ASSERT_TRUE(fd.ok()) << fd.error().message();
    char c = 0;
    EXPECT_EQ(::pread(*fd, &c, 1, 4096), 1);
    EXPECT_EQ(c, 'a');
    ::close(*fd);

    auto longer = RawImageWriter::create(dir.path(), "pages-2.img", IMAGE_PAGES, 4096);
    ASSERT_TRUE(longer.ok());
    ASSERT_TRUE(longer->reserve(2 * 4096).ok());
    ASSERT_TRUE(longer->append(a.data(), a.size()).ok());
    ASSERT_TRUE(longer->append(b.data(), b.size()).ok());
    EXPECT_EQ(longer->size(), 4 * 4096u);
    ASSERT_TRUE(longer->commit().ok());
    EXPECT_EQ(std::filesystem::file_size(dir.path() + "/pages-2.img"), 5 * 4096u);
    fd = open_pages(dir.path(), 2, 4096, 4);
    ASSERT_TRUE(fd.ok()) << fd.error().message();
    EXPECT_EQ(::pread(*fd, &c, 1, 4 * 4096), 1);
    EXPECT_EQ(c, 'b');
    ::close(*fd);
}

TEST(Checkpoint, RawWriterExtensionIsCutToWhatWasAppended) {
    TempDir dir;
    const std::string a(2 * 4096, 'a');
    auto w = RawImageWriter::create(dir.path(), "pages-3.img", IMAGE_PAGES, 4096);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->extend(64 * 4096).ok());
    ASSERT_TRUE(w->append(a.data(), a.size()).ok());
    EXPECT_EQ(w->size(), 2 * 4096u);
    ASSERT_TRUE(w->commit().ok());
    EXPECT_EQ(std::filesystem::file_size(dir.path() + "/pages-3.img"), 3 * 4096u);
}

TEST(Checkpoint, UncommittedReservedWriterLeavesNoFile) {
    TempDir dir;
    {
        auto raw = RawImageWriter::create(dir.path(), "pages-5.img", IMAGE_PAGES, 4096);
        ASSERT_TRUE(raw.ok());
        ASSERT_TRUE(raw->reserve(8 * 4096).ok());
    }
    EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(Checkpoint, RewritingADirectoryReplacesTheOldInventory) {
    TempDir dir;
    Checkpoint cp = sample_checkpoint();
    ASSERT_TRUE(write_sample(dir.path(), cp).ok());
    cp.inventory.set_kernel_release("6.2.0-second");
    ASSERT_TRUE(write_sample(dir.path(), cp).ok());
    auto read = read_checkpoint(dir.path(), sample_read_options());
    ASSERT_TRUE(read.ok()) << read.error().message();
    EXPECT_EQ(read->inventory.kernel_release(), "6.2.0-second");
}

TEST(Checkpoint, DurableWriteSucceeds) {
    TempDir dir;
    ASSERT_TRUE(write_checkpoint(dir.path(), sample_checkpoint()).ok());
    ReadOptions opts = sample_read_options();
    opts.check_pages = false;
    EXPECT_TRUE(read_checkpoint(dir.path(), opts).ok());
}

TEST(Checkpoint, ValidateAcceptsTheSampleInMemory) {
    Checkpoint cp = sample_checkpoint();
    auto status = validate_checkpoint(cp, sample_read_options());
    EXPECT_TRUE(status.ok()) << status.error().message();
}

}  // namespace
}  // namespace stasis::images
