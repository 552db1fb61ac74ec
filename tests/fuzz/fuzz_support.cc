#include "tests/fuzz/fuzz_support.h"

#include <cstdio>
#include <cstdlib>

namespace stasis::images::fuzz {

const std::vector<std::string> &checkpoint_file_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> n = {"inventory.img", "pstree.img", "files.img"};
        for (const char *pid : {"100", "101"})
            for (const char *stem : {"core", "mm", "pagemap", "fdinfo", "vdso"})
                n.push_back(std::string(stem) + "-" + pid + ".img");
        for (const char *raw : {"pages-1.img", "pages-2.img", "ghost-1.img"}) n.push_back(raw);
        return n;
    }();
    return names;
}

namespace {

constexpr size_t kCompactRawBytes = 20;
constexpr uint64_t kMaxCompactSize = 16 << 20;

bool raw_name(const std::string &name) { return name.rfind("pages-", 0) == 0 || name.rfind("ghost-", 0) == 0; }

}  // namespace

std::string pack_checkpoint(const std::map<std::string, std::string> &files, uint8_t flags) {
    std::string out(1, char(flags));
    const auto &names = checkpoint_file_names();
    for (size_t i = 0; i < names.size(); i++) {
        auto it = files.find(names[i]);
        if (it == files.end()) continue;
        std::string bytes = it->second;
        if (raw_name(names[i]) && bytes.size() >= 16) {
            uint32_t size = uint32_t(bytes.size());
            bytes.resize(16);
            for (int b = 0; b < 4; b++) bytes += char(size >> (8 * b));
        }
        size_t len = bytes.size() > 0xffff ? 0xffff : bytes.size();
        out += char(i);
        out += char(len & 0xff);
        out += char(len >> 8);
        out.append(bytes, 0, len);
    }
    return out;
}

std::map<std::string, FuzzFile> unpack_checkpoint(std::string_view input, uint8_t *flags) {
    std::map<std::string, FuzzFile> files;
    *flags = input.empty() ? 0 : uint8_t(input[0]);
    const auto &names = checkpoint_file_names();
    size_t pos = 1;
    while (pos + 3 <= input.size()) {
        const std::string &name = names[uint8_t(input[pos]) % names.size()];
        size_t len = uint8_t(input[pos + 1]) | size_t(uint8_t(input[pos + 2])) << 8;
        pos += 3;
        if (len > input.size() - pos) len = input.size() - pos;
        FuzzFile file{std::string(input.substr(pos, len)), len};
        if (raw_name(name) && len == kCompactRawBytes) {
            uint64_t size = 0;
            for (int b = 0; b < 4; b++) size |= uint64_t(uint8_t(file.bytes[16 + b])) << (8 * b);
            file.bytes.resize(16);
            file.size = size < 16 ? 16 : size > kMaxCompactSize ? kMaxCompactSize : size;
        }
        files[name] = std::move(file);
        pos += len;
    }
    return files;
}

void property_failed(const char *what, const std::string &detail) {
    std::fprintf(stderr, "fuzz property failed: %s: %s\n", what, detail.c_str());
    std::abort();
}

}  // namespace stasis::images::fuzz
