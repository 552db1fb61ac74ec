// arm: how capstone decodes this architecture's code (the PIE blob checker).
// Blobs are ARM state; Thumb ranges (marked by $t mapping symbols, e.g.
// libgcc helpers) are decoded in Thumb mode by the checker itself.
#pragma once

#include <capstone/capstone.h>

#include <array>
#include <csignal>
#include <cstdint>

namespace stasis::arch {

inline constexpr cs_arch kCapstoneArch = CS_ARCH_ARM;
inline constexpr cs_mode kCapstoneMode = CS_MODE_ARM;
// The trap blob entry code ends with (0xe7f001f0, the ARM-state breakpoint
// the kernel reports as SIGTRAP; little-endian).
inline constexpr std::array<uint8_t, 4> kBlobTrapInsn = {0xf0, 0x01, 0xf0, 0xe7};
// The signal that trap raises in a task nobody traces (the engine always
// traces the task; the unit tests run blob entry code untraced).
inline constexpr int kBlobTrapSignalUntraced = SIGTRAP;

}  // namespace stasis::arch
