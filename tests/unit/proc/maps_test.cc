#include "common/proc/maps.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <gtest/gtest.h>

#include "tests/unit/proc/test_support.h"

namespace stasis::proc {
namespace {

using testing::fixture;

const Mapping *find_path(const std::vector<Mapping> &maps, std::string_view path) {
    for (const auto &m : maps) {
        if (m.path == path) return &m;
    }
    return nullptr;
}

const Mapping *find_containing(const std::vector<Mapping> &maps, uint64_t address) {
    for (const auto &m : maps) {
        if (m.start <= address && address < m.end) return &m;
    }
    return nullptr;
}

TEST(ParseSmaps, RecordedProcessHasEveryKernelMappingInOrder) {
    auto maps = parse_smaps(fixture("smaps_x86_64_6.18.txt"));
    ASSERT_TRUE(maps.ok()) << maps.error().message();
    ASSERT_EQ(maps->size(), 32u);
    for (size_t i = 1; i < maps->size(); ++i) EXPECT_LE((*maps)[i - 1].end, (*maps)[i].start);

    const Mapping *vvar = find_path(*maps, "[vvar]");
    const Mapping *vclock = find_path(*maps, "[vvar_vclock]");
    const Mapping *vdso = find_path(*maps, "[vdso]");
    const Mapping *vsyscall = find_path(*maps, "[vsyscall]");
    ASSERT_TRUE(vvar && vclock && vdso && vsyscall);
    // Since 6.13 [vvar_vclock] sits between [vvar] and [vdso].
    EXPECT_EQ(vvar->end, vclock->start);
    EXPECT_EQ(vclock->end, vdso->start);
    EXPECT_TRUE(vvar->is_special() && vclock->is_special() && vdso->is_special() && vsyscall->is_special());
    EXPECT_EQ(vdso->prot, unsigned(PROT_READ | PROT_EXEC));
    EXPECT_TRUE(vvar->has(VmFlag::pfn_map));
    EXPECT_TRUE(vvar->has(VmFlag::io));
    EXPECT_TRUE(vvar->has(VmFlag::dont_dump));
    EXPECT_EQ(vsyscall->start, 0xffffffffff600000ull);
    EXPECT_EQ(vsyscall->prot, unsigned(PROT_EXEC));
}

TEST(ParseSmaps, HeapAndStackAreOrdinaryAnonymousMemory) {
    auto maps = parse_smaps(fixture("smaps_x86_64_6.18.txt"));
    ASSERT_TRUE(maps.ok()) << maps.error().message();
    const Mapping *heap = find_path(*maps, "[heap]");
    const Mapping *stack = find_path(*maps, "[stack]");
    ASSERT_TRUE(heap && stack);
    EXPECT_TRUE(heap->is_heap());
    EXPECT_TRUE(stack->is_stack());
    EXPECT_FALSE(heap->is_special());
    EXPECT_FALSE(stack->is_special());
    EXPECT_TRUE(stack->has(VmFlag::grows_down));
    EXPECT_EQ(stack->prot, unsigned(PROT_READ | PROT_WRITE));
    EXPECT_FALSE(stack->shared);
    EXPECT_GT(stack->rss, 0u);
    EXPECT_EQ(stack->rss, stack->anonymous);
    EXPECT_EQ(stack->vm_flags_text, "rd wr mr mw me gd ac");
}

TEST(ParseSmaps, DeletedFilesMemfdShmemAndSysvAreStrippedAndFlagged) {
    auto maps = parse_smaps(fixture("smaps_x86_64_6.18.txt"));
    ASSERT_TRUE(maps.ok()) << maps.error().message();

    const Mapping *file = find_path(*maps, "/tmp/stasis fixture (file).bin");
    ASSERT_TRUE(file) << "a path with blanks and parentheses, unlinked";
    EXPECT_TRUE(file->deleted);
    EXPECT_TRUE(file->shared);
    EXPECT_EQ(file->prot, unsigned(PROT_READ));
    EXPECT_EQ(file->size(), 8192u);
    EXPECT_EQ(file->dev_major, 0xfeu);
    EXPECT_EQ(file->dev_minor, 0u);

    const Mapping *memfd = find_path(*maps, "/memfd:stasis-fixture");
    ASSERT_TRUE(memfd);
    EXPECT_TRUE(memfd->deleted);
    EXPECT_TRUE(memfd->is_memfd());
    EXPECT_TRUE(memfd->has(VmFlag::shared));

    const Mapping *zero = find_path(*maps, "/dev/zero");
    ASSERT_TRUE(zero) << "shared anonymous memory shows as /dev/zero (deleted)";
    EXPECT_TRUE(zero->deleted);
    EXPECT_EQ(zero->rss, 4u);

    const Mapping *sysv = find_path(*maps, "/SYSV0000002a");
    ASSERT_TRUE(sysv);
    EXPECT_TRUE(sysv->deleted);
    EXPECT_TRUE(sysv->shared);

    const Mapping *kept = find_path(*maps, "/tmp/stasis-fixture-kept");
    ASSERT_TRUE(kept);
    EXPECT_FALSE(kept->deleted);
    EXPECT_EQ(kept->pgoff, 8192u);
    EXPECT_FALSE(kept->shared);
}

TEST(ParseSmaps, NamedAnonymousMemoryIsNotSpecial) {
    auto maps = parse_smaps(fixture("smaps_anon_names.txt"));
    ASSERT_TRUE(maps.ok()) << maps.error().message();
    const Mapping *arena = find_path(*maps, "[anon:fixture arena]");
    const Mapping *shmem = find_path(*maps, "[anon_shmem:fixture-shared]");
    ASSERT_TRUE(arena && shmem);
    EXPECT_TRUE(arena->is_named_anonymous());
    EXPECT_EQ(arena->anonymous_name(), "fixture arena");
    EXPECT_FALSE(arena->is_special());
    EXPECT_EQ(shmem->anonymous_name(), "fixture-shared");
    EXPECT_TRUE(shmem->shared);
    EXPECT_FALSE(shmem->is_special());
    const Mapping *plain = find_containing(*maps, 0x7f384bb90000ull);
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->path, "");
    EXPECT_FALSE(plain->is_special());
}

TEST(ParseMaps, AgreesWithSmapsOnEveryHeaderField) {
    // Both recorded from the same process at the same moment.
    auto maps = parse_maps(fixture("maps_x86_64_6.18.txt"));
    auto smaps = parse_smaps(fixture("smaps_x86_64_6.18.txt"));
    ASSERT_TRUE(maps.ok() && smaps.ok());
    ASSERT_EQ(maps->size(), smaps->size());
    for (size_t i = 0; i < maps->size(); ++i) {
        const Mapping &a = (*maps)[i], &b = (*smaps)[i];
        EXPECT_EQ(a.start, b.start);
        EXPECT_EQ(a.end, b.end);
        EXPECT_EQ(a.prot, b.prot);
        EXPECT_EQ(a.path, b.path);
        EXPECT_EQ(a.deleted, b.deleted);
        EXPECT_EQ(a.inode, b.inode);
        EXPECT_EQ(a.vm_flags, 0u) << "maps has no VmFlags";
    }
}

TEST(ParseMaps, ThirtyTwoBitAddressesAndPathsEndingInBlanks) {
    std::string text =
        "00010000-00012000 r-xp 00000000 b3:02 1234       /bin/prog\n"
        "b6f00000-b6f01000 rw-p 00000000 00:00 0 \n"
        "ffff0000-ffff1000 r-xp 00000000 00:00 0          [vectors]\n"
        "ffff1000-ffff2000 rw-s 00001000 103:0a 99        /data/a file \n";
    auto maps = parse_maps(text);
    ASSERT_TRUE(maps.ok()) << maps.error().message();
    ASSERT_EQ(maps->size(), 4u);
    EXPECT_EQ((*maps)[0].dev_major, 0xb3u);
    EXPECT_EQ((*maps)[1].path, "");
    EXPECT_TRUE((*maps)[2].is_special());
    EXPECT_EQ((*maps)[3].path, "/data/a file ");
    EXPECT_EQ((*maps)[3].dev_major, 0x103u);
    EXPECT_EQ((*maps)[3].dev_minor, 0xau);
}

TEST(VmFlags, EveryDocumentedCodeHasItsOwnBit) {
    const char *codes[] = {"rd", "wr", "ex", "sh", "mr", "mw", "me", "ms", "gd", "pf", "dw", "lo", "io", "sr",
                           "rr", "dc", "de", "ac", "nr", "ht", "sf", "nl", "ar", "wf", "dd", "sd", "mm", "hg",
                           "nh", "mg", "bt", "mt", "um", "uw", "ui", "ss", "sl", "lf", "dp", "gu", "mp"};
    uint64_t all = 0;
    for (const char *code : codes) {
        VmFlag f = vm_flag_from_code(code);
        ASSERT_NE(f, VmFlag::unrecognized) << code;
        EXPECT_EQ(all & static_cast<uint64_t>(f), 0u) << code << " shares a bit";
        all |= static_cast<uint64_t>(f);
        EXPECT_EQ(vm_flag_code(f), code);
    }
    EXPECT_EQ(vm_flag_from_code("zz"), VmFlag::unrecognized);
    EXPECT_EQ(vm_flag_from_code("RD"), VmFlag::unrecognized);
    EXPECT_EQ(parse_vm_flags("rd wr qq "), VmFlag::readable | VmFlag::writable | VmFlag::unrecognized);
}

// --- live -------------------------------------------------------------------

TEST(ReadSmaps, FindsOwnStackAndAFreshMappingWithItsProtection) {
    STASIS_SKIP_IF_EMULATED();
    long page = sysconf(_SC_PAGESIZE);
    auto *region = static_cast<char *>(
        mmap(nullptr, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(region, MAP_FAILED);
    std::memset(region, 1, 2 * page);
    ASSERT_EQ(mprotect(region + 3 * page, page, PROT_READ), 0);

    auto maps = read_smaps(getpid());
    ASSERT_TRUE(maps.ok()) << maps.error().message();
    int local = 0;
    const Mapping *stack = find_containing(*maps, reinterpret_cast<uintptr_t>(&local));
    ASSERT_TRUE(stack);
    EXPECT_TRUE(stack->is_stack());

    auto base = reinterpret_cast<uintptr_t>(region);
    const Mapping *rw = find_containing(*maps, base);
    const Mapping *ro = find_containing(*maps, base + 3 * page);
    ASSERT_TRUE(rw && ro);
    EXPECT_LE(rw->start, base);
    EXPECT_EQ(rw->end, base + 3 * page);
    EXPECT_EQ(rw->prot, unsigned(PROT_READ | PROT_WRITE));
    EXPECT_EQ(ro->prot, unsigned(PROT_READ));
    EXPECT_EQ(ro->end, base + 4 * page);
    EXPECT_GE(rw->rss * 1024, uint64_t(2 * page));
    EXPECT_TRUE(rw->has(VmFlag::readable) && rw->has(VmFlag::writable));
    munmap(region, 4 * page);
}

TEST(ReadMaps, ShowsAMappedFileByItsPathAndAfterUnlinkAsDeleted) {
    STASIS_SKIP_IF_EMULATED();
    char path[] = "/tmp/stasis proc test XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ftruncate(fd, 4096), 0);
    void *p = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0);
    ASSERT_NE(p, MAP_FAILED);
    close(fd);
    auto before = read_maps(getpid());
    ASSERT_TRUE(before.ok()) << before.error().message();
    const Mapping *m = find_containing(*before, reinterpret_cast<uintptr_t>(p));
    ASSERT_TRUE(m);
    EXPECT_EQ(m->path, path);
    EXPECT_FALSE(m->deleted);
    unlink(path);
    auto after = read_maps(getpid());
    ASSERT_TRUE(after.ok());
    m = find_containing(*after, reinterpret_cast<uintptr_t>(p));
    ASSERT_TRUE(m);
    EXPECT_EQ(m->path, path);
    EXPECT_TRUE(m->deleted);
    munmap(p, 4096);
}

}  // namespace
}  // namespace stasis::proc
