// The vDSO proxy code (arch/vdso_code.h) of the arch this build targets,
// checked by disassembling it with capstone and following what it does:
// where control goes, which registers it writes, which syscall it makes.
// The code is never run: it is written for addresses the test does not own.
#include "arch/vdso_code.h"

#include <capstone/capstone.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "arch_disasm.h"
#include "arch_regs.h"
#include "stasis_syscalls.h"

namespace stasis::arch {
namespace {

constexpr bool kArm = kCapstoneArch == CS_ARCH_ARM;
constexpr bool kBigEndian = (kCapstoneMode & CS_MODE_BIG_ENDIAN) != 0;
// Size of the target address the long trampolines load, and its alignment
// (x86 loads it unaligned just as fast; s390x's lgrl requires it aligned).
constexpr uint64_t kPointerSize = kArm ? 4 : 8;
constexpr uint64_t kLiteralAlign = kCapstoneArch == CS_ARCH_X86 ? 1 : kPointerSize;
// Entry addresses of code must be multiples of this (arm: ARM state).
constexpr uint64_t kCodeAlign = kCapstoneArch == CS_ARCH_X86 ? 1 : kCapstoneArch == CS_ARCH_SYSZ ? 2 : 4;
// Where the tests place code: in the address space of a 64-bit task, and
// below 4 GiB on arm.
constexpr uint64_t kBase = kArm ? 0x40000000 : 0x7f0000000000;

long syscall_number(std::string_view name) {
    for (const auto &s : sys::kNames)
        if (name == s.name) return s.nr;
    ADD_FAILURE() << "no syscall " << name << " in this arch's table";
    return -2;
}

// ---- following the code -------------------------------------------------------

// What a register holds while the code runs: a constant, or the value some
// register had at the entry.
struct Value {
    bool constant = false;
    uint64_t c = 0;
    unsigned entry_reg = 0;
};

// What code does, walked instruction by instruction from its entry. The
// generated code has no branch but its last one.
struct Walk {
    std::string listing;  // for failure messages
    std::string problem;  // set when something did not decode or is not understood
    size_t instructions = 0;
    bool left = false;      // control left the code (jump or return)
    bool jumped = false;    // ... to `target`
    bool relative = false;  // ... through a PC-relative branch
    uint64_t target = 0;    // arm: bit 0 set for Thumb state
    bool returned = false;
    bool syscall = false;
    long nr = -1;
    std::map<unsigned, Value> at_syscall;  // the registers the code had written when it made the syscall
    std::optional<uint64_t> literal;       // address of the data the code loads
    size_t literal_size = 0;
    std::map<unsigned, Value> regs;  // every register written, and its value now
    bool so_set = false;             // ppc64le: cr0.SO set by the code

