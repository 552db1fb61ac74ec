// `stasis check` output: a table for people, JSON for scripts. Both carry the
// same facts. Addresses are hex strings in JSON (they exceed 2^53).
#include <cstdio>
#include <sstream>
#include <string>

#include "common/check/check.h"
#include "common/util/log.h"

namespace stasis::check {
namespace {

using log::hex;

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(static_cast<unsigned char>(c)));
                    out += buf;
                } else {
                    out += c;
                }
        }
    }
    return out + "\"";
}

std::string hex_string(uint64_t v) { return json_string(log::cat(hex(v))); }

std::string human_size(uint64_t bytes) {
    if (bytes % 1024 == 0) return log::cat(bytes / 1024, " KiB");
    return log::cat(bytes, " B");
}

std::string padded(std::string_view s, size_t width) {
    std::string out(s);
    if (out.size() < width) out.append(width - out.size(), ' ');
    return out + " ";
}

void table_features(std::ostringstream &out, const Report &r) {
    out << padded("FEATURE", 19) << padded("STATUS", 7) << "NEEDED FOR\n";
    for (const auto &f : r.features) {
        out << padded(f.name, 19) << padded(outcome_name(f.outcome), 7) << f.needed_for
            << (f.required ? " [required]" : "") << "\n";
        if (!f.detail.empty()) out << std::string(28, ' ') << f.detail << "\n";
    }
}

void table_vdso(std::ostringstream &out, const Report &r) {
    const VdsoReport &v = r.vdso;
    out << "\nspecial mappings, in address order:\n";
    if (v.mappings.empty()) out << "  none\n";
    for (const auto &m : v.mappings) {
        out << "  " << padded(m.name, 14) << padded(log::cat(hex(m.start)), 19) << human_size(m.end - m.start)
            << " (" << (m.end - m.start) / r.page_size
            << ((m.end - m.start) / r.page_size == 1 ? " page)\n" : " pages)\n");
    }
    for (const auto &u : v.unknown) out << "  " << padded(u, 14) << "UNKNOWN to stasis\n";
    if (!v.error.empty()) out << "  [vdso] unreadable: " << v.error << "\n";
    if (!v.elf) return;
    const auto &elf = *v.elf;
    out << "vDSO image: ELF" << (elf.elf_class == vdso::ElfClass::elf64 ? "64" : "32")
        << (elf.byte_order == vdso::ByteOrder::little ? " little-endian" : " big-endian") << ", machine "
        << elf.machine << ", build-id " << (elf.build_id.empty() ? "none" : elf.build_id) << "\n";
    out << "vDSO symbols:\n";
    for (const auto &s : elf.symbols) {
        out << "  " << padded(s.version.empty() ? s.name : s.name + "@" + s.version, 40) << "+"
            << hex(s.offset) << " (" << s.size << " bytes)\n";
    }
}

}  // namespace

std::string render_table(const Report &r) {
    std::ostringstream out;
    table_features(out, r);
    table_vdso(out, r);
    out << "\npage size: " << r.page_size << "\n";
    out << "dirty tracking for pre-dump: " << dirty_tracking_name(r.dirty_tracking) << "\n";
    if (const FeatureResult *m = r.first_missing_required())
        out << "checkpoint/restore: CANNOT work here: " << m->name << " is missing\n";
    else
        out << "checkpoint/restore: can work on this kernel\n";
    char elapsed[32];
    std::snprintf(elapsed, sizeof elapsed, "%.1f", r.elapsed_ms);
    out << "checked in " << elapsed << " ms\n";
    return out.str();
}

std::string render_feature_json(const FeatureResult &f) {
    return log::cat(
        "{\"name\": ", json_string(f.name), ", \"status\": ", json_string(outcome_name(f.outcome)),
        ", \"required\": ", f.required ? "true" : "false", ", \"needed_for\": ", json_string(f.needed_for),
        ", \"detail\": ", json_string(f.detail), "}");
}

std::string render_json(const Report &r) {
    std::ostringstream out;
    const FeatureResult *missing = r.first_missing_required();
    out << "{\n  \"can_checkpoint_restore\": " << (missing ? "false" : "true") << ",\n";
    out << "  \"missing_required\": " << (missing ? json_string(missing->name) : "null") << ",\n";
    out << "  \"dirty_tracking\": " << json_string(dirty_tracking_name(r.dirty_tracking)) << ",\n";
    out << "  \"page_size\": " << r.page_size << ",\n";
    char elapsed[32];
    std::snprintf(elapsed, sizeof elapsed, "%.3f", r.elapsed_ms);
    out << "  \"elapsed_ms\": " << elapsed << ",\n  \"features\": [";
    for (size_t i = 0; i < r.features.size(); i++)
        out << (i ? ",\n    " : "\n    ") << render_feature_json(r.features[i]);
    out << "\n  ],\n  \"special_mappings\": [";
    for (size_t i = 0; i < r.vdso.mappings.size(); i++) {
        const auto &m = r.vdso.mappings[i];
        out << (i ? ", " : "") << "{\"name\": " << json_string(m.name)
            << ", \"start\": " << hex_string(m.start) << ", \"end\": " << hex_string(m.end)
            << ", \"size\": " << (m.end - m.start) << "}";
    }
    out << "],\n  \"unknown_special_mappings\": [";
    for (size_t i = 0; i < r.vdso.unknown.size(); i++)
        out << (i ? ", " : "") << json_string(r.vdso.unknown[i]);
    out << "],\n  \"vdso\": ";
    if (!r.vdso.elf) {
        out << "{\"error\": " << json_string(r.vdso.error) << "}\n}\n";
        return out.str();
    }
    const auto &elf = *r.vdso.elf;
    out << "{\"elf_class\": " << (elf.elf_class == vdso::ElfClass::elf64 ? 64 : 32)
        << ", \"byte_order\": " << json_string(elf.byte_order == vdso::ByteOrder::little ? "little" : "big")
        << ", \"machine\": " << elf.machine << ", \"build_id\": " << json_string(elf.build_id)
        << ", \"symbols\": [";
    for (size_t i = 0; i < elf.symbols.size(); i++) {
        const auto &s = elf.symbols[i];
        out << (i ? ", " : "") << "{\"name\": " << json_string(s.name)
            << ", \"version\": " << json_string(s.version) << ", \"offset\": " << s.offset
            << ", \"size\": " << s.size << "}";
    }
    out << "]}\n}\n";
    return out.str();
}

}  // namespace stasis::check
