// Writes the seed corpus of every fuzz target from valid images (the unit
// tests' sample checkpoint), into OUT/<target>/:
//   make_corpus tests/fuzz/corpus
// Deterministic: running it again gives the same files.
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include "common/images/checkpoint.h"
#include "common/images/format.h"
#include "common/images/json.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/unit/images/sample_checkpoint.h"

namespace {

using namespace stasis::images;

std::string slurp(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

bool put(const std::string &dir, const std::string &name, const std::string &bytes) {
    ::mkdir(dir.c_str(), 0755);
    std::ofstream out(dir + "/" + name, std::ios::binary | std::ios::trunc);
    out << bytes;
    return bool(out);
}

// A seed the reader refuses would start the fuzzer far from the interesting
// code: unpack it as fuzz_checkpoint does and read it.
bool seed_is_accepted(const std::string &packed) {
    uint8_t flags = 0;
    testing::TempDir dir;
    for (const auto &[name, file] : fuzz::unpack_checkpoint(packed, &flags)) {
        std::string bytes = file.bytes;
        bytes.resize(file.size, '\0');
        if (!put(dir.path(), name, bytes)) return false;
    }
    ReadOptions opts;
    opts.check_digests = flags & 1;
    if (flags & 2) opts.expect_arch = ARCH_X86_64;
    if (flags & 4) opts.expect_page_size = 4096;
    auto cp = read_checkpoint(dir.path(), opts);
    if (!cp.ok()) std::fprintf(stderr, "make_corpus: seed refused: %s\n", cp.error().message().c_str());
    return cp.ok();
}

bool add_sample(const std::string &out, uint32_t arch, uint32_t page_size) {
    testing::TempDir dir;
    auto status = testing::write_sample(dir.path(), testing::sample_checkpoint(arch, page_size));
    if (!status.ok()) {
        std::fprintf(stderr, "make_corpus: %s\n", status.error().message().c_str());
        return false;
    }
    std::string prefix = arch_name(arch) + "-" + std::to_string(page_size) + "-";
    std::map<std::string, std::string> files;
    bool ok = true;
    for (const std::string &name : fuzz::checkpoint_file_names()) {
        std::string bytes = slurp(dir.file(name));
        if (bytes.empty()) continue;  // no ghost file in the sample
        files[name] = bytes;
        ImageKind kind = kind_from_file_name(name);
        if (kind_info(kind)->raw) continue;
        ok &= put(out + "/fuzz_image_" + kind_info(kind)->name, prefix + name, bytes);
        for (bool pretty : {false, true}) {
            auto json = image_to_json(bytes, page_size, pretty);
            if (json.ok()) ok &= put(out + "/fuzz_json_encode", prefix + name + (pretty ? ".pretty" : "") + ".json", *json);
        }
    }
    // Every reader option the sample passes (fuzz_checkpoint expects x86_64
    // and 4 KiB pages only when asked to), and the sample without digests.
    uint8_t all_checks = arch == ARCH_X86_64 && page_size == 4096 ? 0x0f : 0x09;
    for (auto [flags, label] : {std::pair{all_checks, "all-checks"}, {uint8_t(0), "no-digests"}}) {
        std::string packed = fuzz::pack_checkpoint(files, flags);
        ok &= seed_is_accepted(packed) && put(out + "/fuzz_checkpoint", prefix + label, packed);
    }
    return ok;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: make_corpus OUT_DIR\n");
        return 2;
    }
    std::string out = argv[1];
    ::mkdir(out.c_str(), 0755);
    bool ok = add_sample(out, ARCH_X86_64, 4096) && add_sample(out, ARCH_AARCH64, 16384);
    return ok ? 0 : 1;
}
