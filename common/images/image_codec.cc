#include "common/images/image_codec.h"

#include <google/protobuf/descriptor.h>

#include "common/util/log.h"

namespace stasis::images {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// Field numbers every *Image message shares (see image_file.proto).
constexpr int kKindField = 1;
constexpr int kVersionField = 2;
constexpr int kFlagsField = 3;
constexpr int kHeadField = 4;
constexpr int kRecordsField = 5;

// Reads a base-128 varint; false when it is unterminated or wider than 64 bits.
bool read_varint(std::string_view bytes, size_t *pos, uint64_t *value) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*pos >= bytes.size()) return false;
        auto b = static_cast<unsigned char>(bytes[(*pos)++]);
        if (shift == 63 && b > 1) return false;
        v |= uint64_t(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *value = v;
            return true;
        }
    }
    return false;
}

void append_varint(std::string *out, uint64_t v) {
    while (v >= 0x80) {
        out->push_back(char((v & 0x7f) | 0x80));
        v >>= 7;
    }
    out->push_back(char(v));
}

// The redundant counts of a file must agree with what it holds: a file cut at
// a record boundary parses, but its count then gives it away.
Status check_record_counts(const Message &file) {
    if (auto *mm = dynamic_cast<const MmImage *>(&file)) {
        if (mm->mm().vma_count() != uint32_t(mm->vmas_size()))
            return Error(log::cat("MmHeader.vma_count is ", mm->mm().vma_count(), " but ", mm->vmas_size(),
                                  " Vma records follow (truncated?)"));
    }
    if (auto *pm = dynamic_cast<const PagemapImage *>(&file)) {
        if (pm->head().entry_count() != uint32_t(pm->entries_size()))
            return Error(log::cat("PagemapHead.entry_count is ", pm->head().entry_count(), " but ",
                                  pm->entries_size(), " PagemapEntry records follow (truncated?)"));
    }
    return ok();
}

// Parses the records after the header into `file` (a *Image message).
Status parse_records(std::string_view bytes, const KindInfo &info, Message *file) {
    const Descriptor *d = file->GetDescriptor();
    const FieldDescriptor *head = d->FindFieldByNumber(kHeadField);
    const FieldDescriptor *records = d->FindFieldByNumber(kRecordsField);
    const auto *refl = file->GetReflection();
    size_t pos = 0;
    uint64_t index = 0;
    while (pos < bytes.size()) {
        uint64_t len = 0;
        if (!read_varint(bytes, &pos, &len))
            return Error(log::cat("record #", index, ": truncated or malformed length"));
        if (len > kMaxMessageBytes)
            return Error(log::cat("record #", index, ": length ", len, " is over the ", kMaxMessageBytes >> 20,
                                  " MiB limit"));
        if (len > bytes.size() - pos)
            return Error(log::cat("record #", index, ": truncated: length ", len, " but only ",
                                  bytes.size() - pos, " bytes left"));
        Message *target = nullptr;
        if (index == 0 && head) {
            target = refl->MutableMessage(file, head);
        } else if (records) {
            if (uint64_t(refl->FieldSize(*file, records)) >= info.max_records)
                return Error(log::cat("more than ", info.max_records, " ", records->message_type()->name(),
                                      " records"));
            target = refl->AddMessage(file, records);
        } else {
            return Error(log::cat("record #", index, ": unexpected record after the ",
                                  head->message_type()->name(), " (a ", info.name, " image holds one)"));
        }
        if (!target->ParseFromArray(bytes.data() + pos, int(len)))
            return Error(log::cat("record #", index, " (", target->GetDescriptor()->name(), "): does not parse"));
        pos += size_t(len);
        index++;
    }
    if (head && index == 0) return Error(log::cat("no ", head->message_type()->name(), " record"));
    return check_record_counts(*file);
}

}  // namespace

ImageKind kind_of_file_message(const Descriptor *d) {
    for (uint32_t k = 1; kind_info(k); k++)
        if (kind_info(k)->file_message == d) return kind_info(k)->kind;
    return IMAGE_KIND_UNSPECIFIED;
}

std::unique_ptr<Message> new_file_message(uint32_t kind) {
    const KindInfo *info = kind_info(kind);
    if (!info || info->raw) return nullptr;
    const Message *prototype = google::protobuf::MessageFactory::generated_factory()->GetPrototype(
        info->file_message);
    return std::unique_ptr<Message>(prototype->New());
}

Result<std::unique_ptr<Message>> parse_image_file(std::string_view bytes, ImageKind expected) {
    route_protobuf_logging();
    STASIS_ASSIGN(ImageHeader h, parse_header(bytes, expected));
    const KindInfo *info = kind_info(h.kind);
    if (info->raw) return Error(log::cat(info->name, " images hold raw data, not records"));
    std::unique_ptr<Message> file = new_file_message(h.kind);
    const Descriptor *d = file->GetDescriptor();
    const auto *refl = file->GetReflection();
    refl->SetEnumValue(file.get(), d->FindFieldByNumber(kKindField), int(h.kind));
    refl->SetUInt32(file.get(), d->FindFieldByNumber(kVersionField), h.version);
    refl->SetUInt32(file.get(), d->FindFieldByNumber(kFlagsField), h.flags);
    STASIS_TRY(parse_records(bytes.substr(kHeaderSize), *info, file.get()));
    return file;
}

Status append_record(std::string *out, const Message &record) {
    size_t size = record.ByteSizeLong();
    if (size > kMaxMessageBytes)
        return Error(log::cat(record.GetDescriptor()->name(), " record of ", size, " bytes is over the ",
                              kMaxMessageBytes >> 20, " MiB limit"));
    append_varint(out, size);
    size_t at = out->size();
    out->resize(at + size);
    if (!record.SerializeToArray(out->data() + at, int(size)))
        return Error(log::cat(record.GetDescriptor()->name(), ": serialization failed"));
    return ok();
}

Result<std::string> serialize_image_file(const Message &file) {
    const Descriptor *d = file.GetDescriptor();
    ImageKind type_kind = kind_of_file_message(d);
    if (type_kind == IMAGE_KIND_UNSPECIFIED) return Error(log::cat(d->full_name(), " is not an image file message"));
    const auto *refl = file.GetReflection();
    ImageHeader h;
    h.kind = uint32_t(refl->GetEnumValue(file, d->FindFieldByNumber(kKindField)));
    if (h.kind == 0) h.kind = uint32_t(type_kind);
    h.version = refl->GetUInt32(file, d->FindFieldByNumber(kVersionField));
    h.flags = refl->GetUInt32(file, d->FindFieldByNumber(kFlagsField));
    std::string out(kHeaderSize, '\0');
    encode_header(h, out.data());
    if (const FieldDescriptor *head = d->FindFieldByNumber(kHeadField))
        STASIS_TRY(append_record(&out, refl->GetMessage(file, head)));
    if (const FieldDescriptor *records = d->FindFieldByNumber(kRecordsField)) {
        int n = refl->FieldSize(file, records);
        for (int i = 0; i < n; i++) STASIS_TRY(append_record(&out, refl->GetRepeatedMessage(file, records, i)));
    }
    return out;
}

}  // namespace stasis::images
