#include "common/restore/address_space.h"

#include <algorithm>
#include <string>

namespace stasis::restore {

Result<uint64_t> find_free_range(const images::Checkpoint &cp, const std::vector<proc::Mapping> &self, uint64_t size,
                                 uint64_t page, const std::vector<std::pair<uint64_t, uint64_t>> &also_busy) {
    std::vector<std::pair<uint64_t, uint64_t>> busy(also_busy);
    uint64_t top = 0;
    for (const auto &m : self) {
        if (m.path == "[vsyscall]" || m.path == "[vectors]") continue;
        busy.push_back({m.start, m.end});
        top = std::max(top, m.end);
    }
    for (const auto &t : cp.tasks)
        for (const auto &v : t.vmas) busy.push_back({v.start(), v.end()});
    std::sort(busy.begin(), busy.end());
    uint64_t best = 0;
    uint64_t cursor = 1 << 20;  // stay well above mmap_min_addr
    for (const auto &[s, e] : busy) {
        if (s > cursor && s - cursor >= size + 2 * page && s <= top) best = s - page - size;
        cursor = std::max(cursor, e);
    }
    if (!best) return Error("no free address range of " + std::to_string(size) + " bytes");
    return best / page * page;
}

}  // namespace stasis::restore
