// libFuzzer target: the whole-checkpoint reader over an image directory
// made from the fuzz input (see fuzz_support.h for the packing).
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/images/checkpoint.h"
#include "common/images/page_chain.h"
#include "common/images/show.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

// One directory per fuzzing process, emptied before every input.
const std::string &fuzz_dir() {
    static const std::string dir = [] {
        const char *base = getenv("TMPDIR");
        std::string templ = std::string(base && *base ? base : "/tmp") + "/stasis-fuzz-checkpoint.XXXXXX";
        if (!mkdtemp(templ.data())) abort();
        return templ;
    }();
    return dir;
}

void write_file(const std::string &path, const stasis::images::fuzz::FuzzFile &file) {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) abort();
    if (write(fd, file.bytes.data(), file.bytes.size()) != ssize_t(file.bytes.size())) abort();
    if (ftruncate(fd, off_t(file.size)) != 0) abort();
    close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace stasis::images;
    uint8_t flags = 0;
    auto files = fuzz::unpack_checkpoint(std::string_view(reinterpret_cast<const char *>(data), size), &flags);
    const std::string &dir = fuzz_dir();
    for (const std::string &name : fuzz::checkpoint_file_names()) unlink((dir + "/" + name).c_str());
    for (const auto &[name, file] : files) write_file(dir + "/" + name, file);
    ReadOptions opts;
    opts.check_digests = flags & 1;
    if (flags & 2) opts.expect_arch = ARCH_X86_64;
    if (flags & 4) opts.expect_page_size = 4096;
    auto cp = read_checkpoint(dir, opts);
    if (cp.ok()) {
        // What the reader accepted must satisfy the in-memory check too.
        auto again = validate_checkpoint(*cp, opts);
        if (!again.ok()) fuzz::property_failed("accepted checkpoint fails validate_checkpoint", again.error().message());
        if (flags & 8) (void)show_checkpoint(dir);
        // Resolving the pages of an incremental dump: the checkpoint read
        // as its own parent (any IN_PARENT entry then points at it), and
        // alone (IN_PARENT must be refused, never resolved to garbage).
        std::vector<ChainLevel> parents(1);
        parents[0].cp = *cp;
        for (const auto &t : cp->tasks) {
            if (t.tree.zombie()) continue;
            uint64_t page = cp->inventory.page_size();
            auto alone = resolve_pages(task_chain(t.tree.pid(), t, {}), page);
            auto chained = resolve_pages(task_chain(t.tree.pid(), t, parents), page);
            for (const auto *r : {&alone, &chained}) {
                if (!r->ok()) continue;
                uint64_t prev_end = 0;
                for (const auto &src : **r) {
                    if (src.len == 0 || src.len % page || src.vaddr < prev_end)
                        fuzz::property_failed("resolved page sources overlap or are empty", "");
                    prev_end = src.vaddr + src.len;
                }
            }
        }
    }
    return 0;
}
