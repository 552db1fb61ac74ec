#include "common/proc/vm_flags.h"

#include <array>

#include "common/proc/text.h"

namespace stasis::proc {
namespace {

struct CodeAndFlag {
    char code[3];
    VmFlag flag;
};

constexpr CodeAndFlag kCodes[] = {
    {"rd", VmFlag::readable},
    {"wr", VmFlag::writable},
    {"ex", VmFlag::executable},
    {"sh", VmFlag::shared},
    {"mr", VmFlag::may_read},
    {"mw", VmFlag::may_write},
    {"me", VmFlag::may_execute},
    {"ms", VmFlag::may_share},
    {"gd", VmFlag::grows_down},
    {"pf", VmFlag::pfn_map},
    {"dw", VmFlag::deny_write},
    {"lo", VmFlag::locked},
    {"io", VmFlag::io},
    {"sr", VmFlag::sequential_read},
    {"rr", VmFlag::random_read},
    {"dc", VmFlag::dont_copy},
    {"de", VmFlag::dont_expand},
    {"ac", VmFlag::accountable},
    {"nr", VmFlag::no_reserve},
    {"ht", VmFlag::hugetlb},
    {"sf", VmFlag::sync_fault},
    {"nl", VmFlag::non_linear},
    {"ar", VmFlag::arch_specific},
    {"wf", VmFlag::wipe_on_fork},
    {"dd", VmFlag::dont_dump},
    {"sd", VmFlag::soft_dirty},
    {"mm", VmFlag::mixed_map},
    {"hg", VmFlag::huge_page},
    {"nh", VmFlag::no_huge_page},
    {"mg", VmFlag::mergeable},
    {"bt", VmFlag::arm64_bti},
    {"mt", VmFlag::arm64_mte},
    {"um", VmFlag::uffd_missing},
    {"uw", VmFlag::uffd_wp},
    {"ui", VmFlag::uffd_minor},
    {"ss", VmFlag::shadow_stack},
    {"sl", VmFlag::sealed},
    {"lf", VmFlag::lock_on_fault},
    {"dp", VmFlag::droppable},
    {"gu", VmFlag::guard_regions},
    {"mp", VmFlag::mpx},
};

constexpr size_t kLetters = 26;

constexpr int slot_of(char a, char b) {
    if (a < 'a' || a > 'z' || b < 'a' || b > 'z') return -1;
    return (a - 'a') * static_cast<int>(kLetters) + (b - 'a');
}

// Index+1 into kCodes for every two-lowercase-letter code (0: unknown), so a
// lookup is one array access: smaps of a big process has ~10 codes per VMA.
constexpr std::array<uint8_t, kLetters * kLetters> make_slots() {
    std::array<uint8_t, kLetters * kLetters> slots{};
    for (size_t i = 0; i < std::size(kCodes); ++i) {
        slots[static_cast<size_t>(slot_of(kCodes[i].code[0], kCodes[i].code[1]))] =
            static_cast<uint8_t>(i + 1);
    }
    return slots;
}

constexpr auto kSlots = make_slots();

}  // namespace

VmFlag vm_flag_from_code(std::string_view code) {
    if (code.size() != 2) return VmFlag::unrecognized;
    int slot = slot_of(code[0], code[1]);
    if (slot < 0 || kSlots[static_cast<size_t>(slot)] == 0) return VmFlag::unrecognized;
    return kCodes[kSlots[static_cast<size_t>(slot)] - 1].flag;
}

std::string_view vm_flag_code(VmFlag flag) {
    for (const auto &c : kCodes) {
        if (c.flag == flag) return std::string_view(c.code, 2);
    }
    return {};
}

uint64_t parse_vm_flags(std::string_view text) {
    uint64_t mask = 0;
    for (;;) {
        std::string_view code = text::next_token(text);
        if (code.empty()) break;
        mask |= static_cast<uint64_t>(vm_flag_from_code(code));
    }
    return mask;
}

}  // namespace stasis::proc
