// Image files <-> JSON, for `stasis image decode|encode` (like CRIU's crit).
// One protobuf image file is one JSON object, its *Image message of
// image_file.proto: {"kind": "IMAGE_MM", "version": 1, "mm": {...},
// "vmas": [{...}, ...]}. Field names are the .proto names; 64-bit numbers
// are strings and bytes fields base64, as protobuf's JSON mapping has them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/util/result.h"

namespace stasis::images {

// The JSON of one image file's bytes. Raw kinds (pages, ghost) are only
// summarised (sizes, page count); `page_size` 0 means unknown.
Result<std::string> image_to_json(std::string_view bytes, uint32_t page_size, bool pretty);

// The JSON of one image file on disk, reading raw kinds only as far as
// their header.
Result<std::string> image_file_to_json(const std::string &path, uint32_t page_size, bool pretty);

// One JSON object with every image file of a directory, keyed by file name.
// Page sizes come from its inventory.img when that can be read.
Result<std::string> image_dir_to_json(const std::string &dir, bool pretty);

// The bytes of the image file that a JSON object (as image_to_json makes it)
// describes. Byte-identical to the decoded file when that file's records
// hold no fields unknown to this stasis. Writes header values as given (even
// unknown versions), so hand-made bad images can be written too.
Result<std::string> json_to_image(std::string_view json);

}  // namespace stasis::images
