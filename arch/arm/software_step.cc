// arm: single steps without PTRACE_SINGLESTEP, which 32-bit arm kernels do
// not offer. The instruction at the thread's pc is decoded with capstone
// (ARM or Thumb, by the CPSR's T bit) and a breakpoint goes wherever it may
// continue: the next instruction, and a branch's target, computed from the
// registers and, for returns through the stack or a table, from memory.
// Anything else that writes the pc is refused: the caller then lets the
// thread run instead.
#include <capstone/capstone.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "arch/arch.h"
#include "common/util/log.h"

namespace stasis::arch {
namespace {

constexpr uint32_t kThumbBit = 1u << 5;
// ITSTATE, split across the CPSR: a Thumb instruction inside an IT block
// is conditional even where capstone reports it as "always".
constexpr uint32_t kItBits = (0x3fu << 10) | (0x3u << 25);
// The breakpoints Linux reports as SIGTRAP (arch/arm/kernel/ptrace.c):
// ARM 0xe7f001f0 and Thumb 0xde01 (little-endian).
const std::vector<uint8_t> kArmBreak = {0xf0, 0x01, 0xf0, 0xe7};
const std::vector<uint8_t> kThumbBreak = {0x01, 0xde};

struct CsHandle {
    csh h = 0;
    ~CsHandle() {
        if (h) cs_close(&h);
    }
};

struct InsnDeleter {
    size_t n;
    void operator()(cs_insn *i) const { cs_free(i, n); }
};

// A capstone register as the value the instruction reads (pc reads ahead:
// +8 in ARM state, +4 in Thumb), or nothing for one it does not track.
std::optional<uint32_t> reg_value(const ThreadRegs &r, int reg, bool thumb) {
    if (reg >= ARM_REG_R0 && reg <= ARM_REG_R12) return uint32_t(r.gp.uregs[reg - ARM_REG_R0]);
    if (reg == ARM_REG_SP) return uint32_t(r.gp.uregs[kArmSp]);
    if (reg == ARM_REG_LR) return uint32_t(r.gp.uregs[kArmLr]);
    if (reg == ARM_REG_PC) return uint32_t(r.gp.uregs[kArmPc] + (thumb ? 4 : 8));
    return std::nullopt;
}

Result<uint32_t> read_word(const ReadMem &read, uint64_t addr, size_t size) {
    uint32_t v = 0;
    if (!read(addr, &v, size)) return Error(log::cat("cannot read ", size, " bytes at ", log::hex(addr)));
    return v;
}

struct Target {
    uint64_t addr;
    bool thumb;
};

// An interworking address: bit 0 chooses Thumb state.
Target interworking(uint32_t v) { return {v & ~1u, (v & 1u) != 0}; }

// Where the pc-writing instruction `in` goes; an error for one not decoded.
Result<Target> branch_target(const cs_insn &in, const ThreadRegs &r, bool thumb, const ReadMem &read) {
    const cs_arm &a = in.detail->arm;
    const cs_arm_op *op = a.operands;
    auto reg = [&](int id) -> Result<uint32_t> {
        auto v = reg_value(r, id, thumb);
        if (!v) return Error(log::cat("register ", id, " of ", in.mnemonic, " is not tracked"));
        return *v;
    };
    switch (in.id) {
        case ARM_INS_B:
        case ARM_INS_BL: return Target{uint32_t(op[0].imm), thumb};
        case ARM_INS_CBZ:
        case ARM_INS_CBNZ: return Target{uint32_t(op[1].imm), thumb};
        case ARM_INS_BLX:
            // To the other state; an ARM target is word-aligned.
            if (op[0].type == ARM_OP_IMM) return Target{thumb ? uint32_t(op[0].imm) & ~3u : uint32_t(op[0].imm), !thumb};
            [[fallthrough]];
        case ARM_INS_BX: {
            STASIS_ASSIGN(uint32_t v, reg(op[0].reg));
            return interworking(v);
        }
        case ARM_INS_TBB:
        case ARM_INS_TBH: {
            const bool half = in.id == ARM_INS_TBH;
            STASIS_ASSIGN(uint32_t base, reg(op[0].mem.base));
            STASIS_ASSIGN(uint32_t index, reg(op[0].mem.index));
            STASIS_ASSIGN(uint32_t entry, read_word(read, base + index * (half ? 2 : 1), half ? 2 : 1));
            return Target{uint32_t(r.gp.uregs[kArmPc] + 4 + 2 * entry), true};
        }
        case ARM_INS_POP:
        case ARM_INS_LDM: {
            // The pc is the highest register of the list, loaded last, from
            // sp (POP) or the base register (LDM = LDMIA) upwards.
            const int first = in.id == ARM_INS_POP ? 0 : 1;
            uint32_t base = uint32_t(r.gp.uregs[kArmSp]);
            if (in.id == ARM_INS_LDM) {
                STASIS_ASSIGN(base, reg(op[0].reg));
            }
            const int listed = a.op_count - first;
            STASIS_ASSIGN(uint32_t v, read_word(read, base + 4u * uint32_t(listed - 1), 4));
            return interworking(v);
        }
        case ARM_INS_LDR: {
            if (a.op_count < 2 || op[1].type != ARM_OP_MEM) break;
            const arm_op_mem &m = op[1].mem;
            STASIS_ASSIGN(uint32_t addr, reg(m.base));
            if (m.base == ARM_REG_PC && thumb) addr &= ~3u;  // literal loads use Align(pc, 4)
            if (a.op_count == 2) {  // offset or pre-indexed; post-indexed loads from the base itself
                int64_t off = m.disp;
                if (m.index != ARM_REG_INVALID) {
                    STASIS_ASSIGN(uint32_t idx, reg(m.index));
                    int64_t scaled = int64_t(uint64_t(idx) << (m.lshift > 0 ? m.lshift : 0));
                    off += m.scale < 0 || op[1].subtracted ? -scaled : scaled;
                }
                addr = uint32_t(int64_t(addr) + off);
            }
            STASIS_ASSIGN(uint32_t v, read_word(read, addr, 4));
            return interworking(v);
        }
        case ARM_INS_MOV:
            if (a.op_count == 2 && op[1].type == ARM_OP_REG && op[1].shift.type == ARM_SFT_INVALID) {
                STASIS_ASSIGN(uint32_t v, reg(op[1].reg));
                // Interworking in ARM state (ARMv7), not in Thumb.
                return thumb ? Target{v & ~1u, true} : interworking(v);
            }
            break;
        default: break;
    }
    return Error(log::cat("cannot tell where \"", in.mnemonic, " ", in.op_str, "\" goes"));
}

// Whether the instruction may write the pc (a branch of any kind).
bool writes_pc(const cs_insn &in) {
    const cs_arm &a = in.detail->arm;
    switch (in.id) {
        case ARM_INS_B:
        case ARM_INS_BL:
        case ARM_INS_BLX:
        case ARM_INS_BX:
        case ARM_INS_CBZ:
        case ARM_INS_CBNZ:
        case ARM_INS_TBB:
        case ARM_INS_TBH: return true;
        default: break;
    }
    for (uint8_t i = 0; i < a.op_count; ++i)
        if (a.operands[i].type == ARM_OP_REG && a.operands[i].reg == ARM_REG_PC && (a.operands[i].access & CS_AC_WRITE))
            return true;
    // Loads whose list or destination names the pc (capstone 4 does not
    // always mark the access).
    if ((in.id == ARM_INS_POP || in.id == ARM_INS_LDM || in.id == ARM_INS_LDR || in.id == ARM_INS_MOV) &&
        std::any_of(a.operands, a.operands + a.op_count,
                    [&](const cs_arm_op &o) { return o.type == ARM_OP_REG && o.reg == ARM_REG_PC; }) &&
        !(in.id == ARM_INS_LDR && a.operands[0].reg != ARM_REG_PC) &&
        !(in.id == ARM_INS_MOV && a.operands[0].reg != ARM_REG_PC))
        return true;
    return false;
}

}  // namespace

Result<std::vector<Breakpoint>> step_breakpoints(const ThreadRegs &r, const ReadMem &read) {
    const uint32_t pc = uint32_t(r.gp.uregs[kArmPc]);
    const uint32_t cpsr = uint32_t(r.gp.uregs[kArmCpsr]);
    const bool thumb = cpsr & kThumbBit;
    uint8_t code[4] = {};
    size_t have = 4;
    if (!read(pc, code, 4)) {
        have = 2;  // a 16-bit Thumb instruction at the very end of a mapping
        if (!thumb || !read(pc, code, 2)) return Error(log::cat("cannot read the instruction at ", log::hex(pc)));
    }
    CsHandle cs;
    if (cs_open(CS_ARCH_ARM, thumb ? CS_MODE_THUMB : CS_MODE_ARM, &cs.h) != CS_ERR_OK)
        return Error("capstone: cannot open an arm decoder");
    cs_option(cs.h, CS_OPT_DETAIL, CS_OPT_ON);
    cs_insn *raw = nullptr;
    size_t n = cs_disasm(cs.h, code, have, pc, 1, &raw);
    if (n == 0) return Error(log::cat("cannot decode the instruction at ", log::hex(pc)));
    std::unique_ptr<cs_insn, InsnDeleter> in(raw, InsnDeleter{n});
    const bool conditional = in->detail->arm.cc != ARM_CC_AL && in->detail->arm.cc != ARM_CC_INVALID;
    const bool in_it_block = thumb && (cpsr & kItBits) != 0;

    std::vector<Target> next;
    bool falls_through = true;
    if (writes_pc(*in)) {
        STASIS_ASSIGN(Target t, branch_target(*in, r, thumb, read));
        next.push_back(t);
        const bool always = in->id != ARM_INS_CBZ && in->id != ARM_INS_CBNZ && !conditional && !in_it_block;
        falls_through = !always;
    }
    if (falls_through) next.push_back({uint64_t(pc) + in->size, thumb});

    std::vector<Breakpoint> out;
    for (const Target &t : next) {
        if (std::any_of(out.begin(), out.end(), [&](const Breakpoint &b) { return b.addr == t.addr; })) continue;
        out.push_back({t.addr, t.thumb ? kThumbBreak : kArmBreak});
    }
    return out;
}

Result<std::vector<Breakpoint>> return_breakpoints(const ThreadRegs &r, const ReadMem &read, size_t stack_bytes,
                                                   const std::function<bool(uint64_t)> &is_code) {
    std::vector<uint32_t> candidates = {uint32_t(r.gp.uregs[kArmLr])};
    const uint32_t sp = uint32_t(r.gp.uregs[kArmSp]);
    for (size_t off = 0; off + 4 <= stack_bytes; off += 4) {
        uint32_t w = 0;
        if (!read(sp + off, &w, 4)) break;
        candidates.push_back(w);
    }
    std::vector<Breakpoint> out;
    for (uint32_t c : candidates) {
        const Target t = interworking(c);
        // An ARM return address is word-aligned; a Thumb one halfword-aligned.
        if ((!t.thumb && (t.addr & 3)) || !is_code(t.addr)) continue;
        if (std::any_of(out.begin(), out.end(), [&](const Breakpoint &b) { return b.addr == t.addr; })) continue;
        out.push_back({t.addr, t.thumb ? kThumbBreak : kArmBreak});
    }
    return out;
}

}  // namespace stasis::arch
