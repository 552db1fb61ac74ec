// The client side of the page server protocol (protocol.h): dump and
// pre-dump push pages images to a page server, lazy-pages and restore
// fetch ranges of them. Every call blocks; a peer that does not answer
// within the timeout, disconnects or speaks nonsense gives an error naming
// the server and what was asked.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <string>

#include "common/images/file_io.h"
#include "common/pageserver/endpoint.h"
#include "common/pageserver/protocol.h"
#include "common/util/result.h"

namespace stasis::pageserver {

class Client {
public:
    // Connects and says hello; `page_size` must match the server's images.
    static Result<Client> connect(const Endpoint &where, Role role, uint32_t page_size);
    Client(Client &&) = default;
    Client &operator=(Client &&) = default;

    // push: creates `name` on the server (a temporary file until commit;
    // the server writes the raw image header itself) and returns its handle.
    Result<uint32_t> open(const std::string &name);
    // push: appends data to the file (after its header).
    Status write(uint32_t handle, const void *data, size_t len);
    Status write_iov(uint32_t handle, const iovec *iov, int count);
    // push: the file must hold exactly `data_bytes` after its header, whole
    // pages; the server renames it into place and answers.
    Status commit(uint32_t handle, uint64_t data_bytes);

    // fetch: data bytes (after the header) of a committed pages image.
    Result<uint64_t> stat(const std::string &name);
    // fetch: `len` bytes at absolute file offset `offset` (header included,
    // so page n of the data is at page_size * (1 + n), as in the file).
    Status read(const std::string &name, uint64_t offset, void *buf, size_t len);

    // Ends the session. `finished`: see kByeFinished.
    Status bye(bool finished);

    const Endpoint &endpoint() const { return where_; }
    int fd() const { return sock_.get(); }

private:
    Client(images::Fd sock, Endpoint where) : sock_(std::move(sock)), where_(std::move(where)) {}
    images::Fd sock_;
    Endpoint where_;
};

}  // namespace stasis::pageserver
