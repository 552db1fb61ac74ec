// libFuzzer target: the reader of one image kind (STASIS_FUZZ_KIND), then
// the meaning checks of that file, then the JSON round trip of whatever
// parsed: decode must succeed and encode must give back the same bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/images/image_codec.h"
#include "common/images/json.h"
#include "common/images/validate.h"
#include "tests/fuzz/fuzz_support.h"

namespace stasis::images::fuzz {
namespace {

constexpr uint64_t kPageSize = 4096;

// Mappings for the pagemap and vdso checks to measure against.
std::vector<Vma> some_vmas() {
    std::vector<Vma> vmas(3);
    vmas[0].set_start(0x10000);
    vmas[0].set_end(0x7f0000000000);
    vmas[0].set_kind(VMA_ANON_PRIVATE);
    vmas[1].set_start(0x7f0000000000);
    vmas[1].set_end(0x7f0000002000);
    vmas[1].set_kind(VMA_VVAR);
    vmas[2].set_start(0x7f0000002000);
    vmas[2].set_end(0x7f0000004000);
    vmas[2].set_kind(VMA_VDSO);
    return vmas;
}

template <typename T>
std::vector<T> copy_records(const google::protobuf::RepeatedPtrField<T> &records) {
    return std::vector<T>(records.begin(), records.end());
}

// The checks of validate.h that apply to this one file, with a fixed context.
void check_meaning(const google::protobuf::Message &file) {
    static const std::vector<FileEntry> files = [] {
        std::vector<FileEntry> f(8);
        for (uint32_t i = 0; i < f.size(); i++) {
            f[i].set_id(i + 1);
            f[i].mutable_reg()->set_path("/f");
        }
        return f;
    }();
    static validate::FileIndex index;
    if (index.empty()) (void)validate::files(files, &index);
    TaskImages t;
    t.vmas = some_vmas();
    if (auto *inv = dynamic_cast<const InventoryImage *>(&file)) {
        (void)validate::inventory(inv->inventory(), ReadOptions{});
    } else if (auto *pstree = dynamic_cast<const PstreeImage *>(&file)) {
        std::vector<TaskImages> tasks(size_t(pstree->tasks_size()));
        for (size_t i = 0; i < tasks.size(); i++) tasks[i].tree = pstree->tasks(int(i));
        Inventory inv;
        inv.set_task_count(uint32_t(tasks.size()));
        if (!tasks.empty()) inv.set_root_pid(tasks[0].tree.pid());
        (void)validate::pstree(tasks, inv);
    } else if (auto *f = dynamic_cast<const FilesImage *>(&file)) {
        validate::FileIndex own;
        (void)validate::files(copy_records(f->files()), &own);
    } else if (auto *core = dynamic_cast<const CoreImage *>(&file)) {
        t.core = core->task();
        t.threads = copy_records(core->threads());
        for (const auto &th : t.threads) t.tree.add_threads(th.tid());
        (void)validate::core(t, ARCH_X86_64, core->task().personality() & 1);
    } else if (auto *mm = dynamic_cast<const MmImage *>(&file)) {
        t.mm = mm->mm();
        t.vmas = copy_records(mm->vmas());
        (void)validate::mm(t, index, kPageSize, mm->mm().vma_count() & 1);
    } else if (auto *pm = dynamic_cast<const PagemapImage *>(&file)) {
        t.pagemap = copy_records(pm->entries());
        (void)validate::pagemap(t, kPageSize, pm->head().pages_id() & 1);
    } else if (auto *fd = dynamic_cast<const FdinfoImage *>(&file)) {
        t.fds = copy_records(fd->fds());
        (void)validate::fds(t, index);
    } else if (auto *vdso = dynamic_cast<const VdsoImage *>(&file)) {
        t.vdso = vdso->vdso();
        (void)validate::vdso(t, kPageSize);
    }
}

void check_json_round_trip(google::protobuf::Message *file) {
    // JSON cannot carry fields this stasis does not know; compare without them.
    file->DiscardUnknownFields();
    auto canonical = serialize_image_file(*file);
    if (!canonical.ok()) property_failed("serialize of a parsed image", canonical.error().message());
    auto json = image_to_json(*canonical, 0, false);
    if (!json.ok()) property_failed("decode of a parsed image", json.error().message());
    auto encoded = json_to_image(*json);
    if (!encoded.ok()) property_failed("encode of decoded JSON", encoded.error().message() + " in " + *json);
    if (*encoded != *canonical) property_failed("JSON round trip changed the bytes", *json);
}

}  // namespace
}  // namespace stasis::images::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace stasis::images;
    auto parsed = parse_image_file(std::string_view(reinterpret_cast<const char *>(data), size),
                                   ImageKind(STASIS_FUZZ_KIND));
    if (!parsed.ok()) return 0;
    fuzz::check_meaning(**parsed);
    fuzz::check_json_round_trip(parsed->get());
    return 0;
}
