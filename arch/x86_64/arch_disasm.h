// x86_64: how capstone decodes this architecture's code (the PIE blob checker).
#pragma once

#include <capstone/capstone.h>

#include <array>
#include <csignal>
#include <cstdint>

namespace stasis::arch {

inline constexpr cs_arch kCapstoneArch = CS_ARCH_X86;
inline constexpr cs_mode kCapstoneMode = CS_MODE_64;
// The trap blob entry code ends with (int3).
inline constexpr std::array<uint8_t, 1> kBlobTrapInsn = {0xcc};
// The signal that trap raises in a task nobody traces (the engine always
// traces the task; the unit tests run blob entry code untraced).
inline constexpr int kBlobTrapSignalUntraced = SIGTRAP;

}  // namespace stasis::arch
