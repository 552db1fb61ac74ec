// Inputs the fuzz targets (tests/fuzz/) once crashed or misjudged on, kept
// so that they never come back.
#include <gtest/gtest.h>

#include "common/images/image_codec.h"
#include "common/images/json.h"

namespace stasis::images {
namespace {

}  // namespace
}  // namespace stasis::images
