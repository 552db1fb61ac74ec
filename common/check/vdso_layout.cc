// The kernel's special mappings of this process ([vdso], [vvar],
// [vvar_vclock], [sigpage], [vectors], [vsyscall], [uprobes]) in address
// order, and the symbols of its [vdso]. Layouts differ by kernel release and
// architecture (6.13 added [vvar_vclock] between [vvar] and [vdso] on
// x86_64; arm has [sigpage] and [vectors]), so they are discovered by name
// and never assumed.
#include <sys/auxv.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

#include "common/check/check.h"
#include "common/util/log.h"

namespace stasis::check {
namespace {

// Mappings the kernel installs itself; dump and restore treat each by name.
constexpr std::array<std::string_view, 7> kSpecial = {"[vdso]",    "[vvar]",    "[vvar_vclock]", "[vsyscall]",
                                                      "[sigpage]", "[vectors]", "[uprobes]"};

// Bracketed names that are ordinary memory to stasis.
bool is_ordinary_bracketed(std::string_view name) {
    return name == "[heap]" || name == "[stack]" || name.starts_with("[anon:") ||  // PR_SET_VMA names (5.17)
           name.starts_with("[anon_shmem:") ||                                     // named shmem (6.2)
           name.starts_with("[stack:");                                            // thread stacks before 4.5
}

bool parse_hex(std::string_view text, uint64_t &out) {
    auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), out, 16);
    return err == std::errc() && end == text.data() + text.size() && !text.empty();
}

bool parse_range(std::string_view text, uint64_t &start, uint64_t &end) {
    const size_t dash = text.find('-');
    if (dash == std::string_view::npos) return false;
    return parse_hex(text.substr(0, dash), start) && parse_hex(text.substr(dash + 1), end) && start < end;
}

// The pathname column: everything after the fifth field.
std::string_view name_column(std::string_view line) {
    size_t at = 0;
    for (int field = 0; field < 5; field++) {
        at = line.find_first_not_of(' ', at);
        if (at == std::string_view::npos) return {};
        at = line.find(' ', at);
        if (at == std::string_view::npos) return {};
    }
    at = line.find_first_not_of(' ', at);
    return at == std::string_view::npos ? std::string_view() : line.substr(at);
}

std::string read_file(const char *path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

VdsoReport parse_special_mappings(std::string_view maps_text) {
    VdsoReport report;
    size_t pos = 0;
    while (pos < maps_text.size()) {
        size_t eol = maps_text.find('\n', pos);
        if (eol == std::string_view::npos) eol = maps_text.size();
        const std::string_view line = maps_text.substr(pos, eol - pos);
        pos = eol + 1;
        const std::string_view name = name_column(line);
        if (!name.starts_with('[') || !name.ends_with(']')) continue;
        uint64_t start = 0, end = 0;
        if (!parse_range(line.substr(0, line.find(' ')), start, end)) continue;
        if (std::find(kSpecial.begin(), kSpecial.end(), name) != kSpecial.end())
            report.mappings.push_back({std::string(name), start, end});
        else if (!is_ordinary_bracketed(name))
            report.unknown.emplace_back(name);
    }
    std::sort(report.mappings.begin(), report.mappings.end(),
              [](const SpecialMapping &a, const SpecialMapping &b) { return a.start < b.start; });
    return report;
}

// This process's special mappings and its [vdso] symbols, read from memory
// (AT_SYSINFO_EHDR points at the image; its size comes from the maps).
VdsoReport inspect_own_vdso() {
    VdsoReport report = parse_special_mappings(read_file("/proc/self/maps"));
    const unsigned long base = getauxval(AT_SYSINFO_EHDR);
    auto vdso = std::find_if(report.mappings.begin(), report.mappings.end(),
                             [](const SpecialMapping &m) { return m.name == "[vdso]"; });
    if (vdso == report.mappings.end()) {
        if (base != 0) report.error = "AT_SYSINFO_EHDR is set but no [vdso] mapping is listed";
        return report;
    }
    if (base != vdso->start) {
        report.error = log::cat("AT_SYSINFO_EHDR ", log::hex(base), " is not the start of [vdso] at ",
                                log::hex(vdso->start));
        return report;
    }
    auto elf = vdso::parse_elf_symbols(
        {reinterpret_cast<const uint8_t *>(vdso->start), size_t(vdso->end - vdso->start)});
    if (!elf.ok())
        report.error = log::cat("[vdso]: ", elf.error().message());
    else
        report.elf = std::move(*elf);
    return report;
}

}  // namespace stasis::check