    Value value(unsigned reg) const {
        auto it = regs.find(reg);
        if (it != regs.end()) return it->second;
        return Value{false, 0, reg};
    }
    void set_const(unsigned reg, uint64_t c) { regs[reg] = Value{true, c, 0}; }
    void set_unknown(unsigned reg) { regs[reg] = Value{false, 0, ~0u}; }
};

class Disassembler {
public:
    explicit Disassembler(bool thumb) {
        ok_ = cs_open(kCapstoneArch, cs_mode(kCapstoneMode | (thumb ? CS_MODE_THUMB : 0)), &handle_) ==
              CS_ERR_OK;
        if (!ok_) return;
        cs_option(handle_, CS_OPT_DETAIL, CS_OPT_ON);
        insn_ = cs_malloc(handle_);
    }
    Disassembler(const Disassembler &) = delete;
    Disassembler &operator=(const Disassembler &) = delete;
    ~Disassembler() {
        if (!ok_) return;
        cs_free(insn_, 1);
        cs_close(&handle_);
    }
    bool ok() const { return ok_; }
    // The instruction at code[off], which sits at `addr`; nullptr when those
    // bytes are no instruction.
    const cs_insn *decode(const std::vector<uint8_t> &code, size_t off, uint64_t addr) {
        const uint8_t *p = code.data() + off;
        size_t left = code.size() - off;
        if (!cs_disasm_iter(handle_, &p, &left, &addr, insn_)) return nullptr;
        return insn_;
    }

private:
    csh handle_{};
    cs_insn *insn_ = nullptr;
    bool ok_ = false;
};

uint64_t read_literal(const std::vector<uint8_t> &code, size_t off, size_t size) {
    uint64_t v = 0;
    for (size_t i = 0; i < size; ++i) {
        const uint8_t b = code[off + i];
        v = kBigEndian ? (v << 8) | b : v | (uint64_t(b) << (8 * i));
    }
    return v;
}

// Records a load of `size` bytes from `addr` into the walk; its value, or
// nullopt when it lies outside the code.
std::optional<uint64_t> load(Walk &w, const std::vector<uint8_t> &code, uint64_t entry, uint64_t addr,
                             size_t size) {
    if (addr < entry || addr + size > entry + code.size()) {
        w.problem = "load outside the code";
        return std::nullopt;
    }
    w.literal = addr;
    w.literal_size = size;
    return read_literal(code, addr - entry, size);
}

void jump(Walk &w, uint64_t target, bool relative) {
    w.left = w.jumped = true;
    w.target = target;
    w.relative = relative;
}

void enter_syscall(Walk &w, unsigned nr_reg) {
    const Value v = w.value(nr_reg);
    if (!v.constant) {
        w.problem = "syscall number not a constant";
        return;
    }
    w.syscall = true;
    w.nr = long(v.c);
    w.at_syscall = w.regs;
}

// Per-arch instruction semantics, for the instructions the proxy uses.
// Each returns false for an instruction it does not model.

bool step_x86(Walk &w, const cs_insn &i, const std::vector<uint8_t> &code, uint64_t entry) {
    const cs_x86 &x = i.detail->x86;
    auto canon = [](unsigned r) { return r == X86_REG_EAX ? unsigned(X86_REG_RAX) : r; };
    switch (i.id) {
    case X86_INS_JMP:
        if (x.op_count == 1 && x.operands[0].type == X86_OP_IMM) {
            jump(w, uint64_t(x.operands[0].imm), true);
            return true;
        }
        if (x.op_count == 1 && x.operands[0].type == X86_OP_MEM && x.operands[0].mem.base == X86_REG_RIP &&
            x.operands[0].mem.index == X86_REG_INVALID) {
            if (auto v = load(w, code, entry, i.address + i.size + x.operands[0].mem.disp, 8))
                jump(w, *v, false);
            return true;
        }
        return false;
    case X86_INS_MOV:
        if (x.op_count != 2 || x.operands[0].type != X86_OP_REG) return false;
        if (x.operands[1].type == X86_OP_REG)
            w.regs[canon(x.operands[0].reg)] = w.value(canon(x.operands[1].reg));
        else if (x.operands[1].type == X86_OP_IMM)
            // A 32-bit destination zero-extends; a 64-bit one takes the sign-extended immediate.
            w.set_const(canon(x.operands[0].reg),
                        x.operands[0].size == 4 ? uint32_t(x.operands[1].imm) : uint64_t(x.operands[1].imm));
        else
            return false;
        return true;
    case X86_INS_SYSCALL:
        enter_syscall(w, X86_REG_RAX);
        w.set_unknown(X86_REG_RAX);
        w.set_unknown(X86_REG_RCX);
        w.set_unknown(X86_REG_R11);
        return true;
    case X86_INS_RET: w.left = w.returned = true; return x.op_count == 0;
    default: return false;
    }
}

bool step_aarch64(Walk &w, const cs_insn &i, const std::vector<uint8_t> &code, uint64_t entry) {
    const cs_arm64 &a = i.detail->arm64;
    switch (i.id) {
    case ARM64_INS_B:
        if (a.cc != ARM64_CC_INVALID && a.cc != ARM64_CC_AL) return false;
        jump(w, uint64_t(a.operands[0].imm), true);
        return true;
    case ARM64_INS_LDR:
        if (a.op_count != 2 || a.operands[1].type != ARM64_OP_IMM) return false;
        if (auto v = load(w, code, entry, uint64_t(a.operands[1].imm), 8)) w.set_const(a.operands[0].reg, *v);
        return true;
    case ARM64_INS_BR: {
        const Value v = w.value(a.operands[0].reg);
        if (!v.constant) return false;
        jump(w, v.c, false);
        return true;
    }
    case ARM64_INS_MOVZ:
    case ARM64_INS_MOV:
        if (a.op_count != 2 || a.operands[1].type != ARM64_OP_IMM) return false;
        w.set_const(a.operands[0].reg, uint64_t(a.operands[1].imm) << a.operands[1].shift.value);
        return true;
    case ARM64_INS_MOVN:
        w.set_const(a.operands[0].reg, ~(uint64_t(a.operands[1].imm) << a.operands[1].shift.value));
        return true;
    case ARM64_INS_SVC:
        enter_syscall(w, ARM64_REG_X8);
        w.set_unknown(ARM64_REG_X0);
        return true;
    case ARM64_INS_RET:
        w.left = w.returned = true;
        return a.op_count == 0 || a.operands[0].reg == ARM64_REG_X30;
    default: return false;
    }
}

bool step_arm(Walk &w, const cs_insn &i, const std::vector<uint8_t> &code, uint64_t entry, bool thumb) {
    const cs_arm &a = i.detail->arm;
    if (a.cc != ARM_CC_INVALID && a.cc != ARM_CC_AL) return false;
    switch (i.id) {
    case ARM_INS_B:
        // A `b` never changes the state: ARM stays ARM.
        jump(w, uint64_t(uint32_t(a.operands[0].imm)) | (thumb ? 1 : 0), true);
        return true;
    case ARM_INS_LDR: {
        if (a.op_count != 2 || a.operands[0].reg != ARM_REG_PC || a.operands[1].type != ARM_OP_MEM ||
            a.operands[1].mem.base != ARM_REG_PC || a.operands[1].mem.index != ARM_REG_INVALID)
            return false;
        // pc reads as the instruction's address + 8 (ARM) or + 4 (Thumb); literals address from it 4-aligned.
        const uint64_t pc = (i.address + (thumb ? 4 : 8)) & ~uint64_t(3);
        const int32_t disp = a.operands[1].subtracted ? -a.operands[1].mem.disp : a.operands[1].mem.disp;
        if (auto v = load(w, code, entry, pc + disp, 4)) jump(w, *v, false);
        return true;
    }
    case ARM_INS_MOV:
        if (a.op_count != 2 || a.operands[0].type != ARM_OP_REG) return false;
        if (a.operands[1].type == ARM_OP_REG)
            w.regs[a.operands[0].reg] = w.value(a.operands[1].reg);
        else
            w.set_const(a.operands[0].reg, uint32_t(a.operands[1].imm));
        return true;
    case ARM_INS_MOVW: w.set_const(a.operands[0].reg, uint32_t(a.operands[1].imm)); return true;
    case ARM_INS_MVN:
        if (a.operands[1].type != ARM_OP_IMM) return false;
        w.set_const(a.operands[0].reg, uint32_t(~uint32_t(a.operands[1].imm)));
        return true;
    case ARM_INS_SVC:
        enter_syscall(w, ARM_REG_R7);
        w.set_unknown(ARM_REG_R0);
        return true;
    case ARM_INS_BX: w.left = w.returned = true; return a.operands[0].reg == ARM_REG_LR;
    default: return false;
    }
}

bool step_ppc(Walk &w, const cs_insn &i) {
    const cs_ppc &p = i.detail->ppc;
    auto imm16 = [&](int n) { return uint64_t(p.operands[n].imm) & 0xffff; };
    switch (i.id) {
    case PPC_INS_B: jump(w, uint64_t(p.operands[0].imm), true); return true;
    case PPC_INS_LIS: w.set_const(p.operands[0].reg, uint64_t(int64_t(int16_t(imm16(1)))) << 16); return true;
    case PPC_INS_LI: w.set_const(p.operands[0].reg, uint64_t(int64_t(int16_t(imm16(1))))); return true;
    case PPC_INS_ORI:
    case PPC_INS_ORIS: {
        const Value v = w.value(p.operands[1].reg);
        if (!v.constant) return false;
        w.set_const(p.operands[0].reg, v.c | (imm16(2) << (i.id == PPC_INS_ORIS ? 16 : 0)));
        return true;
    }
    case PPC_INS_SLDI: {
        // capstone 4 leaves the shift out of the operands; it ends op_str.
        const Value v = w.value(p.operands[1].reg);
        const char *comma = strrchr(i.op_str, ',');
        if (!v.constant || !comma) return false;
        w.set_const(p.operands[0].reg, v.c << strtoul(comma + 1, nullptr, 0));
        return true;
    }
    case PPC_INS_MTCTR: w.regs[PPC_REG_CTR] = w.value(p.operands[0].reg); return true;
    case PPC_INS_BCTR: {
        const Value v = w.value(PPC_REG_CTR);
        if (!v.constant) return false;
        jump(w, v.c, false);
        return true;
    }
    case PPC_INS_SC:
        enter_syscall(w, PPC_REG_R0);
        w.set_unknown(PPC_REG_R3);
        w.set_unknown(PPC_REG_CR0);
        return true;
    case PPC_INS_CRSET:
        // cr0.SO is condition register bit 3; capstone 4 prints the bit number.
        if (strcmp(i.op_str, "3") != 0) return false;
        w.so_set = true;
        w.set_unknown(PPC_REG_CR0);
        return true;
    case PPC_INS_BLR: w.left = w.returned = true; return true;
    default: return false;
    }
}

bool step_s390x(Walk &w, const cs_insn &i, const std::vector<uint8_t> &code, uint64_t entry) {
    const cs_sysz &s = i.detail->sysz;
    switch (i.id) {
    case SYSZ_INS_JG: jump(w, uint64_t(s.operands[0].imm), true); return true;
    case SYSZ_INS_LGRL:
        if (auto v = load(w, code, entry, uint64_t(s.operands[1].imm), 8)) w.set_const(s.operands[0].reg, *v);
        return true;
    case SYSZ_INS_LGHI: w.set_const(s.operands[0].reg, uint64_t(s.operands[1].imm)); return true;
    case SYSZ_INS_BR: {
        if (s.operands[0].reg == SYSZ_REG_14) {
            w.left = w.returned = true;
            return true;
        }
        const Value v = w.value(s.operands[0].reg);
        if (!v.constant) return false;
        jump(w, v.c, false);
        return true;
    }
    default: return false;
    }
}

bool is_nop(const cs_insn &i) {
    switch (kCapstoneArch) {
    case CS_ARCH_ARM64: return i.id == ARM64_INS_NOP;
    case CS_ARCH_ARM: return i.id == ARM_INS_NOP;
    case CS_ARCH_SYSZ: return i.id == SYSZ_INS_BCR && i.detail->sysz.operands[0].imm == 0;
    default: return false;
    }
}

// Follows `code` placed at `entry` (Thumb code when entry.thumb): every byte
// must be an instruction the walk understands, a padding no-op after control
// left, or the literal the code loads, which must end the code.
Walk walk(const std::vector<uint8_t> &code, CodeAddr entry) {
    Walk w;
    Disassembler d(entry.thumb);
    if (!d.ok()) {
        w.problem = "capstone does not open";
        return w;
    }
    size_t off = 0;
    while (off < code.size() && w.problem.empty()) {
        const uint64_t addr = entry.addr + off;
        if (w.left && w.literal && addr == *w.literal) {
            if (addr + w.literal_size != entry.addr + code.size()) w.problem = "bytes after the literal";
            off += w.literal_size;
            continue;
        }
        char line[256];
        // capstone 4.0.2's SystemZ tables lack SVC (0x0a, imm8).
        if (kCapstoneArch == CS_ARCH_SYSZ && code[off] == 0x0a && off + 2 <= code.size() && !w.left) {
            snprintf(line, sizeof line, "%#llx: svc %u\n", (unsigned long long)addr, code[off + 1]);
            w.listing += line;
            if (code[off + 1] != 0) w.set_const(SYSZ_REG_1, code[off + 1]);
            enter_syscall(w, SYSZ_REG_1);
            w.set_unknown(SYSZ_REG_2);
            ++w.instructions;
            off += 2;
            continue;
        }
        const cs_insn *i = d.decode(code, off, addr);
        if (!i) {
            w.problem = "undecodable bytes at +" + std::to_string(off);
            break;
        }
        snprintf(line, sizeof line, "%#llx: %s %s\n", (unsigned long long)addr, i->mnemonic, i->op_str);
        w.listing += line;
        off += i->size;
        if (w.left) {
            if (!is_nop(*i)) w.problem = std::string("not padding after control left: ") + i->mnemonic;
            continue;
        }
        ++w.instructions;
        bool understood = false;
        switch (kCapstoneArch) {
        case CS_ARCH_X86: understood = step_x86(w, *i, code, entry.addr); break;
        case CS_ARCH_ARM64: understood = step_aarch64(w, *i, code, entry.addr); break;
        case CS_ARCH_ARM: understood = step_arm(w, *i, code, entry.addr, entry.thumb); break;
        case CS_ARCH_PPC: understood = step_ppc(w, *i); break;
        case CS_ARCH_SYSZ: understood = step_s390x(w, *i, code, entry.addr); break;
        default: break;
        }
        if (!understood && w.problem.empty())
            w.problem = std::string("instruction not expected: ") + i->mnemonic;
    }
    if (w.problem.empty() && !w.left) w.problem = "control runs off the end of the code";
    return w;
}

// ---- what the proxy may touch --------------------------------------------------

// Registers a trampoline may write (besides the program counter).
std::set<unsigned> trampoline_scratch() {
    switch (kCapstoneArch) {
    case CS_ARCH_ARM64: return {ARM64_REG_X16, ARM64_REG_X17};
    case CS_ARCH_PPC: return {PPC_REG_R12, PPC_REG_CTR};
    case CS_ARCH_SYSZ: return {SYSZ_REG_1};
    default: return {};
    }
}

// The registers that carry a vDSO function's arguments, and the syscall
// registers each must arrive in.
std::vector<std::pair<unsigned, unsigned>> function_to_syscall_args() {
    switch (kCapstoneArch) {
    case CS_ARCH_X86:
        return {{X86_REG_RDI, X86_REG_RDI}, {X86_REG_RSI, X86_REG_RSI}, {X86_REG_RDX, X86_REG_RDX},
                {X86_REG_RCX, X86_REG_R10}, {X86_REG_R8, X86_REG_R8},   {X86_REG_R9, X86_REG_R9}};
    case CS_ARCH_ARM64:
        return {{ARM64_REG_X0, ARM64_REG_X0}, {ARM64_REG_X1, ARM64_REG_X1}, {ARM64_REG_X2, ARM64_REG_X2},
                {ARM64_REG_X3, ARM64_REG_X3}, {ARM64_REG_X4, ARM64_REG_X4}, {ARM64_REG_X5, ARM64_REG_X5}};
    case CS_ARCH_ARM:
        return {{ARM_REG_R0, ARM_REG_R0},
                {ARM_REG_R1, ARM_REG_R1},
                {ARM_REG_R2, ARM_REG_R2},
                {ARM_REG_R3, ARM_REG_R3}};
    case CS_ARCH_PPC:
        return {{PPC_REG_R3, PPC_REG_R3}, {PPC_REG_R4, PPC_REG_R4}, {PPC_REG_R5, PPC_REG_R5},
                {PPC_REG_R6, PPC_REG_R6}, {PPC_REG_R7, PPC_REG_R7}, {PPC_REG_R8, PPC_REG_R8}};
    case CS_ARCH_SYSZ:
        return {{SYSZ_REG_2, SYSZ_REG_2},
                {SYSZ_REG_3, SYSZ_REG_3},
                {SYSZ_REG_4, SYSZ_REG_4},
                {SYSZ_REG_5, SYSZ_REG_5},
                {SYSZ_REG_6, SYSZ_REG_6}};
    default: return {};
    }
}

// The register a vDSO function returns its value in.
unsigned return_reg() {
    switch (kCapstoneArch) {
    case CS_ARCH_X86: return X86_REG_RAX;
    case CS_ARCH_ARM64: return ARM64_REG_X0;
    case CS_ARCH_ARM: return ARM_REG_R0;
    case CS_ARCH_PPC: return PPC_REG_R3;
    default: return SYSZ_REG_2;
    }
}

// Registers a fallback may leave changed: the return value, the syscall
// number register and what the kernel or the ABI lets a call clobber.
std::set<unsigned> fallback_may_change() {
    switch (kCapstoneArch) {
    case CS_ARCH_X86: return {X86_REG_RAX, X86_REG_RCX, X86_REG_R10, X86_REG_R11};
    case CS_ARCH_ARM64: return {ARM64_REG_X0, ARM64_REG_X8};
    case CS_ARCH_ARM: return {ARM_REG_R0, ARM_REG_R12};  // r7 too, if restored
    case CS_ARCH_PPC: return {PPC_REG_R0, PPC_REG_R3, PPC_REG_CR0};
    default: return {SYSZ_REG_1, SYSZ_REG_2};
    }
}

std::string describe(const Walk &w) {
    return w.listing + (w.problem.empty() ? "" : "problem: " + w.problem + "\n");
}

// The walk left exactly for `to` and wrote only scratch registers.
void expect_reaches(const Walk &w, CodeAddr to) {
    ASSERT_TRUE(w.problem.empty()) << describe(w);
    EXPECT_TRUE(w.jumped) << describe(w);
    EXPECT_EQ(w.target, to.addr | (to.thumb ? 1 : 0)) << describe(w);
    const auto scratch = trampoline_scratch();
    for (const auto &[reg, value] : w.regs)
        EXPECT_TRUE(scratch.count(reg)) << "writes register " << reg << "\n" << describe(w);
}

Result<std::vector<uint8_t>> trampoline(CodeAddr from, CodeAddr to) { return vdso_trampoline(from, to, 64); }

// Entry addresses of each alignment class of this arch's code, near kBase.
std::vector<uint64_t> entries() {
    switch (kCapstoneArch) {
    case CS_ARCH_X86: return {kBase, kBase + 1, kBase + 3, kBase + 7};
    case CS_ARCH_ARM64:
    case CS_ARCH_PPC: return {kBase, kBase + 4};  // 0 and 4 mod 8
    case CS_ARCH_SYSZ: return {kBase, kBase + 2, kBase + 4, kBase + 6};
    default: return {kBase};  // ARM state; Thumb has its own test
    }
}

// ---- trampolines ------------------------------------------------------------------

TEST(VdsoTrampoline, NearReachesTargetWithOneRelativeBranch) {
    for (uint64_t from : entries())
        for (int64_t distance :
             {int64_t(kCodeAlign * 4), int64_t(0x100000), int64_t(-0x100000), -int64_t(kCodeAlign * 2)}) {
            const CodeAddr f{from}, t{from + distance};
            auto code = trampoline(f, t);
            ASSERT_TRUE(code.ok()) << code.error().message();
            const Walk w = walk(*code, f);
            SCOPED_TRACE(vdso_hex(from) + " -> " + vdso_hex(t.addr));
            expect_reaches(w, t);
            EXPECT_TRUE(w.relative) << describe(w);
            EXPECT_EQ(w.instructions, 1u) << describe(w);
            EXPECT_FALSE(w.literal) << describe(w);
        }
}

TEST(VdsoTrampoline, AtTheReachEdgeStillOneRelativeBranch) {
    const uint64_t reach = vdso_branch_reach() / kCodeAlign * kCodeAlign;
    for (uint64_t from : entries())
        for (bool forward : {true, false}) {
            const CodeAddr f{from}, t{forward ? from + reach : from - reach};
            auto code = trampoline(f, t);
            ASSERT_TRUE(code.ok()) << code.error().message();
            const Walk w = walk(*code, f);
            SCOPED_TRACE(vdso_hex(from) + " -> " + vdso_hex(t.addr));
            expect_reaches(w, t);
            EXPECT_TRUE(w.relative) << describe(w);
            EXPECT_EQ(w.instructions, 1u) << describe(w);
        }
}

// Just past the reach the relative form may still fit (the PC it counts
// from is not the entry on every arch); either way the target is reached.
TEST(VdsoTrampoline, JustBeyondReachStillReachesTarget) {
    const uint64_t reach = vdso_branch_reach() / kCodeAlign * kCodeAlign;
    for (uint64_t from : entries())
        for (uint64_t beyond = kCodeAlign; beyond <= 16; beyond += kCodeAlign)
            for (bool forward : {true, false}) {
                const CodeAddr f{from}, t{forward ? from + reach + beyond : from - reach - beyond};
                auto code = trampoline(f, t);
                ASSERT_TRUE(code.ok()) << code.error().message();
                SCOPED_TRACE(vdso_hex(from) + " -> " + vdso_hex(t.addr));
                expect_reaches(walk(*code, f), t);
            }
}

TEST(VdsoTrampoline, BeyondReachUsesAbsoluteFormAndReachesTarget) {
    const uint64_t far = vdso_branch_reach() * 4 / kCodeAlign * kCodeAlign;
    std::vector<std::pair<uint64_t, uint64_t>> cases;
    for (uint64_t from : entries()) {
        cases.push_back({from, from + far});
        cases.push_back({from, from - far});
    }
    if (!kArm) {
        // Targets whose 16-bit pieces have their top bits set (ppc64le
        // builds them with sign-extending instructions) and low ones.
        cases.push_back({kBase, 0x7fff8000fff8});
        cases.push_back({kBase + 4, 0xffff8000});
        cases.push_back({kBase, 0x10000});
    }
    for (const auto &[from, to] : cases) {
        const CodeAddr f{from}, t{to};
        auto code = trampoline(f, t);
        ASSERT_TRUE(code.ok()) << code.error().message();
        const Walk w = walk(*code, f);
        SCOPED_TRACE(vdso_hex(from) + " -> " + vdso_hex(to));
        expect_reaches(w, t);
        EXPECT_FALSE(w.relative) << describe(w);
        if (w.literal) {
            EXPECT_EQ(w.literal_size, kPointerSize);
            EXPECT_EQ(*w.literal % kLiteralAlign, 0u) << "literal misaligned\n" << describe(w);
        }
    }
}

TEST(VdsoTrampoline, RefusesWhenRoomTooSmall) {
    const uint64_t far = vdso_branch_reach() * 4 / kCodeAlign * kCodeAlign;
    for (uint64_t distance : {uint64_t(0x1000), far}) {
        const CodeAddr f{kBase}, t{kBase + distance};
        auto code = trampoline(f, t);
        ASSERT_TRUE(code.ok()) << code.error().message();
        const size_t need = code->size();
        auto exact = vdso_trampoline(f, t, need);
        ASSERT_TRUE(exact.ok()) << exact.error().message();
        EXPECT_EQ(*exact, *code);
        auto tight = vdso_trampoline(f, t, need - 1);
        ASSERT_FALSE(tight.ok());
        EXPECT_NE(tight.error().message().find(std::to_string(need)), std::string::npos)
            << tight.error().message();
        EXPECT_NE(tight.error().message().find(std::to_string(need - 1)), std::string::npos)
            << tight.error().message();
    }
}

TEST(VdsoTrampoline, RefusesMisalignedCode) {
    if (kCodeAlign == 1) GTEST_SKIP() << "x86 code has no alignment";
    EXPECT_FALSE(trampoline(CodeAddr{kBase + 1}, CodeAddr{kBase + 0x1000}).ok());
    EXPECT_FALSE(trampoline(CodeAddr{kBase}, CodeAddr{kBase + 0x1001}).ok());
}

TEST(VdsoTrampoline, ThumbEntryGetsThumbCodeWhateverTheAlignment) {
    if (!kArm) GTEST_SKIP() << "Thumb is arm only";
    for (uint64_t from : {kBase, kBase + 2})
        for (int64_t distance :
             {int64_t(0x1000), int64_t(-0x1002), int64_t(0x10000000), int64_t(-0x10000002)})
            for (bool thumb_target : {true, false}) {
                const CodeAddr f{from, true};
                const CodeAddr t{(from + distance) & ~uint64_t(thumb_target ? 1 : 3), thumb_target};
                auto code = trampoline(f, t);
                ASSERT_TRUE(code.ok()) << code.error().message();
                const Walk w = walk(*code, f);
                SCOPED_TRACE(vdso_hex(from) + " -> " + vdso_hex(t.addr) +
                             (thumb_target ? " (Thumb)" : " (ARM)"));
                expect_reaches(w, t);
                ASSERT_TRUE(w.literal) << describe(w);
                EXPECT_EQ(*w.literal % 4, 0u) << describe(w);
            }
}

TEST(VdsoTrampoline, ArmEntryToThumbTargetSwitchesState) {
    if (!kArm) GTEST_SKIP() << "Thumb is arm only";
    for (int64_t distance : {int64_t(0x1000), int64_t(-0x1002)}) {
        const CodeAddr f{kBase}, t{kBase + distance, true};
        auto code = trampoline(f, t);
        ASSERT_TRUE(code.ok()) << code.error().message();
        const Walk w = walk(*code, f);
        expect_reaches(w, t);
        EXPECT_FALSE(w.relative) << "a `b` cannot change state\n" << describe(w);
    }
}

// ---- fallbacks --------------------------------------------------------------------

// The vDSO functions of this arch and the syscall each stands for.
std::vector<std::pair<std::string, std::string>> vdso_functions() {
    const std::string arch = kArchName;
    if (arch == "x86_64")
        return {{"__vdso_clock_gettime", "clock_gettime"},
                {"clock_gettime", "clock_gettime"},
                {"__vdso_gettimeofday", "gettimeofday"},
                {"gettimeofday", "gettimeofday"},
                {"__vdso_time", "time"},
                {"time", "time"},
                {"__vdso_getcpu", "getcpu"},
                {"getcpu", "getcpu"},
                {"__vdso_clock_getres", "clock_getres"},
                {"__vdso_getrandom", "getrandom"}};
    if (arch == "aarch64")
        return {{"__kernel_clock_gettime", "clock_gettime"},
                {"__kernel_gettimeofday", "gettimeofday"},
                {"__kernel_clock_getres", "clock_getres"},
                {"__kernel_getrandom", "getrandom"}};
    if (arch == "arm")
        return {{"__vdso_clock_gettime", "clock_gettime"},
                {"__vdso_clock_gettime64", "clock_gettime64"},
                {"__vdso_gettimeofday", "gettimeofday"},
                {"__vdso_clock_getres", "clock_getres"}};
    if (arch == "ppc64le")
        return {{"__kernel_clock_gettime", "clock_gettime"},
                {"__kernel_gettimeofday", "gettimeofday"},
                {"__kernel_clock_getres", "clock_getres"},
                {"__kernel_time", "time"},
                {"__kernel_getcpu", "getcpu"},
                {"__kernel_getrandom", "getrandom"}};
    return {{"__kernel_clock_gettime", "clock_gettime"},
            {"__kernel_gettimeofday", "gettimeofday"},
            {"__kernel_clock_getres", "clock_getres"},
            {"__kernel_getcpu", "getcpu"},
            {"__kernel_getrandom", "getrandom"}};
}

std::vector<CodeAddr> fallback_entries() {
    std::vector<CodeAddr> out;
    for (uint64_t e : entries()) out.push_back({e});
    if (kArm) {
        out.push_back({kBase, true});
        out.push_back({kBase + 2, true});
    }
    return out;
}

// The walk returned to the caller, having changed only what a vDSO call may.
void expect_returns_like_a_vdso_function(const Walk &w) {
    ASSERT_TRUE(w.problem.empty()) << describe(w);
    EXPECT_TRUE(w.returned) << describe(w);
    const auto may = fallback_may_change();
    for (const auto &[reg, value] : w.regs) {
        const bool restored = !value.constant && value.entry_reg == reg;
        EXPECT_TRUE(may.count(reg) || restored) << "changes register " << reg << "\n" << describe(w);
    }
}

TEST(VdsoFallback, NamedFunctionsMapToTheirSyscalls) {
    for (const auto &[function, syscall] : vdso_functions())
        EXPECT_EQ(vdso_fallback_syscall(function), syscall_number(syscall)) << function;
}

TEST(VdsoFallback, VersionedNameIsLookedUpWithoutItsVersion) {
    const auto functions = vdso_functions();
    const auto &[function, syscall] = functions.front();
    EXPECT_EQ(vdso_fallback_syscall(function + "@LINUX_2.6"), syscall_number(syscall));
}

TEST(VdsoFallback, UnknownNameHasNoFallback) {
    std::set<std::string> own;
    for (const auto &[function, syscall] : vdso_functions()) own.insert(function);
    // Other arches' names, near misses and vDSO functions with no syscall.
    for (const char *name :
         {"__kernel_clock_gettime", "__vdso_clock_gettime", "__vdso_clock_gettime64", "__kernel_time",
          "__vdso_getcpu", "__kernel_getcpu", "__vdso_time", "__kernel_getrandom", "",
          "__vdso_sgx_enter_enclave", "__kernel_rt_sigreturn", "__kernel_sync_dicache",
          "__kernel_clock_gettime_", "clock_gettime64", "__vdso_clock_gettimeofday"})
        if (!own.count(name)) {
            EXPECT_EQ(vdso_fallback_syscall(name), -1) << name;
        }
}

TEST(VdsoFallback, FallbackMakesTheNamedSyscall) {
    const auto args = function_to_syscall_args();
    for (const auto &[function, syscall] : vdso_functions())
        for (CodeAddr at : fallback_entries()) {
            const long nr = vdso_fallback_syscall(function);
            auto code = vdso_fallback(at, nr, 64);
            ASSERT_TRUE(code.ok()) << code.error().message();
            const Walk w = walk(*code, at);
            SCOPED_TRACE(function + " at " + vdso_hex(at.addr) + (at.thumb ? " (Thumb)" : ""));
            expect_returns_like_a_vdso_function(w);
            EXPECT_TRUE(w.syscall) << describe(w);
            EXPECT_EQ(w.nr, syscall_number(syscall)) << describe(w);
            // Each argument reaches the syscall in its register unchanged.
            for (const auto &[function_reg, syscall_reg] : args) {
                auto it = w.at_syscall.find(syscall_reg);
                const bool untouched = it == w.at_syscall.end() && function_reg == syscall_reg;
                const bool copied =
                    it != w.at_syscall.end() && !it->second.constant && it->second.entry_reg == function_reg;
                EXPECT_TRUE(untouched || copied) << "argument register " << function_reg << "\n"
                                                 << describe(w);
            }
        }
}

TEST(VdsoFallback, MissingSyscallReturnsEnosysWithoutSyscall) {
    for (CodeAddr at : fallback_entries()) {
        auto code = vdso_fallback(at, -1, 64);
        ASSERT_TRUE(code.ok()) << code.error().message();
        const Walk w = walk(*code, at);
        SCOPED_TRACE(vdso_hex(at.addr) + (at.thumb ? " (Thumb)" : ""));
        expect_returns_like_a_vdso_function(w);
        EXPECT_FALSE(w.syscall) << describe(w);
        const Value ret = w.value(return_reg());
        ASSERT_TRUE(ret.constant) << describe(w);
        if (kCapstoneArch == CS_ARCH_PPC) {
            // Like `sc` failing: positive errno, cr0.SO set.
            EXPECT_EQ(ret.c, uint64_t(ENOSYS)) << describe(w);
            EXPECT_TRUE(w.so_set) << describe(w);
        } else if (kArm) {
            EXPECT_EQ(int32_t(ret.c), -ENOSYS) << describe(w);
        } else {
            EXPECT_EQ(int64_t(ret.c), -ENOSYS) << describe(w);
        }
    }
}

TEST(VdsoFallback, RefusesWhenRoomTooSmall) {
    const long nr = vdso_fallback_syscall(vdso_functions().front().first);
    for (CodeAddr at : fallback_entries())
        for (long n : {nr, -1L}) {
            auto code = vdso_fallback(at, n, 64);
            ASSERT_TRUE(code.ok()) << code.error().message();
            EXPECT_TRUE(vdso_fallback(at, n, code->size()).ok());
            auto tight = vdso_fallback(at, n, code->size() - 1);
            ASSERT_FALSE(tight.ok());
            EXPECT_NE(tight.error().message().find(std::to_string(code->size())), std::string::npos)
                << tight.error().message();
        }
}

}  // namespace
}  // namespace stasis::arch
