// The vDSO proxy builder (vdso/proxy.h) on hostile vDSO images: the dumped
// image comes from the images directory, so anything may be in it. The
// input is [u8 layout][u16 LE length of the dumped image][dumped image]
// [this kernel's image]. Properties: never a crash, an error always says
// something, and a proxy that is built has one mapping per stand-in area,
// back to back, covering exactly its bytes.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "tests/fuzz/fuzz_support.h"
#include "vdso/proxy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3) return 0;
    const uint8_t layout = data[0];
    const size_t old_len = size_t(data[1]) | size_t(data[2]) << 8;
    data += 3, size -= 3;
    if (old_len > size) return 0;
    const uint64_t page = 4096;
    stasis::images::VdsoInfo saved;
    saved.set_image(reinterpret_cast<const char *>(data), old_len);
    const std::string current(reinterpret_cast<const char *>(data + old_len), size - old_len);
    // A vvar of 1-4 pages below the vDSO or above it, as kernels place them.
    const uint64_t vvar_pages = 1 + (layout & 3), vdso_len = (old_len + page - 1) / page * page + page * ((layout >> 2) & 1);
    const bool vvar_below = layout & 8;
    const uint64_t base = 0x7f0000000000ull;
    auto *vvar = saved.add_areas();
    auto *vdso = saved.add_areas();
    vvar->set_kind(stasis::images::VMA_VVAR);
    vdso->set_kind(stasis::images::VMA_VDSO);
    if (vvar_below) {
        vvar->set_start(base), vvar->set_end(base + vvar_pages * page);
        vdso->set_start(vvar->end()), vdso->set_end(vdso->start() + vdso_len);
    } else {
        vdso->set_start(base), vdso->set_end(base + vdso_len);
        vvar->set_start(vdso->end()), vvar->set_end(vvar->start() + vvar_pages * page);
    }
    saved.set_size(vdso_len);
    const uint64_t new_at = (layout & 16) ? base + (1ull << 33) : base - (64 << 20);
    auto proxy = stasis::vdso::build_proxy(saved, current, new_at, page);
    if (!proxy.ok()) {
        if (proxy.error().message().empty()) stasis::images::fuzz::property_failed("vdso proxy", "empty error");
        return 0;
    }
    uint64_t total = 0;
    for (const auto &m : proxy->mappings) {
        if (m.offset != total || m.end <= m.start)
            stasis::images::fuzz::property_failed("vdso proxy", "mappings not back to back");
        total += m.end - m.start;
    }
    if (proxy->mappings.size() != 2 || total != proxy->bytes.size())
        stasis::images::fuzz::property_failed("vdso proxy", "mappings do not cover the bytes");
    return 0;
}
