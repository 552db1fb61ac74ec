#include "common/pageserver/endpoint.h"

#include "common/util/log.h"

namespace stasis::pageserver {

std::string Endpoint::text() const {
    std::string host = address.empty() ? "*" : address;
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    return log::cat(host, ":", port);
}

Result<Endpoint> parse_endpoint(const std::string &address, const std::string &port) {
    Endpoint e;
    if (port.empty()) return Error("page server port: missing (expected 1..65535)");
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
        return Error(log::cat("page server port '", port, "': not a decimal number in 1..65535"));
    unsigned long v = std::stoul(port);
    if (v < 1 || v > 65535) return Error(log::cat("page server port ", port, ": out of range 1..65535"));
    e.port = uint16_t(v);
    e.address = address;
    // "[::1]" as in URLs: the brackets are not part of the address.
    if (e.address.size() >= 2 && e.address.front() == '[' && e.address.back() == ']')
        e.address = e.address.substr(1, e.address.size() - 2);
    if (e.address.find_first_of(" \t\r\n/[]") != std::string::npos)
        return Error(log::cat("page server address '", address, "': not an IP address or host name"));
    return e;
}

}  // namespace stasis::pageserver
