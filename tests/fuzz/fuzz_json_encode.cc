// libFuzzer target: `stasis image encode` on arbitrary JSON. Whatever it
// encodes and the reader then accepts must decode and encode back to the
// same bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/images/image_codec.h"
#include "common/images/json.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace stasis::images;
    auto bytes = json_to_image(std::string_view(reinterpret_cast<const char *>(data), size));
    if (!bytes.ok()) return 0;
    auto parsed = parse_image_file(*bytes, IMAGE_KIND_UNSPECIFIED);
    if (!parsed.ok()) return 0;
    auto json = image_to_json(*bytes, 0, size & 1);
    if (!json.ok()) fuzz::property_failed("decode of an encoded image", json.error().message());
    auto again = json_to_image(*json);
    if (!again.ok()) fuzz::property_failed("encode of decoded JSON", again.error().message());
    if (*again != *bytes) fuzz::property_failed("JSON round trip changed the bytes", *json);
    return 0;
}
