// `stasis check`: probes the RUNNING kernel for every feature dump and restore
// use, by really trying each one (seizing a child, creating a task with a
// chosen PID, write-protecting memory...), never by kernel version or
// architecture name. The report says what works, what is missing and what
// each feature is needed for; the vDSO layout of this kernel is part of it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/util/result.h"
#include "vdso/elf_symbols.h"

namespace stasis::check {

enum class Outcome { ok, warn, missing };
const char *outcome_name(Outcome o);

struct FeatureResult {
    std::string name;  // stable, kebab-case: `stasis check --feature NAME`
    Outcome outcome = Outcome::missing;
    bool required = false;   // checkpoint/restore cannot work without it
    std::string needed_for;  // what stasis uses it for
    std::string detail;      // what the probe saw
};

// A bracketed /proc/PID/maps entry the kernel installs itself.
struct SpecialMapping {
    std::string name;  // "[vdso]", "[vvar]", "[vvar_vclock]", "[sigpage]", ...
    uint64_t start = 0;
    uint64_t end = 0;
};

struct VdsoReport {
    std::vector<SpecialMapping> mappings;  // kernel special mappings, in address order
    std::vector<std::string> unknown;      // bracketed names stasis does not know (refused by dump)
    std::optional<vdso::ElfSymbols> elf;   // the parsed [vdso] image, when there is one
    std::string error;                     // why [vdso] could not be read, if it could not
};

// How pre-dump can find pages written since the last dump, best first.
enum class DirtyTracking { uffd_wp_async, soft_dirty, content };
const char *dirty_tracking_name(DirtyTracking d);

struct Report {
    std::vector<FeatureResult> features;
    VdsoReport vdso;
    DirtyTracking dirty_tracking = DirtyTracking::content;
    size_t page_size = 0;
    double elapsed_ms = 0;

    // The first required feature that is missing; nullptr when
    // checkpoint/restore can work on this kernel.
    const FeatureResult *first_missing_required() const;
};

// Runs every probe.
Report run_all();
// Runs one probe by name; an Error names the known features when `name` is unknown.
Result<FeatureResult> run_one(std::string_view name);
std::vector<std::string> feature_names();

std::string render_table(const Report &report);
std::string render_json(const Report &report);
std::string render_feature_json(const FeatureResult &feature);

// Parses /proc/PID/maps text into the kernel's special mappings (no ELF read).
VdsoReport parse_special_mappings(std::string_view maps_text);

}  // namespace stasis::check
