#include "common/proc/pagemap.h"

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/proc/maps.h"
#include "common/proc/read_file.h"
#include "tests/unit/proc/test_support.h"

namespace stasis::proc {
namespace {

TEST(PagemapEntry, DecodesEveryDocumentedBit) {
    uint64_t present = (1ull << 63) | (1ull << 56) | (1ull << 55) | 0x12345;
    EXPECT_TRUE(pagemap::present(present));
    EXPECT_FALSE(pagemap::swapped(present));
    EXPECT_TRUE(pagemap::exclusive(present));
    EXPECT_TRUE(pagemap::soft_dirty(present));
    EXPECT_FALSE(pagemap::file_or_shared_anon(present));
    EXPECT_FALSE(pagemap::uffd_wp(present));
    EXPECT_EQ(pagemap::pfn(present), 0x12345u);
    EXPECT_TRUE(pagemap::has_data(present));

    uint64_t swapped = (1ull << 62) | (1ull << 57) | (0xabcull << 5) | 3;
    EXPECT_TRUE(pagemap::swapped(swapped));
    EXPECT_TRUE(pagemap::uffd_wp(swapped));
    EXPECT_EQ(pagemap::swap_type(swapped), 3u);
    EXPECT_EQ(pagemap::swap_offset(swapped), 0xabcu);
    EXPECT_TRUE(pagemap::has_data(swapped));

    EXPECT_TRUE(pagemap::file_or_shared_anon(1ull << 61));
    EXPECT_FALSE(pagemap::has_data(1ull << 61)) << "page cache not mapped here";
    EXPECT_FALSE(pagemap::has_data(0));
    EXPECT_FALSE(pagemap::has_data((1ull << 62) | (1ull << 58))) << "guard region";
}

// --- live -------------------------------------------------------------------

// An anonymous reservation whose chosen pages are touched.
class TouchedRegion {
  public:
    TouchedRegion(size_t pages, std::initializer_list<size_t> touched)
        : page_(sysconf(_SC_PAGESIZE)), pages_(pages) {
        base_ = static_cast<char *>(mmap(nullptr, pages * page_, PROT_READ | PROT_WRITE,
                                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
        if (base_ == MAP_FAILED) return;
        for (size_t i : touched) base_[i * page_] = 1;
    }
    ~TouchedRegion() {
        if (base_ != MAP_FAILED) munmap(base_, pages_ * page_);
    }
    bool ok() const { return base_ != MAP_FAILED; }
    uint64_t start() const { return reinterpret_cast<uintptr_t>(base_); }
    uint64_t end() const { return start() + pages_ * page_; }
    uint64_t page(size_t i) const { return start() + i * page_; }
    char *at(size_t i) const { return base_ + i * page_; }

  private:
    size_t page_;
    size_t pages_;
    char *base_ = static_cast<char *>(MAP_FAILED);
};

std::vector<PageRun> runs_with(PagemapMethod method, uint64_t start, uint64_t end) {
    auto reader = PagemapReader::open(getpid(), method);
    EXPECT_TRUE(reader.ok()) << reader.error().message();
    if (!reader.ok()) return {};
    std::vector<PageRun> runs;
    auto st = reader->present_runs(start, end, runs);
    EXPECT_TRUE(st.ok()) << st.error().message();
    return runs;
}

TEST(PagemapReader, TouchedPagesArePresentAndUntouchedAbsent) {
    STASIS_SKIP_IF_EMULATED();
    TouchedRegion region(16, {0, 3, 15});
    ASSERT_TRUE(region.ok());
    auto reader = PagemapReader::open(getpid(), PagemapMethod::pread);
    ASSERT_TRUE(reader.ok()) << reader.error().message();
    std::vector<uint64_t> entries;
    ASSERT_TRUE(reader->read(region.start(), region.end(), entries).ok());
    ASSERT_EQ(entries.size(), 16u);
    for (size_t i = 0; i < 16; ++i) {
        bool touched = i == 0 || i == 3 || i == 15;
        EXPECT_EQ(pagemap::present(entries[i]), touched) << "page " << i;
        if (touched) {
            EXPECT_TRUE(pagemap::exclusive(entries[i])) << "private anonymous page " << i;
        }
    }
}

TEST(PagemapReader, PresentRunsAreMaximalWithEitherMethod) {
    STASIS_SKIP_IF_EMULATED();
    TouchedRegion region(64, {0, 5, 6, 7, 63});
    ASSERT_TRUE(region.ok());
    std::vector<PageRun> expected = {{region.page(0), 1}, {region.page(5), 3}, {region.page(63), 1}};
    EXPECT_EQ(runs_with(PagemapMethod::pread, region.start(), region.end()), expected);
    EXPECT_EQ(runs_with(PagemapMethod::automatic, region.start(), region.end()), expected);
}

TEST(PagemapReader, RunsCrossingThePreadChunkBoundaryStayWhole) {
    STASIS_SKIP_IF_EMULATED();
    // 64 Ki entries per pread: pages 65530..65540 straddle the first boundary.
    constexpr size_t kBoundary = 64 * 1024;
    TouchedRegion region(kBoundary + 16, {});
    ASSERT_TRUE(region.ok());
    for (size_t i = kBoundary - 6; i <= kBoundary + 4; ++i) *region.at(i) = 1;
    std::vector<PageRun> expected = {{region.page(kBoundary - 6), 11}};
    EXPECT_EQ(runs_with(PagemapMethod::pread, region.start(), region.end()), expected);
    EXPECT_EQ(runs_with(PagemapMethod::automatic, region.start(), region.end()), expected);
}

TEST(PagemapReader, ScanFastPathIsChosenWhenTheKernelHasIt) {
    STASIS_SKIP_IF_EMULATED();
    auto automatic = PagemapReader::open(getpid());
    ASSERT_TRUE(automatic.ok());
    auto forced = PagemapReader::open(getpid(), PagemapMethod::pagemap_scan);
    // Whatever this kernel offers, automatic must agree with it.
    EXPECT_EQ(automatic->uses_pagemap_scan(), forced.ok());
    auto fallback = PagemapReader::open(getpid(), PagemapMethod::pread);
    ASSERT_TRUE(fallback.ok());
    EXPECT_FALSE(fallback->uses_pagemap_scan());
    if (!forced.ok()) GTEST_SKIP() << "kernel without PAGEMAP_SCAN: " << forced.error().message();
}

TEST(PagemapReader, BothMethodsAgreeOnEveryLibraryMapping) {
    STASIS_SKIP_IF_EMULATED();
    auto maps = read_maps(getpid());
    ASSERT_TRUE(maps.ok());
    auto by_pread = PagemapReader::open(getpid(), PagemapMethod::pread);
    auto by_default = PagemapReader::open(getpid());
    ASSERT_TRUE(by_pread.ok() && by_default.ok());
    for (const Mapping &m : *maps) {
        // File text and rodata do not change under us; writable and
        // kernel-special (PFN-mapped) areas are covered elsewhere.
        if (m.path.empty() || m.path[0] != '/' || (m.prot & PROT_WRITE)) continue;
        std::vector<PageRun> a, b;
        ASSERT_TRUE(by_pread->present_runs(m.start, m.end, a).ok());
        ASSERT_TRUE(by_default->present_runs(m.start, m.end, b).ok());
        EXPECT_EQ(a, b) << m.path << " at " << std::hex << m.start;
    }
}

TEST(PagemapReader, GuardRegionsHoldNoData) {
    STASIS_SKIP_IF_EMULATED();
    constexpr int kMadvGuardInstall = 102;  // 6.13, MADV_GUARD_INSTALL
    TouchedRegion region(8, {0, 1, 2, 3, 4, 5, 6, 7});
    ASSERT_TRUE(region.ok());
    if (madvise(region.at(2), 2 * sysconf(_SC_PAGESIZE), kMadvGuardInstall) != 0) {
        GTEST_SKIP() << "kernel without MADV_GUARD_INSTALL";
    }
    std::vector<PageRun> expected = {{region.page(0), 2}, {region.page(4), 4}};
    EXPECT_EQ(runs_with(PagemapMethod::pread, region.start(), region.end()), expected);
    EXPECT_EQ(runs_with(PagemapMethod::automatic, region.start(), region.end()), expected);
}

TEST(PagemapReader, RejectsUnalignedOrInvertedRanges) {
    STASIS_SKIP_IF_EMULATED();
    auto reader = PagemapReader::open(getpid());
    ASSERT_TRUE(reader.ok());
    uint64_t page = reader->page_size();
    std::vector<uint64_t> entries;
    std::vector<PageRun> runs;
    EXPECT_EQ(reader->read(page + 1, 4 * page, entries).error().sys_errno(), EINVAL);
    EXPECT_EQ(reader->read(4 * page, page, entries).error().sys_errno(), EINVAL);
    EXPECT_EQ(reader->present_runs(page, page + 7, runs).error().sys_errno(), EINVAL);
    EXPECT_TRUE(reader->present_runs(page, page, runs).ok());
    EXPECT_TRUE(runs.empty());
}

TEST(PagemapReader, ProcessThatExitedIsReportedAsGoneByEitherMethod) {
    STASIS_SKIP_IF_EMULATED();
    int gate[2];
    ASSERT_EQ(pipe(gate), 0);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        char c;
        close(gate[1]);
        (void)!read(gate[0], &c, 1);
        _exit(0);
    }
    close(gate[0]);
    // Opened while the child surely lives (a zombie has no mm: ESRCH).
    auto by_pread = PagemapReader::open(child, PagemapMethod::pread);
    auto by_default = PagemapReader::open(child);
    close(gate[1]);
    ASSERT_EQ(waitpid(child, nullptr, 0), child);
    ASSERT_TRUE(by_pread.ok()) << by_pread.error().message();
    ASSERT_TRUE(by_default.ok()) << by_default.error().message();
    uint64_t page = by_pread->page_size();
    std::vector<uint64_t> entries;
    auto read = by_pread->read(0x400000, 0x400000 + page, entries);
    ASSERT_FALSE(read.ok());
    EXPECT_TRUE(is_task_gone(read.error())) << read.error().message();
    std::vector<PageRun> runs;
    auto scanned = by_default->present_runs(0x400000, 0x400000 + 16 * page, runs);
    ASSERT_FALSE(scanned.ok());
    EXPECT_TRUE(is_task_gone(scanned.error())) << scanned.error().message();
    auto reopened = PagemapReader::open(child);
    ASSERT_FALSE(reopened.ok());
    EXPECT_TRUE(is_task_gone(reopened.error())) << reopened.error().message();
}

TEST(PagemapReader, ManyScatteredRunsNeedingSeveralScanCallsAreEachReportedOnce) {
    STASIS_SKIP_IF_EMULATED();
    // Regression: more runs than one PAGEMAP_SCAN vector holds, and more than
    // the kernel's internal 512-region pass, used to come back duplicated
    // because walk_end was stale.
    constexpr size_t kPages = 8 * 1024;
    TouchedRegion region(kPages, {});
    ASSERT_TRUE(region.ok());
    std::vector<PageRun> expected;
    for (size_t i = 0; i < kPages; i += 3) {
        *region.at(i) = 1;
        expected.push_back({region.page(i), 1});
    }
    ASSERT_GT(expected.size(), 2048u);
    EXPECT_EQ(runs_with(PagemapMethod::pread, region.start(), region.end()), expected);
    EXPECT_EQ(runs_with(PagemapMethod::automatic, region.start(), region.end()), expected);
}

TEST(PagemapReader, ReadAheadAnswersInsideItsWindowAsTheDirectCallsDo) {
    STASIS_SKIP_IF_EMULATED();
    TouchedRegion region(64, {0, 1, 2, 9, 20, 21, 40, 63});
    ASSERT_TRUE(region.ok());
    auto ahead = PagemapReader::open(getpid());
    auto direct = PagemapReader::open(getpid());
    ASSERT_TRUE(ahead.ok() && direct.ok());
    ASSERT_TRUE(ahead->read_ahead(region.page(0), region.end()).ok());
    EXPECT_TRUE(ahead->read_ahead_covers(region.page(2), region.page(30)));
    EXPECT_FALSE(ahead->read_ahead_covers(region.page(2), region.end() + 4096));
    // Pieces inside the window, at its edges and across runs; one past it.
    const std::pair<size_t, size_t> pieces[] = {{0, 64}, {0, 3}, {1, 10}, {3, 9}, {10, 22}, {21, 41}, {41, 63}, {63, 64}};
    for (auto [a, b] : pieces) {
        std::vector<PageRun> x, y;
        ASSERT_TRUE(ahead->present_runs(region.page(a), region.page(b), x).ok());
        ASSERT_TRUE(direct->present_runs(region.page(a), region.page(b), y).ok());
        EXPECT_EQ(x, y) << "pages " << a << ".." << b;
        std::vector<uint64_t> ex, ey;
        ASSERT_TRUE(ahead->read(region.page(a), region.page(b), ex).ok());
        ASSERT_TRUE(direct->read(region.page(a), region.page(b), ey).ok());
        EXPECT_EQ(ex, ey) << "pages " << a << ".." << b;
    }
    // A window answers for the moment it was read: a page touched since is
    // seen by a direct call, and by the reader once the window is read again.
    *region.at(30) = 1;
    std::vector<PageRun> stale, fresh;
    ASSERT_TRUE(ahead->present_runs(region.page(30), region.page(31), stale).ok());
    EXPECT_TRUE(stale.empty());
    ASSERT_TRUE(ahead->read_ahead(region.page(16), region.page(48)).ok());
    ASSERT_TRUE(ahead->present_runs(region.page(30), region.page(31), fresh).ok());
    EXPECT_EQ(fresh, (std::vector<PageRun>{{region.page(30), 1}}));
    // Outside the new window the reader asks the kernel again.
    std::vector<PageRun> outside;
    ASSERT_TRUE(ahead->present_runs(region.page(0), region.page(16), outside).ok());
    EXPECT_EQ(outside, (std::vector<PageRun>{{region.page(0), 3}, {region.page(9), 1}}));
}

TEST(PagemapReader, ReadAheadRefusesABadRangeAndForgetsTheOldWindow) {
    STASIS_SKIP_IF_EMULATED();
    TouchedRegion region(8, {0});
    ASSERT_TRUE(region.ok());
    auto reader = PagemapReader::open(getpid());
    ASSERT_TRUE(reader.ok());
    ASSERT_TRUE(reader->read_ahead(region.start(), region.end()).ok());
    EXPECT_EQ(reader->read_ahead(region.page(4), region.page(2)).error().sys_errno(), EINVAL);
    EXPECT_FALSE(reader->read_ahead_covers(region.start(), region.end()));
}

}  // namespace
}  // namespace stasis::proc
