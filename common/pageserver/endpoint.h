// Where a page server listens, as the command line gives it (--address,
// --port). Plain data: the CLI's option structs carry it.
#pragma once

#include <cstdint>
#include <string>

#include "common/util/result.h"

namespace stasis::pageserver {

struct Endpoint {
    std::string address;  // IPv4 or IPv6 literal, or a host name
    uint16_t port = 0;
    std::string text() const;  // "address:port" ([v6]:port)
};

// Parses --address/--port as the CLI gives them; a missing address means
// the loopback address for clients and every address for the server.
Result<Endpoint> parse_endpoint(const std::string &address, const std::string &port);

}  // namespace stasis::pageserver
