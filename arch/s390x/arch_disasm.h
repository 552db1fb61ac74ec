// s390x: how capstone decodes this architecture's code (the PIE blob checker).
#pragma once

#include <capstone/capstone.h>

#include <array>
#include <csignal>
#include <cstdint>

namespace stasis::arch {

inline constexpr cs_arch kCapstoneArch = CS_ARCH_SYSZ;
inline constexpr cs_mode kCapstoneMode = CS_MODE_BIG_ENDIAN;
// The trap blob entry code ends with: 0x0001, an illegal opcode the kernel
// turns into SIGTRAP for a traced task (capstone cannot decode it).
inline constexpr std::array<uint8_t, 2> kBlobTrapInsn = {0x00, 0x01};
// The signal that trap raises in a task nobody traces: the kernel reports
// 0x0001 as a breakpoint only to a tracer (arch/s390/kernel/traps.c,
// illegal_op), otherwise it is an illegal operation.
inline constexpr int kBlobTrapSignalUntraced = SIGILL;

}  // namespace stasis::arch
