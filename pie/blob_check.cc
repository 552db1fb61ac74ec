// The PIE blob checker (see blob_check.h). A linear sweep over the code part
// of the blob with capstone; each instruction is classified by the rules of
// its instruction set. The rules for all five instruction sets are here and
// chosen at run time by the CodeTarget, so any build can check any blob;
// which one this build runs comes from arch/<arch>/arch_disasm.h.
//
// ppc64le and s390x branches are classified from the raw instruction word:
// their encodings are regular, and capstone 4's detail for them is not
// (it names `bcl 20,31` "bdnzl" and gives no groups for most branches).
#include "pie/blob_check.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "arch_disasm.h"

namespace stasis::pie {
namespace {

enum class Flow {
    none,      // falls through (or traps, or makes a syscall)
    ret,       // function return
    direct,    // branch or call to a PC-relative target
    indirect,  // branch or call through a register or memory
    absolute,  // branch or call to an absolute address
};

struct InsnFacts {
    Flow flow = Flow::none;
    uint64_t branch_target = 0;
    bool has_data_ref = false;
    int64_t data_ref = 0;        // PC-relative data address, blob offset
    bool absolute_data = false;  // data at a fixed address (needs a relocation)
};

std::string hex(uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

int64_t sign_extend(uint64_t v, unsigned bits) {
    uint64_t m = uint64_t(1) << (bits - 1);
    v &= (m << 1) - 1;
    return int64_t((v ^ m) - m);
}

bool in_group(const cs_insn &insn, uint8_t group) {
    const cs_detail *d = insn.detail;
    return std::find(d->groups, d->groups + d->groups_count, group) != d->groups + d->groups_count;
}

// ---- x86_64 ------------------------------------------------------------------

InsnFacts classify_x86(const cs_insn &insn) {
    const cs_x86 &x = insn.detail->x86;
    InsnFacts f;
    for (uint8_t i = 0; i < x.op_count; ++i) {
        const cs_x86_op &op = x.operands[i];
        if (op.type != X86_OP_MEM) continue;
        if (op.mem.base == X86_REG_RIP) {
            f.has_data_ref = true;
            f.data_ref = int64_t(insn.address + insn.size) + op.mem.disp;
        } else if (op.mem.base == X86_REG_INVALID && op.mem.index == X86_REG_INVALID &&
                   op.mem.segment == X86_REG_INVALID) {
            f.absolute_data = true;
        }
    }
    if (insn.id == X86_INS_LJMP || insn.id == X86_INS_LCALL) {
        f.flow = Flow::indirect;  // far: to a segment, or through memory
    } else if (in_group(insn, CS_GRP_RET)) {
        f.flow = Flow::ret;
    } else if (in_group(insn, CS_GRP_CALL) || in_group(insn, CS_GRP_JUMP)) {
        if (x.op_count >= 1 && x.operands[0].type == X86_OP_IMM) {
            f.flow = Flow::direct;
            f.branch_target = uint64_t(x.operands[0].imm);
        } else {
            f.flow = Flow::indirect;
        }
    }
    return f;
}

// ---- aarch64 -----------------------------------------------------------------

// capstone gives branch, adr/adrp and literal-load targets as absolute
// addresses (computed from the address we decode at, the blob offset).
InsnFacts classify_arm64(const cs_insn &insn) {
    const cs_arm64 &a = insn.detail->arm64;
    InsnFacts f;
    const cs_arm64_op *last = a.op_count ? &a.operands[a.op_count - 1] : nullptr;
    bool last_is_imm = last && last->type == ARM64_OP_IMM;
    switch (insn.id) {
    case ARM64_INS_RET:
        f.flow = (a.op_count == 0 || a.operands[0].reg == ARM64_REG_X30) ? Flow::ret : Flow::indirect;
        break;
    case ARM64_INS_B:
    case ARM64_INS_BL:
    case ARM64_INS_CBZ:
    case ARM64_INS_CBNZ:
    case ARM64_INS_TBZ:
    case ARM64_INS_TBNZ:
        f.flow = last_is_imm ? Flow::direct : Flow::indirect;
        if (last_is_imm) f.branch_target = uint64_t(last->imm);
        break;
    case ARM64_INS_BR:
    case ARM64_INS_BLR:
        f.flow = Flow::indirect;
        break;
    case ARM64_INS_ADR:
    case ARM64_INS_ADRP:
    case ARM64_INS_LDR:
    case ARM64_INS_LDRSW:
    case ARM64_INS_PRFM:
        // The literal forms carry the target as an immediate; register
        // forms have a memory operand last.
        if (last_is_imm) {
            f.has_data_ref = true;
            f.data_ref = last->imm;
        }
        break;
    default:
        // A branch capstone knows but the cases above do not: refuse rather
        // than guess.
        if (in_group(insn, CS_GRP_JUMP) || in_group(insn, CS_GRP_CALL) || in_group(insn, CS_GRP_RET))
            f.flow = Flow::indirect;
        break;
    }
    return f;
}

// ---- arm (ARM and Thumb state) -------------------------------------------------

bool writes_pc(const cs_arm &a) {
    for (uint8_t i = 0; i < a.op_count; ++i)
        if (a.operands[i].type == ARM_OP_REG && a.operands[i].reg == ARM_REG_PC &&
            (a.operands[i].access & CS_AC_WRITE))
            return true;
    return false;
}

// Returns through the stack (`pop {..., pc}`, `ldr pc, [sp], #4`) or the
// link register (`bx lr`, `mov pc, lr`) count as function returns.
Flow classify_arm_pc_write(const cs_insn &insn) {
    const cs_arm &a = insn.detail->arm;
    switch (insn.id) {
    case ARM_INS_POP:
        return Flow::ret;
    case ARM_INS_LDR:
        return (a.op_count == 2 && a.operands[1].type == ARM_OP_MEM && a.operands[1].mem.base == ARM_REG_SP)
                   ? Flow::ret
                   : Flow::indirect;
    case ARM_INS_MOV:
        return (a.op_count == 2 && a.operands[1].type == ARM_OP_REG && a.operands[1].reg == ARM_REG_LR)
                   ? Flow::ret
                   : Flow::indirect;
    default:
        return Flow::indirect;
    }
}

// The PC an ARM instruction reads is its address + 8 (Thumb: + 4); literal
// loads and adr use that value aligned down to 4.
InsnFacts classify_arm(const cs_insn &insn, bool thumb) {
    const cs_arm &a = insn.detail->arm;
    InsnFacts f;
    int64_t pc = int64_t((insn.address + (thumb ? 4 : 8)) & ~uint64_t(3));
    for (uint8_t i = 0; i < a.op_count; ++i) {
        const cs_arm_op &op = a.operands[i];
        if (op.type == ARM_OP_MEM && op.mem.base == ARM_REG_PC && op.mem.index == ARM_REG_INVALID) {
            f.has_data_ref = true;
            f.data_ref = pc + op.mem.disp;
        }
    }
    bool pc_plus_imm = a.op_count == 3 && a.operands[1].type == ARM_OP_REG && a.operands[1].reg == ARM_REG_PC &&
                       a.operands[2].type == ARM_OP_IMM;
    if ((insn.id == ARM_INS_ADD || insn.id == ARM_INS_SUB) && pc_plus_imm && !writes_pc(a)) {
        f.has_data_ref = true;
        f.data_ref = insn.id == ARM_INS_ADD ? pc + a.operands[2].imm : pc - a.operands[2].imm;
    }
    if (insn.id == ARM_INS_ADR && a.op_count == 2 && a.operands[1].type == ARM_OP_IMM) {
        f.has_data_ref = true;
        f.data_ref = pc + a.operands[1].imm;
    }
    switch (insn.id) {
    case ARM_INS_B:
    case ARM_INS_BL:
    case ARM_INS_BLX:
    case ARM_INS_CBZ:
    case ARM_INS_CBNZ: {
        const cs_arm_op *last = a.op_count ? &a.operands[a.op_count - 1] : nullptr;
        if (last && last->type == ARM_OP_IMM) {
            f.flow = Flow::direct;
            f.branch_target = uint32_t(last->imm);
        } else {
            f.flow = Flow::indirect;
        }
        break;
    }
    case ARM_INS_BX:
        f.flow = (a.op_count == 1 && a.operands[0].reg == ARM_REG_LR) ? Flow::ret : Flow::indirect;
        break;
    case ARM_INS_BXJ:
    case ARM_INS_TBB:
    case ARM_INS_TBH:
        f.flow = Flow::indirect;
        break;
    default:
        if (writes_pc(a)) f.flow = classify_arm_pc_write(insn);
        break;
    }
    return f;
}

// ---- ppc64 -------------------------------------------------------------------

// Power ISA branch forms: I-form (opcode 18: b/bl/ba/bla), B-form (16:
// bc), XL-form (19: bclr, bcctr, bctar). AA (bit 30) selects an absolute
// target, LK (bit 31) a call.
InsnFacts classify_ppc(const cs_insn &insn, bool big_endian) {
    const uint8_t *b = insn.bytes;
    uint32_t w = big_endian ? (uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 | b[3])
                            : (uint32_t(b[3]) << 24 | uint32_t(b[2]) << 16 | uint32_t(b[1]) << 8 | b[0]);
    InsnFacts f;
    unsigned opcode = w >> 26;
    bool absolute = (w & 2) != 0;
    bool link = (w & 1) != 0;
    if (opcode == 18 || opcode == 16) {
        int64_t disp = opcode == 18 ? sign_extend(w & 0x03fffffc, 26) : sign_extend(w & 0xfffc, 16);
        f.flow = absolute ? Flow::absolute : Flow::direct;
        f.branch_target = absolute ? uint64_t(disp) : uint64_t(int64_t(insn.address) + disp);
    } else if (opcode == 19) {
        unsigned xo = (w >> 1) & 0x3ff;
        if (xo == 16) f.flow = link ? Flow::indirect : Flow::ret;  // bclrl calls through LR
        if (xo == 528 || xo == 560) f.flow = Flow::indirect;       // bcctr, bctar
    }
    return f;
}

// ---- s390x -------------------------------------------------------------------

int64_t s390_rel16(const cs_insn &insn) {
    const uint8_t *b = insn.bytes;
    return int64_t(insn.address) + 2 * sign_extend(uint64_t(b[2]) << 8 | b[3], 16);
}

int64_t s390_rel32(const cs_insn &insn) {
    const uint8_t *b = insn.bytes;
    uint64_t v = uint64_t(b[2]) << 24 | uint64_t(b[3]) << 16 | uint64_t(b[4]) << 8 | b[5];
    return int64_t(insn.address) + 2 * sign_extend(v, 32);
}

InsnFacts s390_direct(int64_t target) {
    InsnFacts f;
    f.flow = Flow::direct;
    f.branch_target = uint64_t(target);
    return f;
}

// z/Architecture branches by opcode (Principles of Operation): register
// forms branch to R2 unless R2 is 0 (BCR 0 or R2=0 do not branch); `br %r14`
// (BCR to r14, the ABI's return register) is the function return; RX forms
// branch to a computed address; the relative forms count halfwords.
InsnFacts classify_s390(const cs_insn &insn) {
    const uint8_t *b = insn.bytes;
    unsigned m1 = b[1] >> 4, r2 = b[1] & 0xf;
    InsnFacts f;
    switch (b[0]) {
    case 0x07:  // BCR
        if (m1 != 0 && r2 != 0) f.flow = r2 == 14 ? Flow::ret : Flow::indirect;
        return f;
    case 0x05: case 0x06: case 0x0b: case 0x0c: case 0x0d:  // BALR BCTR BSM BASSM BASR
        if (r2 != 0) f.flow = Flow::indirect;
        return f;
    case 0x47:  // BC
        if (m1 != 0) f.flow = Flow::indirect;
        return f;
    case 0x45: case 0x46: case 0x4d:  // BAL BCT BAS
        f.flow = Flow::indirect;
        return f;
    case 0xa7:  // BRC BRAS BRCT BRCTG
        if ((b[1] & 0xf) >= 4 && (b[1] & 0xf) <= 7) return s390_direct(s390_rel16(insn));
        return f;
    case 0x84: case 0x85:  // BRXH BRXLE
        return s390_direct(s390_rel16(insn));
    case 0xc0:  // LARL (0), BRCL (4), BRASL (5)
        if ((b[1] & 0xf) == 4 || (b[1] & 0xf) == 5) return s390_direct(s390_rel32(insn));
        if ((b[1] & 0xf) == 0) {
            f.has_data_ref = true;
            f.data_ref = s390_rel32(insn);
        }
        return f;
    case 0xc4: case 0xc6:  // the relative-long loads, stores, compares, EXRL, PFDRL
        f.has_data_ref = true;
        f.data_ref = s390_rel32(insn);
        return f;
    case 0xec:
        switch (b[5]) {
        case 0x44: case 0x45:                        // BRXHG BRXLG
        case 0x64: case 0x65: case 0x76: case 0x77:  // CGRJ CLGRJ CRJ CLRJ
        case 0x7c: case 0x7d: case 0x7e: case 0x7f:  // CGIJ CLGIJ CIJ CLIJ
            return s390_direct(s390_rel16(insn));
        case 0xe4: case 0xe5: case 0xf6: case 0xf7:  // CGRB CLGRB CRB CLRB
        case 0xfc: case 0xfd: case 0xfe: case 0xff:  // CGIB CLGIB CIB CLIB
            f.flow = Flow::indirect;
            return f;
        }
        return f;
    default:
        return f;
    }
}

InsnFacts classify(const CodeTarget &target, const cs_insn &insn, bool thumb) {
    switch (target.arch) {
    case CS_ARCH_X86: return classify_x86(insn);
    case CS_ARCH_ARM64: return classify_arm64(insn);
    case CS_ARCH_ARM: return classify_arm(insn, thumb);
    case CS_ARCH_PPC: return classify_ppc(insn, (target.mode & CS_MODE_BIG_ENDIAN) != 0);
    case CS_ARCH_SYSZ: return classify_s390(insn);
    default: return {};
    }
}

// ---- the sweep ---------------------------------------------------------------

// Instructions capstone 4.0.2 cannot decode although blob code contains
// them: s390x SVC (opcode 0x0a, 2 bytes), missing from capstone's SystemZ
// tables. It neither branches nor refers to data. Returns its length, or 0.
size_t capstone_gap_length(const CodeTarget &target, const unsigned char *p, size_t left) {
    if (target.arch == CS_ARCH_SYSZ && left >= 2 && p[0] == 0x0a) return 2;
    return 0;
}

// A capstone handle that closes itself.
class Decoder {
public:
    Decoder() = default;
    Decoder(const Decoder &) = delete;
    Decoder &operator=(const Decoder &) = delete;
    ~Decoder() {
        if (insn_) cs_free(insn_, 1);
        if (open_) cs_close(&handle_);
    }

    Status open(cs_arch arch, cs_mode mode) {
        if (cs_err e = cs_open(arch, mode, &handle_); e != CS_ERR_OK)
            return Error(std::string("capstone: ") + cs_strerror(e));
        open_ = true;
        cs_option(handle_, CS_OPT_DETAIL, CS_OPT_ON);
        insn_ = cs_malloc(handle_);
        return ok();
    }

    // Decodes the instruction at `offset`, or returns nullptr.
    const cs_insn *decode(const unsigned char *bytes, size_t end, uint64_t offset) {
        const uint8_t *p = bytes + offset;
        size_t left = end - offset;
        uint64_t address = offset;
        return cs_disasm_iter(handle_, &p, &left, &address, insn_) ? insn_ : nullptr;
    }

private:
    csh handle_ = 0;
    bool open_ = false;
    cs_insn *insn_ = nullptr;
};

enum class RangeKind { code, thumb, data };

struct Range {
    uint64_t begin, end;
    RangeKind kind;
};

// Splits [0, text_end) by the ARM/AArch64 mapping symbols; without any, the
// whole code part is code.
std::vector<Range> code_ranges(const Blob &blob, uint64_t text_end) {
    std::vector<std::pair<uint64_t, RangeKind>> marks;
    for (size_t i = 0; i < blob.symbol_count; ++i) {
        std::string_view n = blob.symbols[i].name;
        if (n == "$d") marks.emplace_back(blob.symbols[i].offset, RangeKind::data);
        if (n == "$a" || n == "$x") marks.emplace_back(blob.symbols[i].offset, RangeKind::code);
        if (n == "$t") marks.emplace_back(blob.symbols[i].offset, RangeKind::thumb);
    }
    std::stable_sort(marks.begin(), marks.end(), [](auto &a, auto &b) { return a.first < b.first; });
    std::vector<Range> out;
    uint64_t at = 0;
    RangeKind kind = RangeKind::code;
    for (const auto &[offset, next] : marks) {
        if (offset >= text_end) break;
        if (offset > at) out.push_back({at, offset, kind});
        at = std::max(at, offset);
        kind = next;
    }
    if (text_end > at) out.push_back({at, text_end, kind});
    return out;
}

class Sweep {
public:
    Sweep(const Blob &blob, const CodeTarget &target, uint64_t text_end)
        : blob_(blob), target_(target), text_end_(text_end) {}

    Status open() {
        switch (target_.arch) {
        case CS_ARCH_X86: case CS_ARCH_ARM64: case CS_ARCH_ARM: case CS_ARCH_PPC: case CS_ARCH_SYSZ:
            break;
        default:
            return Error("the blob checker has no rules for capstone architecture " + std::to_string(target_.arch));
        }
        STASIS_TRY(main_.open(target_.arch, target_.mode));
        if (target_.arch == CS_ARCH_ARM) STASIS_TRY(thumb_.open(CS_ARCH_ARM, CS_MODE_THUMB));
        return ok();
    }

    void run(const Range &r) {
        if (r.kind == RangeKind::data) return;
        bool thumb = r.kind == RangeKind::thumb;
        if (thumb && target_.arch != CS_ARCH_ARM) {
            problem(r.begin, "Thumb code ($t) in a blob for an architecture without Thumb");
            return;
        }
        Decoder &dec = thumb ? thumb_ : main_;
        uint64_t off = r.begin;
        while (off < r.end && problems_.size() < kMaxProblems) {
            const cs_insn *insn = dec.decode(blob_.bytes, r.end, off);
            if (!insn) {
                if (is_trap(off, r.end)) {
                    off += target_.trap_insn.size();
                    continue;
                }
                if (size_t len = capstone_gap_length(target_, blob_.bytes + off, r.end - off)) {
                    off += len;
                    continue;
                }
                problem(off, "bytes " + bytes_at(off, r.end) + " do not decode as instructions");
                return;  // the rest of the range is out of step
            }
            check(*insn, classify(target_, *insn, thumb));
            off += insn->size;
        }
    }

    const std::vector<std::string> &problems() const { return problems_; }
    void problem(uint64_t off, const std::string &what) { problems_.push_back("at " + hex(off) + ": " + what); }

private:
    static constexpr size_t kMaxProblems = 8;

    void check(const cs_insn &insn, const InsnFacts &f) {
        std::string text = std::string("`") + insn.mnemonic + (insn.op_str[0] ? " " : "") + insn.op_str + "`";
        switch (f.flow) {
        case Flow::indirect:
            problem(insn.address, "indirect branch or call " + text +
                                      " (calls through a PLT, GOT or function pointer look like this)");
            break;
        case Flow::absolute:
            problem(insn.address, "branch to the absolute address " + hex(f.branch_target) + " " + text);
            break;
        case Flow::direct:
            if (f.branch_target >= text_end_)
                problem(insn.address, text + " branches to " + hex(f.branch_target) +
                                          ", outside the blob's code [0, " + hex(text_end_) + ")");
            break;
        case Flow::none:
        case Flow::ret:
            break;
        }
        if (f.has_data_ref && (f.data_ref < 0 || uint64_t(f.data_ref) > blob_.size))
            problem(insn.address, text + " refers to " + hex(uint64_t(f.data_ref)) + ", outside the blob [0, " +
                                      hex(blob_.size) + "]");
        if (f.absolute_data) problem(insn.address, text + " uses an absolute data address");
    }

    bool is_trap(uint64_t off, uint64_t end) const {
        const auto &t = target_.trap_insn;
        return !t.empty() && end - off >= t.size() && std::equal(t.begin(), t.end(), blob_.bytes + off);
    }

    std::string bytes_at(uint64_t off, uint64_t end) const {
        std::string s;
        for (uint64_t i = off; i < std::min(end, off + 6); ++i) {
            char b[4];
            std::snprintf(b, sizeof b, "%02x", blob_.bytes[i]);
            s += (s.empty() ? "" : " ") + std::string(b);
        }
        return s;
    }

    const Blob &blob_;
    const CodeTarget &target_;
    uint64_t text_end_;
    Decoder main_, thumb_;
    std::vector<std::string> problems_;
};

std::string join(const std::vector<std::string> &parts) {
    std::string s;
    for (const auto &p : parts) s += (s.empty() ? "" : "; ") + p;
    return s;
}

}  // namespace

CodeTarget native_code_target() {
    return {arch::kCapstoneArch, arch::kCapstoneMode,
            std::span<const uint8_t>(arch::kBlobTrapInsn.data(), arch::kBlobTrapInsn.size())};
}

Status check_blob(const Blob &blob, const CodeTarget &target) {
    std::string name = std::string("blob ") + blob.name;
    if (blob.dynamic_relocations != 0)
        return Error(name + ": " + std::to_string(blob.dynamic_relocations) +
                     " dynamic relocation(s) left by the linker; nothing in the target would apply them "
                     "(an absolute address in initialised data, such as a table of pointers, causes this)");
    uint64_t text_end = blob.offset_of("pie_text_end");
    if (text_end == UINT64_MAX) return Error(name + ": no pie_text_end symbol (link with pie/blob.lds)");
    if (text_end > blob.size)
        return Error(name + ": pie_text_end " + hex(text_end) + " lies beyond the blob (" + hex(blob.size) + " bytes)");
    uint64_t entry = blob.offset_of("pie_entry");
    if (entry >= text_end) return Error(name + ": no pie_entry inside its code");

    Sweep sweep(blob, target, text_end);
    STASIS_TRY(sweep.open().context(name));
    for (const Range &r : code_ranges(blob, text_end)) sweep.run(r);
    if (!sweep.problems().empty()) return Error(name + ": " + join(sweep.problems()));
    return ok();
}

Status check_blob(const Blob &blob) { return check_blob(blob, native_code_target()); }

}  // namespace stasis::pie
