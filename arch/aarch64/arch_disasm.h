// aarch64: how capstone decodes this architecture's code (the PIE blob checker).
#pragma once

#include <capstone/capstone.h>

#include <array>
#include <csignal>
#include <cstdint>

namespace stasis::arch {

inline constexpr cs_arch kCapstoneArch = CS_ARCH_ARM64;
inline constexpr cs_mode kCapstoneMode = CS_MODE_LITTLE_ENDIAN;
// The trap blob entry code ends with (brk #0, little-endian).
inline constexpr std::array<uint8_t, 4> kBlobTrapInsn = {0x00, 0x00, 0x20, 0xd4};
// The signal that trap raises in a task nobody traces (the engine always
// traces the task; the unit tests run blob entry code untraced).
inline constexpr int kBlobTrapSignalUntraced = SIGTRAP;

}  // namespace stasis::arch
