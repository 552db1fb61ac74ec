// Incremental checkpoints: resolving a task's pages through its parent
// image directories, and refusing chains that do not hold what they promise.
#include "common/images/page_chain.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdio>

#include "common/images/validate.h"
#include "tests/unit/images/sample_checkpoint.h"

namespace stasis::images {
namespace {

constexpr uint64_t kPage = 4096;

PagemapEntry entry(uint64_t vaddr, uint64_t pages, uint32_t flags = 0) {
    PagemapEntry e;
    e.set_vaddr(vaddr);
    e.set_nr_pages(pages);
    e.set_flags(flags);
    return e;
}

TaskPageChain chain_of(const std::vector<const std::vector<PagemapEntry> *> &levels) {
    TaskPageChain c;
    c.pagemaps = levels;
    c.pages_ids.assign(levels.size(), 1);
    return c;
}

TEST(PageChain, OwnPagesTakeConsecutiveOffsetsAfterTheHeader) {
    std::vector<PagemapEntry> own = {entry(0x10000, 2), entry(0x20000, 3, PAGEMAP_ZERO), entry(0x30000, 1)};
    auto r = resolve_pages(chain_of({&own}), kPage);
    ASSERT_TRUE(r.ok()) << r.error().message();
    std::vector<PageSource> want = {{0x10000, 2 * kPage, 0, kPage}, {0x20000, 3 * kPage, -1, 0},
                                    {0x30000, kPage, 0, 3 * kPage}};
    EXPECT_EQ(*r, want);
}

TEST(PageChain, InParentPagesAreReadFromTheParentsFileAtTheirOffset) {
    std::vector<PagemapEntry> parent = {entry(0x10000, 4), entry(0x40000, 2)};
    // Pages 1 and 2 of the first run unchanged, page 3 rewritten, the second
    // run unchanged.
    std::vector<PagemapEntry> own = {entry(0x11000, 2, PAGEMAP_IN_PARENT), entry(0x13000, 1),
                                     entry(0x40000, 2, PAGEMAP_IN_PARENT)};
    auto r = resolve_pages(chain_of({&own, &parent}), kPage);
    ASSERT_TRUE(r.ok()) << r.error().message();
    std::vector<PageSource> want = {{0x11000, 2 * kPage, 1, 2 * kPage},
                                    {0x13000, kPage, 0, kPage},
                                    {0x40000, 2 * kPage, 1, 5 * kPage}};
    EXPECT_EQ(*r, want);
}

TEST(PageChain, ThreeLevelsResolveThroughTheMiddleOne) {
    std::vector<PagemapEntry> oldest = {entry(0x10000, 8)};
    std::vector<PagemapEntry> middle = {entry(0x10000, 4, PAGEMAP_IN_PARENT), entry(0x14000, 4)};
    std::vector<PagemapEntry> own = {entry(0x10000, 8, PAGEMAP_IN_PARENT)};
    auto r = resolve_pages(chain_of({&own, &middle, &oldest}), kPage);
    ASSERT_TRUE(r.ok()) << r.error().message();
    std::vector<PageSource> want = {{0x10000, 4 * kPage, 2, kPage}, {0x14000, 4 * kPage, 1, kPage}};
    EXPECT_EQ(*r, want);
}

TEST(PageChain, InParentWithoutAParentIsRefused) {
    std::vector<PagemapEntry> own = {entry(0x10000, 1, PAGEMAP_IN_PARENT)};
    auto r = resolve_pages(chain_of({&own}), kPage);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("no parent image"), std::string::npos) << r.error().message();
}

TEST(PageChain, InParentPagesTheParentLacksAreRefused) {
    std::vector<PagemapEntry> parent = {entry(0x10000, 2), entry(0x13000, 1)};
    std::vector<PagemapEntry> own = {entry(0x10000, 4, PAGEMAP_IN_PARENT)};  // 0x12000 is a hole there
    auto r = resolve_pages(chain_of({&own, &parent}), kPage);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("does not have them all"), std::string::npos) << r.error().message();
}

