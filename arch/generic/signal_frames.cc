// Arches whose kernels (of the generations stasis restores across) write
// signal frames one way: nothing to find or rewrite.
#include "arch/arch.h"

namespace stasis::arch {

bool signal_frames_may_need_rewriting() { return false; }

std::vector<SignalFrame> adapt_signal_frames(std::span<uint8_t>, uint64_t) { return {}; }

}  // namespace stasis::arch
