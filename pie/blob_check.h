// The PIE blob checker: proves, by disassembling it, that a blob can run
// wherever the engine copies it, with no loader to help. The engine calls
// check_blob() before injecting any blob; the unit tests call it on every
// embedded blob and on deliberately broken ones.
#pragma once

#include <capstone/capstone.h>

#include <cstdint>
#include <span>

#include "common/util/result.h"
#include "pie/blob.h"

namespace stasis::pie {

// The machine a blob's code is decoded as.
struct CodeTarget {
    cs_arch arch;
    cs_mode mode;
    // The trap the blob entry code ends with: accepted where capstone cannot
    // decode it (s390x's 0x0001 breakpoint is an illegal opcode by design).
    std::span<const uint8_t> trap_insn;
};

// This build's architecture (arch/<arch>/arch_disasm.h).
CodeTarget native_code_target();

// Refuses, with one Error naming the blob, the offset and the instruction:
//   - any dynamic relocation the linker left (nothing would apply it);
//   - code in [0, pie_text_end) that does not decode (ARM/AArch64 $d mapping
//     symbols mark literal pools as data; Thumb ranges ($t) decode as Thumb);
//   - any indirect call or jump other than a function return: calls through
//     a PLT, GOT or function pointer look like this;
//   - absolute branches, and direct branches or calls whose target lies
//     outside the blob's code;
//   - PC-relative data references outside the blob where they can be
//     computed (x86 rip-relative, aarch64 adr/adrp/ldr literal, arm
//     pc-relative loads and adr, s390x larl and the *rl family).
// The blob must be copied to a 4096-aligned address: aarch64 adrp works in
// 4 KiB pages and the blob is linked at 0 (pie/blob.lds).
Status check_blob(const Blob &blob, const CodeTarget &target);
Status check_blob(const Blob &blob);

}  // namespace stasis::pie
