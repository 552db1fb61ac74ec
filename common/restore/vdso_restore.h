// How a task's vDSO comes back (seed 004, issue 9): in place when this
// kernel offers the same vDSO (same symbols at the same offsets, same
// vvar layout) — its areas are simply moved over the dumped addresses —
// otherwise through a proxy (vdso/proxy.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/images/checkpoint.h"
#include "common/proc/maps.h"
#include "common/util/result.h"
#include "pie/restorer/plan.h"
#include "vdso/proxy.h"

namespace stasis::restore {

struct VdsoDecision {
    bool proxy = false;
    std::string why;  // the first difference (proxy), or what matched (in place)
};

// Test knobs: STASIS_VDSO_PROXY=always proxies even an identical vDSO
// (tests run the proxy on a single kernel that way); =fallback too, every
// function then served by its syscall fallback.
enum class ForcedProxy { no, always, fallback };
ForcedProxy vdso_proxy_forced();

// In place or proxy, for a task dumped with `saved` on a kernel whose vDSO
// is `current`.
VdsoDecision decide_vdso(const images::VdsoInfo &saved, const images::VdsoInfo &current, ForcedProxy forced);

// The proxy of a task and where this kernel's areas go.
struct VdsoProxyPlan {
    vdso::Proxy proxy;
    std::vector<restore_special> moves;    // this kernel's areas: current place -> new place
    std::pair<uint64_t, uint64_t> block;   // where they will be
    uint64_t distance = 0;                 // farthest branch from the old vDSO into the new one
};

// Places this kernel's vDSO/vvar areas (`self`'s) where neither the task's
// own VMAs nor anything else of this process is, as near the old vDSO as
// possible (short trampolines reach it), and builds the proxy for there.
Result<VdsoProxyPlan> plan_vdso_proxy(const images::TaskImages &t, const images::VdsoInfo &current,
                                      const std::vector<proc::Mapping> &self, uint64_t page,
                                      ForcedProxy forced = ForcedProxy::no);

// For every live task of the checkpoint, one line: "process P: vDSO: in
// place (...)" or "process P: vDSO: proxy (what differs): N trampolines
// ...". The proxy is built once here (each task builds its own later, for
// its final layout), so that a symbol no proxy can serve refuses the
// restore before anything is created. Used by the restore's checks and by
// `stasis check -D`.
Result<std::vector<std::string>> explain_vdso(const images::Checkpoint &cp);

// One line for the log: which path, and why.
std::string describe_vdso_path(const VdsoDecision &d, const VdsoProxyPlan *plan);

}  // namespace stasis::restore
