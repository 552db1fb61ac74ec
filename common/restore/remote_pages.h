// restore --page-server: the pages the restore itself fills come from a
// page server instead of the images directory. They are fetched up front
// into one memfd per pages image, laid out like the file (sparse where
// nothing is needed), so that every fill path reads them as it reads a
// local pages file. With --lazy-pages only the pages of mappings that are
// not filled lazily are fetched; the lazy-pages daemon fetches the rest.
#pragma once

#include <vector>

#include "common/images/checkpoint.h"
#include "common/pageserver/endpoint.h"
#include "common/restore/page_sources.h"
#include "common/util/result.h"

namespace stasis::restore {

Status fetch_pages(const pageserver::Endpoint &server, const images::Checkpoint &cp, std::vector<TaskPages> &pages,
                   uint32_t page_size, bool lazy);

}  // namespace stasis::restore