TEST(PageChain, DataRangesLeaveZeroSourcesOut) {
    std::vector<PageSource> s = {{0x10000, kPage, 0, kPage}, {0x11000, kPage, 1, kPage}, {0x12000, kPage, -1, 0},
                                 {0x13000, kPage, 0, 2 * kPage}};
    std::vector<std::pair<uint64_t, uint64_t>> want = {{0x10000, 0x12000}, {0x13000, 0x14000}};
    EXPECT_EQ(data_ranges(s), want);
}

TEST(PageChain, TaskMissingFromAParentEndsItsChainThere) {
    Checkpoint cp = testing::sample_checkpoint();
    std::vector<ChainLevel> parents(2);
    parents[0].cp = cp;
    parents[1].cp = cp;
    parents[0].cp.tasks.pop_back();  // the child was forked after the first pre-dump
    TaskPageChain c = task_chain(testing::kChildPid, cp.tasks.back(), parents);
    EXPECT_EQ(c.pagemaps.size(), 1u);
    c = task_chain(testing::kRootPid, cp.tasks.front(), parents);
    EXPECT_EQ(c.pagemaps.size(), 3u);
}

class ParentDirs : public ::testing::Test {
protected:
    void SetUp() override {
        Checkpoint parent = testing::sample_checkpoint();
        parent.inventory.set_dump_kind("pre-dump");
        ASSERT_EQ(::mkdir(dir_.file("pre1").c_str(), 0700), 0);
        auto st = testing::write_sample(dir_.file("pre1"), parent);
        ASSERT_TRUE(st.ok()) << st.error().message();
        ASSERT_EQ(::mkdir(dir_.file("images").c_str(), 0700), 0);
        child_ = parent.inventory;
        child_.set_dump_kind("dump");
        child_.set_created_unix_ns(parent.inventory.created_unix_ns() + 1);
        child_.set_parent_dir("../pre1");
        auto crc = inventory_crc32c(dir_.file("pre1"));
        ASSERT_TRUE(crc.ok()) << crc.error().message();
        child_.set_parent_inventory_crc32c(*crc);
    }
    testing::TempDir dir_;
    Inventory child_;
};

TEST_F(ParentDirs, ParentNamedRelativeToTheImagesDirIsRead) {
    auto r = read_parents(dir_.file("images"), child_, testing::sample_read_options());
    ASSERT_TRUE(r.ok()) << r.error().message();
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ(r->front().cp.tasks.size(), 2u);
}

TEST_F(ParentDirs, ParentReplacedAfterTheDumpIsRefused) {
    child_.set_parent_inventory_crc32c(child_.parent_inventory_crc32c() ^ 1);
    auto r = read_parents(dir_.file("images"), child_, testing::sample_read_options());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("changed since"), std::string::npos) << r.error().message();
}

TEST_F(ParentDirs, MissingParentIsRefusedNamingIt) {
    child_.set_parent_dir("../nowhere");
    auto r = read_parents(dir_.file("images"), child_, testing::sample_read_options());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("nowhere"), std::string::npos) << r.error().message();
}

TEST_F(ParentDirs, ParentOfAnotherTreeIsRefused) {
    child_.set_root_pid(testing::kRootPid + 50);
    auto r = read_parents(dir_.file("images"), child_, testing::sample_read_options());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("a checkpoint of tree"), std::string::npos) << r.error().message();
}

TEST(InventoryKeeper, UserfaultfdsWithoutAKeeperAreRefused) {
    Inventory inv = testing::sample_checkpoint().inventory;
    auto *u = inv.mutable_keeper()->add_uffds();
    u->set_task(testing::kRootPid);
    u->set_fd(5);
    auto st = validate::inventory(inv, testing::sample_read_options());
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message().find("without a keeper pid"), std::string::npos) << st.error().message();
}

TEST(InventoryKeeper, ATaskListedTwiceIsRefused) {
    Inventory inv = testing::sample_checkpoint().inventory;
    inv.mutable_keeper()->set_pid(4242);
    for (int fd : {5, 6}) {
        auto *u = inv.mutable_keeper()->add_uffds();
        u->set_task(testing::kRootPid);
        u->set_fd(fd);
    }
    auto st = validate::inventory(inv, testing::sample_read_options());
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message().find("listed twice"), std::string::npos) << st.error().message();
}

}  // namespace
}  // namespace stasis::images
