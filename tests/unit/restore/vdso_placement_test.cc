// Where a restore behind a vDSO proxy puts this kernel's vDSO and vvar: in
// a gap between the task's own mappings, never in the room below a fixed
// kernel area ([vectors], [vsyscall]), which lies past the task's address
// space.
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>

#include "common/proc/maps.h"
#include "common/restore/vdso_restore.h"
#include "vdso/layout.h"

namespace stasis::restore {
namespace {

bool kernel_fixed(const proc::Mapping &m) { return m.path == "[vsyscall]" || m.path == "[vectors]"; }
bool vdso_block(const proc::Mapping &m) {
    return m.path == "[vdso]" || m.path == "[vvar]" || m.path == "[vvar_vclock]";
}

TEST(VdsoProxyPlacement, NeverAboveTheTasksTopMappingTowardsAFixedKernelArea) {
    auto self = proc::read_maps(::getpid());
    ASSERT_TRUE(self.ok()) << self.error().message();
    auto current = vdso::describe_process(::getpid(), *self);
    ASSERT_TRUE(current.ok()) << current.error().message();
    if (current->areas_size() == 0) GTEST_SKIP() << "no vDSO here (qemu-user)";
    const uint64_t page = uint64_t(::sysconf(_SC_PAGESIZE));

    // The dumped task: a copy of our vDSO layout as its topmost mappings,
    // just above everything this process has, and a fixed kernel area far
    // above (arm's [vectors] above a 3 GiB split: room that is no one's).
    uint64_t top_of_self = 0, span_lo = ~uint64_t(0), span_hi = 0;
    for (const auto &m : *self) {
        if (kernel_fixed(m)) continue;
        if (vdso_block(m)) {
            span_lo = std::min(span_lo, m.start);
            span_hi = std::max(span_hi, m.end);
        } else {
            top_of_self = std::max(top_of_self, m.end);
        }
    }
    const uint64_t base = (std::max(top_of_self, span_hi) + 64 * page) / page * page;
    images::TaskImages t;
    t.vdso = *current;
    uint64_t task_top = 0;
    for (auto &a : *t.vdso.mutable_areas()) {
        a.set_start(a.start() - span_lo + base);
        a.set_end(a.end() - span_lo + base);
        task_top = std::max(task_top, a.end());
        images::Vma v;
        v.set_start(a.start());
        v.set_end(a.end());
        v.set_kind(a.kind());
        t.vmas.push_back(v);
    }
    images::Vma vectors;
    vectors.set_start(task_top + (256ull << 20));
    vectors.set_end(vectors.start() + page);
    vectors.set_kind(images::VMA_VECTORS);
    t.vmas.push_back(vectors);

    auto plan = plan_vdso_proxy(t, *current, *self, page, ForcedProxy::always);
    ASSERT_TRUE(plan.ok()) << plan.error().message();
    EXPECT_LE(plan->block.second, task_top) << "this kernel's vDSO went to " << std::hex << plan->block.first
                                            << ", above the task's top mapping (ending at " << task_top << ")";
}

}  // namespace
}  // namespace stasis::restore
