// A pages image that dump writes to a page server instead of a local file
// (dump --page-server): the RawImageWriter the memory code appends to is
// the same, only its sink differs.
#pragma once

#include <memory>
#include <string>

#include "common/images/image_writer.h"
#include "common/pageserver/client.h"

namespace stasis::pageserver {

// Opens `name` on the server `client` is connected to (as a push client).
// The client must outlive the writer.
Result<images::RawImageWriter> remote_pages_writer(Client &client, const std::string &name, uint32_t page_size);

}  // namespace stasis::pageserver
