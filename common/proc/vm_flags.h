// The two-letter "VmFlags:" codes of /proc/PID/smaps as a bitmask.
//
// Documentation/filesystems/proc.rst lists the codes and warns that flags
// come and go between kernel releases; the bit values below are ours (not
// the kernel's VM_* values, which differ per architecture and version).
// A code this table does not know sets VmFlag::unrecognized and is kept in
// Mapping::vm_flags_text.
#pragma once

#include <cstdint>
#include <string_view>

namespace stasis::proc {

enum class VmFlag : uint64_t {
    readable = 1ull << 0,          // rd
    writable = 1ull << 1,          // wr
    executable = 1ull << 2,        // ex
    shared = 1ull << 3,            // sh
    may_read = 1ull << 4,          // mr
    may_write = 1ull << 5,         // mw
    may_execute = 1ull << 6,       // me
    may_share = 1ull << 7,         // ms
    grows_down = 1ull << 8,        // gd: stack segment grows down
    pfn_map = 1ull << 9,           // pf: pure PFN range
    deny_write = 1ull << 10,       // dw: writes to the mapped file denied (old kernels)
    locked = 1ull << 11,           // lo: pages locked in memory
    io = 1ull << 12,               // io: memory-mapped I/O area
    sequential_read = 1ull << 13,  // sr: MADV_SEQUENTIAL
    random_read = 1ull << 14,      // rr: MADV_RANDOM
    dont_copy = 1ull << 15,        // dc: MADV_DONTFORK
    dont_expand = 1ull << 16,      // de: not expanded by mremap
    accountable = 1ull << 17,      // ac
    no_reserve = 1ull << 18,       // nr: MAP_NORESERVE
    hugetlb = 1ull << 19,          // ht: hugetlbfs pages
    sync_fault = 1ull << 20,       // sf: MAP_SYNC
    non_linear = 1ull << 21,       // nl: remap_file_pages (removed in 4.0)
    arch_specific = 1ull << 22,    // ar
    wipe_on_fork = 1ull << 23,     // wf: MADV_WIPEONFORK
    dont_dump = 1ull << 24,        // dd: MADV_DONTDUMP
    soft_dirty = 1ull << 25,       // sd
    mixed_map = 1ull << 26,        // mm
    huge_page = 1ull << 27,        // hg: MADV_HUGEPAGE
    no_huge_page = 1ull << 28,     // nh: MADV_NOHUGEPAGE
    mergeable = 1ull << 29,        // mg: MADV_MERGEABLE (KSM)
    arm64_bti = 1ull << 30,        // bt: arm64 BTI guarded page
    arm64_mte = 1ull << 31,        // mt: arm64 MTE tags enabled
    uffd_missing = 1ull << 32,     // um: userfaultfd missing-page tracking
    uffd_wp = 1ull << 33,          // uw: userfaultfd write-protect tracking
    uffd_minor = 1ull << 34,       // ui: userfaultfd minor-fault tracking
    shadow_stack = 1ull << 35,     // ss: shadow stack / guarded control stack
    sealed = 1ull << 36,           // sl: mseal(2)
    lock_on_fault = 1ull << 37,    // lf: MLOCK_ONFAULT
    droppable = 1ull << 38,        // dp: MAP_DROPPABLE
    guard_regions = 1ull << 39,    // gu: may contain MADV_GUARD_INSTALL regions
    mpx = 1ull << 40,              // mp: x86 MPX bounds table (removed in 5.6)
    unrecognized = 1ull << 63,     // a code this table does not know
};

constexpr uint64_t operator|(VmFlag a, VmFlag b) {
    return static_cast<uint64_t>(a) | static_cast<uint64_t>(b);
}
constexpr uint64_t operator|(uint64_t a, VmFlag b) { return a | static_cast<uint64_t>(b); }
constexpr bool has_vm_flag(uint64_t mask, VmFlag f) { return (mask & static_cast<uint64_t>(f)) != 0; }

// The flag of one two-letter code; VmFlag::unrecognized for any other text.
VmFlag vm_flag_from_code(std::string_view code);
// The two-letter code of one flag ("" for unrecognized or a combination).
std::string_view vm_flag_code(VmFlag flag);

// Parses the value of a "VmFlags:" line ("rd wr mr mw me ac sd ").
uint64_t parse_vm_flags(std::string_view text);

}  // namespace stasis::proc
