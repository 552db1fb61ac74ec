// The vDSO proxy built from the live vDSOs of Debian's 6.1 and 6.12 kernels
// of this build's arch (tests/data/vdso/, recorded in the VM tier by
// record.sh), in both directions and onto itself.
#include "vdso/proxy.h"

#include <elf.h>
#include <sys/mman.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "arch/vdso_code.h"
#include "vdso/elf_symbols.h"

namespace stasis::vdso {
namespace {

struct Recorded {
    std::string name;  // generation
    std::string image;
    uint64_t page = 0;
    std::vector<std::pair<std::string, std::pair<int64_t, uint64_t>>> areas;  // name -> (offset from vdso, size)
};

std::string slurp(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// The kernel generations record.sh may have recorded (no readdir: 32-bit
// arm under qemu-user cannot list a directory whose inode numbers exceed
// 32 bits).
constexpr const char *kGenerations[] = {"bookworm", "bookworm-backports", "bookworm-backports-64k",
                                        "bookworm-backports-16k"};

std::vector<Recorded> recorded() {
    std::vector<Recorded> out;
    const std::string dir = STASIS_VDSO_DATA_DIR;
    for (const char *g : kGenerations) {
        Recorded r;
        r.name = g;
        r.image = slurp(dir + "/" + r.name + ".vdso");
        if (r.image.empty()) continue;
        std::istringstream layout(slurp(dir + "/" + r.name + ".layout"));
        std::string key;
        while (layout >> key) {
            if (key == "release") {
                std::string v;
                layout >> v;
            } else if (key == "page_size") {
                layout >> r.page;
            } else {
                std::string off, size;
                layout >> off >> size;
                int64_t o = off[0] == '-' ? -int64_t(std::stoull(off.substr(1), nullptr, 16))
                                          : int64_t(std::stoull(off, nullptr, 16));
                r.areas.push_back({key, {o, std::stoull(size, nullptr, 16)}});
            }
        }
        out.push_back(std::move(r));
    }
    return out;
}

images::VmaKind kind_of(const std::string &name) {
    if (name == "vdso") return images::VMA_VDSO;
    if (name == "vvar") return images::VMA_VVAR;
    if (name == "vvar_vclock") return images::VMA_VVAR_VCLOCK;
    if (name == "sigpage") return images::VMA_SIGPAGE;
    return images::VMA_VECTORS;
}

// The image as a dump records it, with [vdso] at `at`.
images::VdsoInfo as_dumped(const Recorded &r, uint64_t at) {
    images::VdsoInfo info;
    for (const auto &[name, pos] : r.areas) {
        if (name == "vectors") continue;  // fixed, never part of the vDSO layout a dump records
        auto *a = info.add_areas();
        a->set_kind(kind_of(name));
        a->set_start(uint64_t(int64_t(at) + pos.first));
        a->set_end(a->start() + pos.second);
    }
    info.set_image(r.image);
    info.set_size(r.image.size());
    return info;
}

std::span<const uint8_t> bytes(const std::string &s) { return {reinterpret_cast<const uint8_t *>(s.data()), s.size()}; }

// Checks one proxy of `from` (dumped with [vdso] at old_at) onto `to` (mapped at new_at).
void expect_proxy(const Recorded &from, const Recorded &to, uint64_t old_at, uint64_t new_at) {
    SCOPED_TRACE(from.name + " -> " + to.name);
    const images::VdsoInfo saved = as_dumped(from, old_at);
    auto proxy = build_proxy(saved, to.image, new_at, from.page);
    ASSERT_TRUE(proxy.ok()) << proxy.error().message();
    auto old_syms = parse_elf_symbols(bytes(from.image));
    auto new_syms = parse_elf_symbols(bytes(to.image));
    ASSERT_TRUE(old_syms.ok() && new_syms.ok());

    // One mapping per [vdso]/[vvar*] area, at its old place.
    const ProxyMapping *code = nullptr;
    const ProxyMapping *last_vvar = nullptr;
    for (const auto &m : proxy->mappings) {
        if (m.stands_for == images::VMA_VDSO) code = &m;
        else if (!last_vvar || m.start > last_vvar->start) last_vvar = &m;
    }
    ASSERT_NE(code, nullptr);
    ASSERT_NE(last_vvar, nullptr);
    EXPECT_EQ(code->start, old_at);
    EXPECT_EQ(code->prot, uint32_t(PROT_READ | PROT_EXEC));
    EXPECT_EQ(last_vvar->prot, uint32_t(PROT_READ));
    const uint8_t *copy = proxy->bytes.data() + code->offset;

    // The copy still is the old vDSO to dladdr and the unwinder: same
    // symbols, same build-id.
    auto copy_syms = parse_elf_symbols({copy, from.image.size()});
    ASSERT_TRUE(copy_syms.ok()) << copy_syms.error().message();
    EXPECT_EQ(copy_syms->build_id, old_syms->build_id);
    ASSERT_EQ(copy_syms->symbols.size(), old_syms->symbols.size());

    // Every function entry: a trampoline into the same symbol of the new
    // vDSO, a syscall fallback where the new one lacks it, or (signal
    // return) its own code; every other byte as it was.
    std::vector<bool> patched(from.image.size(), false);
    unsigned trampolines = 0;
    std::vector<uint64_t> fallback_entries;  // aliases share one
    for (const auto &s : old_syms->symbols) {
        if (s.type != STT_FUNC) continue;
        const bool thumb = old_syms->machine == EM_ARM && (s.offset & 1);
        const uint64_t entry = s.offset & ~uint64_t(thumb ? 1 : 0);
        if (s.name.find("sigreturn") != std::string::npos || s.name.find("sigtramp") != std::string::npos ||
            s.name.find("restart_syscall") != std::string::npos) {
            EXPECT_EQ(std::memcmp(copy + entry, from.image.data() + entry, s.size), 0) << s.name << " was changed";
            continue;
        }
        const ElfSymbol *n = new_syms->find(s.name);
        std::vector<uint8_t> want;
        if (n) {
            const bool nthumb = new_syms->machine == EM_ARM && (n->offset & 1);
            auto t = arch::vdso_trampoline({old_at + entry, thumb},
                                           {new_at + (n->offset & ~uint64_t(nthumb ? 1 : 0)), nthumb}, 64);
            ASSERT_TRUE(t.ok()) << t.error().message();
            want = *t;
            ++trampolines;
        } else {
            // A trampoline into a fallback in the copy's zero tail (where
            // no unwind table reaches), checked there too.
            const long nr = arch::vdso_fallback_syscall(s.name);
            bool found = false;
            for (uint64_t stub = fallback_stubs_at(from.image); stub + 4 <= from.image.size() && !found; stub += 16) {
                auto t = arch::vdso_trampoline({old_at + entry, thumb}, {old_at + stub, thumb}, 64);
                auto f = arch::vdso_fallback({old_at + stub, thumb}, nr, from.image.size() - stub);
                if (!t.ok() || !f.ok() || std::memcmp(copy + entry, t->data(), t->size()) != 0) continue;
                EXPECT_EQ(std::vector<uint8_t>(copy + stub, copy + stub + f->size()), *f) << s.name << " fallback";
                std::fill(patched.begin() + long(stub), patched.begin() + long(stub + f->size()), true);
                want = *t;
                found = true;
            }
            ASSERT_TRUE(found) << s.name << ": no trampoline into a fallback in the tail";
            if (std::find(fallback_entries.begin(), fallback_entries.end(), entry) == fallback_entries.end())
                fallback_entries.push_back(entry);
        }
        ASSERT_LE(entry + want.size(), from.image.size());
        EXPECT_EQ(std::vector<uint8_t>(copy + entry, copy + entry + want.size()), want) << s.name;
        std::fill(patched.begin() + long(entry), patched.begin() + long(entry + want.size()), true);
    }
    EXPECT_GT(trampolines, 0u);
    EXPECT_EQ(proxy->fallbacks, fallback_entries.size());
    for (size_t i = 0; i < from.image.size(); ++i) {
        if (!patched[i]) {
            ASSERT_EQ(copy[i], uint8_t(from.image[i])) << "byte " << i << " changed";
        }
    }

    // The last vvar stand-in ends with the mark naming the old areas.
    ProxyMark mark;
    std::memcpy(&mark, proxy->bytes.data() + last_vvar->offset + (mark_address(last_vvar->end) - last_vvar->start),
                sizeof mark);
    EXPECT_EQ(std::memcmp(mark.magic, ProxyMark::kMagic, sizeof mark.magic), 0);
    EXPECT_EQ(mark.nr_areas, proxy->mappings.size());
    for (uint32_t i = 0; i < mark.nr_areas; ++i) {
        EXPECT_EQ(mark.areas[i].start, proxy->mappings[i].start);
        EXPECT_EQ(mark.areas[i].end, proxy->mappings[i].end);
    }
}

TEST(VdsoProxy, RecordedKernelsProxyIntoEachOtherBothWays) {
    auto all = recorded();
    ASSERT_GE(all.size(), 2u) << "no recorded vDSOs in " << STASIS_VDSO_DATA_DIR;
    const uint64_t page = all[0].page;
    const uint64_t old_at = 0x7f0000000000ull & (sizeof(long) == 4 ? 0xffffffffull : ~0ull);
    const uint64_t base = sizeof(long) == 4 ? 0xb6f00000ull : old_at;
    for (const auto &from : all)
        for (const auto &to : all) {
            // Near (short branches) and, on 64-bit, 16 GiB away (long forms
            // where the arch's reach ends).
            expect_proxy(from, to, base, base - 16 * page);
            if (sizeof(long) == 8) expect_proxy(from, to, base, base + (16ull << 30));
        }
}

TEST(VdsoProxy, RecordedPairsDifferSoTheProxyIsNeeded) {
    auto all = recorded();
    ASSERT_GE(all.size(), 2u);
    EXPECT_NE(all[0].image, all[1].image) << "the two recorded kernels have the same vDSO";
}

TEST(VdsoProxy, ImageFromAnOlderStasisIsRefusedClearly) {
    auto all = recorded();
    ASSERT_FALSE(all.empty());
    images::VdsoInfo saved = as_dumped(all[0], 0x10000000);
    saved.clear_image();
    auto proxy = build_proxy(saved, all[0].image, 0x20000000, all[0].page);
    ASSERT_FALSE(proxy.ok());
    EXPECT_NE(proxy.error().message().find("older stasis"), std::string::npos) << proxy.error().message();
}

TEST(VdsoProxy, CorruptDumpedImageIsRefusedNotPatched) {
    auto all = recorded();
    ASSERT_FALSE(all.empty());
    images::VdsoInfo saved = as_dumped(all[0], 0x10000000);
    std::string bad = all[0].image;
    std::memset(bad.data(), 0, 64);  // no ELF header
    saved.set_image(bad);
    auto proxy = build_proxy(saved, all[0].image, 0x20000000, all[0].page);
    ASSERT_FALSE(proxy.ok());
    EXPECT_NE(proxy.error().message().find("dumped vDSO"), std::string::npos) << proxy.error().message();
}

}  // namespace
}  // namespace stasis::vdso
