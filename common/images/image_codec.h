// Protobuf image files as bytes <-> their *Image message (image_file.proto).
// The parser is the structural half of the trust-nothing reader: header,
// record lengths, caps, parse errors, record counts. What records mean
// together is checked by validate.h.
#pragma once

#include <google/protobuf/message.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/images/format.h"
#include "common/images/image_file.pb.h"
#include "common/util/result.h"

namespace stasis::images {

// Parses a protobuf image file. `expected` is the kind the caller wants, or
// IMAGE_KIND_UNSPECIFIED to accept any protobuf kind the header names.
// Errors do not name the file; callers add it as context.
Result<std::unique_ptr<google::protobuf::Message>> parse_image_file(std::string_view bytes,
                                                                    ImageKind expected);

// The kind a *Image message type stands for (IMAGE_KIND_UNSPECIFIED if none).
ImageKind kind_of_file_message(const google::protobuf::Descriptor *d);

// Typed form: parse_image_file_as<MmImage>(bytes).
template <typename FileMessage>
Result<FileMessage> parse_image_file_as(std::string_view bytes) {
    STASIS_ASSIGN(auto parsed, parse_image_file(bytes, kind_of_file_message(FileMessage::descriptor())));
    FileMessage out;
    out.Swap(static_cast<FileMessage *>(parsed.get()));
    return out;
}

// A new, empty *Image message for a protobuf kind (nullptr for raw or unknown kinds).
std::unique_ptr<google::protobuf::Message> new_file_message(uint32_t kind);

// The exact bytes of the file a *Image message describes: its header fields
// as they are (even unknown versions: this is how test images are made),
// then the head record (always written, even when empty) and the records.
Result<std::string> serialize_image_file(const google::protobuf::Message &file_message);

// Appends one length-delimited record. Refuses records over kMaxMessageBytes.
Status append_record(std::string *out, const google::protobuf::Message &record);

}  // namespace stasis::images
