// The vDSO proxy (seed 004, issue 9): how a process dumped with one
// kernel's vDSO runs on a kernel whose vDSO differs.
//
// The process's libc holds pointers into the old vDSO at the old address.
// The restore moves this kernel's vDSO and vvar areas (together, keeping
// their relative offsets: the vDSO reaches vvar PC-relatively) to a free
// place, preferably within short-branch reach, and maps at the old vDSO's
// address a copy of the old vDSO image in which every exported function's
// entry is overwritten:
//   - with a trampoline into the same symbol of this kernel's vDSO;
//   - where this kernel lacks the symbol, with a trampoline into a fallback
//     that makes the real syscall (or returns ENOSYS where there is none),
//     put in the copy's zero tail, past every ELF part (fallback_stubs_at);
//   - signal-return and syscall-restart trampolines (…sigreturn,
//     …sigtramp…, …restart_syscall) keep their own code: it is a
//     position-independent syscall, and unwinders recognise it by its bytes.
// The ELF headers, symbol tables and unwind tables of the copy stay intact,
// so dladdr() and backtrace() still see the symbols the process knew.
// The old vvar addresses get zero-filled read-only pages (no trampoline
// reads them; old code a thread might still be inside finds no clock
// source there and takes its syscall fallback). The last of them ends with
// a ProxyMark, by which a later dump recognises the proxy and records the
// original vDSO instead, so that a proxy never nests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/proc/maps.h"
#include "common/util/result.h"
#include "images/vdso.pb.h"

namespace stasis::vdso {

// In the target's byte order (the same arch dumps it again).
struct ProxyMark {
    static constexpr char kMagic[16] = "stasis vdso pxy";
    static constexpr uint32_t kVersion = 1;
    static constexpr uint32_t kMaxAreas = 8;
    struct Area {
        uint32_t kind;  // images::VmaKind
        uint32_t pad;
        uint64_t start, end;
    };
    char magic[16];
    uint32_t version;
    uint32_t nr_areas;
    Area areas[kMaxAreas];  // the areas the proxy stands in for, the vDSO among them
};

// Where the mark sits in an area ending at `end`.
inline uint64_t mark_address(uint64_t end) { return (end - sizeof(ProxyMark)) & ~uint64_t(7); }

// One mapping the restorer creates for the proxy: private anonymous memory
// with `prot`, filled from `bytes` at `offset`.
struct ProxyMapping {
    images::VmaKind stands_for;
    uint64_t start = 0, end = 0;
    uint32_t prot = 0;
    uint64_t offset = 0;
};

struct Proxy {
    std::vector<uint8_t> bytes;  // the contents of every mapping, back to back
    std::vector<ProxyMapping> mappings;
    unsigned trampolines = 0, fallbacks = 0, kept = 0;
    std::vector<std::string> missing;  // symbols this kernel lacks (served by fallbacks)
};

// The proxy of the dumped vDSO `saved` (its areas and image) on a kernel
// whose vDSO image is `current_image`, moved to `current_vdso_at`. Errors
// name the symbol that cannot be served. `only_fallbacks` (a test knob)
// serves every function by its syscall fallback, as if this kernel's vDSO
// had none of them.
Result<Proxy> build_proxy(const images::VdsoInfo &saved, const std::string &current_image, uint64_t current_vdso_at,
                          uint64_t page_size, bool only_fallbacks = false);

// Dump: when the mappings show a stasis proxy (an anonymous read-only
// mapping ending with a ProxyMark whose areas all exist as anonymous
// private mappings), renames the proxy's mappings to the areas they stand
// for and drops the kernel's own vDSO/vvar areas behind it, so that
// describe_process() and the memory dump see the original layout. Returns
// whether a proxy was found.
Result<bool> adopt_proxy(pid_t pid, std::vector<proc::Mapping> &maps);
// The same with the mark find_proxy_mark() found since the freeze.
bool adopt_proxy(const std::optional<ProxyMark> &mark, std::vector<proc::Mapping> &maps);

// The mark of a stasis proxy among the mappings (checked against them), or
// none. It reads the tail of every small read-only anonymous mapping: a
// dump looks once per process, at the freeze, and hands the answer on.
Result<std::optional<ProxyMark>> find_proxy_mark(pid_t pid, const std::vector<proc::Mapping> &maps);

// The kernel areas a proxy stands in for: [vdso], [vvar], [vvar_vclock].
inline bool stands_in_proxy(images::VmaKind k) {
    return k == images::VMA_VDSO || k == images::VMA_VVAR || k == images::VMA_VVAR_VCLOCK;
}

// Signal-return and syscall-restart code (…sigreturn, …sigtramp…,
// …restart_syscall), which a proxy keeps byte for byte.
bool keeps_own_code(std::string_view name);

// Dump, before adopt_proxy(): on a proxy, where this kernel's vDSO (behind
// the proxy) has signal-return code and where the proxy's copy of the
// original vDSO has the same, as translations. A handler that runs at the
// dump returns through this kernel's (the kernel put that address in its
// link register), which a restore on another kernel does not map; the
// copy's is mapped wherever the original vDSO is. Empty when the process
// is not on a proxy.
struct ReturnTwin {
    uint64_t from = 0, len = 0;  // in this kernel's vDSO
    uint64_t to = 0;             // the same code in the copy
};
Result<std::vector<ReturnTwin>> signal_return_twins(pid_t pid, const std::vector<proc::Mapping> &maps,
                                                    const std::optional<ProxyMark> &mark);

// Where vDSO code runs in a process: its [vdso] and, on a proxy, the
// proxy's copy of the old one (the dump steps threads out of them).
std::vector<std::pair<uint64_t, uint64_t>> code_ranges(const std::vector<proc::Mapping> &maps,
                                                       const std::optional<ProxyMark> &mark);

// Where the syscall fallbacks go in a copy of `image`: past its last
// non-zero byte (every ELF part: no unwind table covers it), 16-aligned
// with a 16-byte gap. An unwinder interrupted there finds no frame
// description and stops, where one at a function's entry would apply that
// function's (to code that is not its) and follow garbage. Returns the
// image size when there is no such room.
uint64_t fallback_stubs_at(const std::string &image);

// The name /proc/PID/maps gives an area of this kind ("[vvar]").
std::string area_name(images::VmaKind kind);

}  // namespace stasis::vdso
