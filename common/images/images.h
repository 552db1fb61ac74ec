// The image files of a checkpoint: everything other code needs from
// common/images/. See docs/image-format.md.
#pragma once

#include "common/images/checkpoint.h"    // Checkpoint, write_checkpoint, read_checkpoint, open_pages
#include "common/images/format.h"        // header, kinds, file names, limits
#include "common/images/image_writer.h"  // ImageWriter, RawImageWriter
