#include "common/pageserver/remote_image.h"

#include "common/util/log.h"

namespace stasis::pageserver {
namespace {

class RemoteSink : public images::RawImageSink {
public:
    RemoteSink(Client &client, uint32_t handle, std::string name)
        : client_(client), handle_(handle), name_(std::move(name)) {}
    Status append(const void *data, size_t len) override {
        return std::move(client_.write(handle_, data, len)).context(name_);
    }
    Status append_iov(const struct iovec *iov, int count) override {
        return std::move(client_.write_iov(handle_, iov, count)).context(name_);
    }
    Status commit(uint64_t data_bytes) override {
        return std::move(client_.commit(handle_, data_bytes)).context(name_);
    }
    const std::string &name() const override { return name_; }

private:
    Client &client_;
    uint32_t handle_;
    std::string name_;
};

}  // namespace

Result<images::RawImageWriter> remote_pages_writer(Client &client, const std::string &name, uint32_t page_size) {
    STASIS_ASSIGN(uint32_t handle, client.open(name));
    std::string where = log::cat(name, " on the page server ", client.endpoint().text());
    return images::RawImageWriter::remote(std::make_unique<RemoteSink>(client, handle, std::move(where)),
                                          images::IMAGE_PAGES, page_size);
}

}  // namespace stasis::pageserver
