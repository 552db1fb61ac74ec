// ppc64le: how capstone decodes this architecture's code (the PIE blob checker).
#pragma once

#include <capstone/capstone.h>

#include <array>
#include <csignal>
#include <cstdint>

namespace stasis::arch {

inline constexpr cs_arch kCapstoneArch = CS_ARCH_PPC;
inline constexpr cs_mode kCapstoneMode = static_cast<cs_mode>(CS_MODE_64 | CS_MODE_LITTLE_ENDIAN);
// The trap blob entry code ends with (trap = tw 31,0,0, little-endian).
inline constexpr std::array<uint8_t, 4> kBlobTrapInsn = {0x08, 0x00, 0xe0, 0x7f};
// The signal that trap raises in a task nobody traces (the engine always
// traces the task; the unit tests run blob entry code untraced).
inline constexpr int kBlobTrapSignalUntraced = SIGTRAP;

}  // namespace stasis::arch
