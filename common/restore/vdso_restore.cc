#include "common/restore/vdso_restore.h"

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include <unistd.h>

#include "common/util/log.h"
#include "vdso/layout.h"

namespace stasis::restore {
namespace {

bool in_block(const proc::Mapping &m) { return m.path == "[vdso]" || m.path == "[vvar]" || m.path == "[vvar_vclock]"; }

images::VmaKind kind_of(const proc::Mapping &m) {
    if (m.path == "[vdso]") return images::VMA_VDSO;
    if (m.path == "[vvar]") return images::VMA_VVAR;
    if (m.path == "[vvar_vclock]") return images::VMA_VVAR_VCLOCK;
    if (m.path == "[sigpage]") return images::VMA_SIGPAGE;
    return images::VMA_KIND_UNSPECIFIED;
}

}  // namespace

ForcedProxy vdso_proxy_forced() {
    const char *e = std::getenv("STASIS_VDSO_PROXY");
    if (e && std::string_view(e) == "always") return ForcedProxy::always;
    if (e && std::string_view(e) == "fallback") return ForcedProxy::fallback;
    return ForcedProxy::no;
}

VdsoDecision decide_vdso(const images::VdsoInfo &saved, const images::VdsoInfo &current, ForcedProxy forced) {
    if (saved.areas_size() == 0) return {false, "the dumped process had no vDSO: none is put back"};
    if (forced == ForcedProxy::always) return {true, "STASIS_VDSO_PROXY=always"};
    if (forced == ForcedProxy::fallback) return {true, "STASIS_VDSO_PROXY=fallback: every function by its syscall"};
    auto st = vdso::check_in_place(saved, current);
    if (!st.ok()) return {true, st.error().message()};
    return {false, "same symbols at the same offsets, same vvar layout"};
}

Result<VdsoProxyPlan> plan_vdso_proxy(const images::TaskImages &t, const images::VdsoInfo &current,
                                      const std::vector<proc::Mapping> &self, uint64_t page, ForcedProxy forced) {
    const images::VdsoArea *old_vdso = nullptr;
    for (const auto &a : t.vdso.areas())
        if (a.kind() == images::VMA_VDSO) old_vdso = &a;
    if (!old_vdso) return Error("the dumped process had no [vdso]");

    uint64_t bmin = ~uint64_t(0), bmax = 0, cur_vdso = 0;
    std::vector<std::pair<uint64_t, uint64_t>> busy;
    for (const auto &m : self) {
        if (m.path == "[vsyscall]" || m.path == "[vectors]") continue;
        if (in_block(m)) {
            bmin = std::min(bmin, m.start);
            bmax = std::max(bmax, m.end);
            if (m.path == "[vdso]") cur_vdso = m.start;
            continue;
        }
        busy.push_back({m.start, m.end});
    }
    if (!cur_vdso) return Error("this process has no [vdso] to proxy to");
    // The kernel's fixed areas ([vsyscall], arm's [vectors]) lie above the
    // task's address space: the room below them is not all the task's (an
    // arm vDSO at the top of the 3 GiB split was once moved to 0xbf001000,
    // past TASK_SIZE). Only gaps between the task's own mappings count.
    for (const auto &v : t.vmas)
        if (v.kind() != images::VMA_VSYSCALL && v.kind() != images::VMA_VECTORS) busy.push_back({v.start(), v.end()});
    std::sort(busy.begin(), busy.end());
    const uint64_t span = bmax - bmin, old_start = old_vdso->start(), old_end = old_vdso->end();

    // The free position nearest the old vDSO, a guard page from anything.
    uint64_t best = 0, best_dist = ~uint64_t(0), cursor = 1 << 20;
    auto consider = [&](uint64_t gs, uint64_t ge) {
        gs += page;
        if (ge < page || ge - page < gs || ge - page - gs < span) return;
        ge -= page;
        uint64_t pos = std::clamp(old_start, gs, ge - span) / page * page;
        if (pos < gs) pos += page;
        if (pos + span > ge) return;
        uint64_t dist = std::max(old_end, pos + span) - std::min(old_start, pos);
        if (dist < best_dist) best = pos, best_dist = dist;
    };
    for (const auto &[s, e] : busy) {
        if (s > cursor) consider(cursor, s);
        cursor = std::max(cursor, e);
    }
    if (!best) return Error(log::cat("no free room of ", span, " bytes for this kernel's vDSO and vvar"));

    VdsoProxyPlan p;
    p.block = {best, best + span};
    p.distance = best_dist;
    for (const auto &m : self)
        if (in_block(m)) p.moves.push_back({m.start, m.size(), m.start - bmin + best});
    // Other kernel-provided areas (arm's [sigpage]) go where they were.
    for (const auto &a : t.vdso.areas()) {
        if (a.kind() == images::VMA_VDSO || a.kind() == images::VMA_VVAR || a.kind() == images::VMA_VVAR_VCLOCK)
            continue;
        auto it = std::find_if(self.begin(), self.end(), [&](const proc::Mapping &m) { return kind_of(m) == a.kind(); });
        if (it == self.end())
            return Error("this kernel has no " + vdso::area_name(a.kind()) + " to put where the dumped process had it");
        if (it->size() != a.end() - a.start())
            return Error(vdso::area_name(a.kind()) + " differs in size from the dumped one");
        p.moves.push_back({it->start, it->size(), a.start()});
    }
    STASIS_ASSIGN(p.proxy, vdso::build_proxy(t.vdso, current.image(), cur_vdso - bmin + best, page,
                                             forced == ForcedProxy::fallback));
    return p;
}

std::string describe_vdso_path(const VdsoDecision &d, const VdsoProxyPlan *plan) {
    if (!d.proxy) return "vDSO: in place (" + d.why + ")";
    std::string s = "vDSO: proxy (" + d.why + ")";
    if (plan) {
        const auto &p = plan->proxy;
        s += log::cat(": ", p.trampolines, " trampolines into this kernel's vDSO at ", log::hex(plan->block.first),
                      " (", plan->distance >> 10, " KiB away), ", p.kept, " signal/restart trampolines kept, ", p.fallbacks,
                      " syscall fallbacks");
        if (!p.missing.empty()) {
            s += " for";
            for (const auto &m : p.missing) s += " " + m;
        }
    }
    return s;
}

Result<std::vector<std::string>> explain_vdso(const images::Checkpoint &cp) {
    STASIS_ASSIGN(auto self, proc::read_maps(::getpid()));
    STASIS_ASSIGN(auto current, vdso::describe_process(::getpid(), self));
    const ForcedProxy force = vdso_proxy_forced();
    const uint64_t page = uint64_t(::sysconf(_SC_PAGESIZE));
    std::vector<std::string> lines;
    for (const auto &t : cp.tasks) {
        if (t.tree.zombie()) continue;
        std::string who = "process " + std::to_string(t.tree.pid());
        VdsoDecision d = decide_vdso(t.vdso, current, force);
        if (!d.proxy) {
            lines.push_back(who + ": " + describe_vdso_path(d, nullptr));
            continue;
        }
        auto plan = plan_vdso_proxy(t, current, self, page, force);
        if (!plan.ok()) return std::move(plan).error().context(who + ": vDSO proxy (" + d.why + ")");
        lines.push_back(who + ": " + describe_vdso_path(d, &*plan));
    }
    return lines;
}

}  // namespace stasis::restore
