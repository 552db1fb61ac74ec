#include "common/images/image_writer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <google/protobuf/descriptor.h>

#include "common/images/crc32c.h"
#include "common/images/image_codec.h"
#include "common/util/log.h"

namespace stasis::images {
namespace {

// Records are gathered and written in chunks of about this size.
constexpr size_t kFlushBytes = 1 << 20;

}  // namespace

ImageWriter::ImageWriter(TempFile file, const KindInfo *kind) : file_(std::move(file)), kind_(kind) {}

Result<ImageWriter> ImageWriter::create(const std::string &dir, const std::string &name, ImageKind kind) {
    STASIS_ASSIGN(Fd dirfd, open_dir(dir, false));
    return create_at(dirfd.get(), name, kind);
}

Result<ImageWriter> ImageWriter::create_at(int dirfd, const std::string &name, ImageKind kind) {
    route_protobuf_logging();
    const KindInfo *info = kind_info(kind);
    if (!info || info->raw) return Error(log::cat(name, ": ", kind_name(kind), " is not a protobuf image kind"));
    STASIS_ASSIGN(TempFile file, TempFile::create(dirfd, name));
    ImageWriter w(std::move(file), info);
    w.buffer_.resize(kHeaderSize);
    encode_header(ImageHeader{kImageMagic, uint32_t(kind), info->version, 0}, w.buffer_.data());
    return w;
}

Status ImageWriter::write(const google::protobuf::Message &record) {
    const auto *d = kind_->file_message;
    const auto *head = d->FindFieldByNumber(4);
    const auto *records = d->FindFieldByNumber(5);
    const google::protobuf::FieldDescriptor *place = (records_ == 0 && head) ? head : records;
    if (!place)
        return Error(log::cat(name(), ": a ", kind_->name, " image holds exactly one ",
                              head->message_type()->name(), " record"));
    if (record.GetDescriptor() != place->message_type())
        return Error(log::cat(name(), ": record #", records_, " must be a ", place->message_type()->name(),
                              ", not a ", record.GetDescriptor()->name()));
    STASIS_TRY(std::move(append_record(&buffer_, record)).context(name()));
    records_++;
    if (buffer_.size() >= kFlushBytes) return flush();
    return ok();
}

Status ImageWriter::flush() {
    if (buffer_.empty()) return ok();
    STASIS_TRY(std::move(write_all(file_.fd(), buffer_.data(), buffer_.size())).context(name()));
    crc_ = crc32c_update(crc_, buffer_.data(), buffer_.size());
    size_ += buffer_.size();
    buffer_.clear();
    return ok();
}

uint32_t ImageWriter::crc32c() const { return crc32c_update(crc_, buffer_.data(), buffer_.size()); }

Status ImageWriter::commit() {
    const auto *head = kind_->file_message->FindFieldByNumber(4);
    if (head && records_ == 0)
        return Error(log::cat(name(), ": no ", head->message_type()->name(), " record written"));
    STASIS_TRY(flush());
    return file_.commit();
}

Status ImageWriter::sync() {
    STASIS_TRY(flush());
    if (::fdatasync(file_.fd()) != 0) return Error::from_errno(log::cat(name(), ": fdatasync"));
    return ok();
}

RawImageWriter::RawImageWriter(std::optional<TempFile> file, std::unique_ptr<RawImageSink> sink, ImageKind kind,
                               uint64_t data_offset)
    : file_(std::move(file)), sink_(std::move(sink)), kind_(kind), data_offset_(data_offset) {}

Result<RawImageWriter> RawImageWriter::create(const std::string &dir, const std::string &name, ImageKind kind,
                                              uint32_t page_size) {
    const KindInfo *info = kind_info(kind);
    if (!info || !info->raw) return Error(log::cat(name, ": ", kind_name(kind), " is not a raw image kind"));
    if (!valid_page_size(page_size)) return Error(log::cat(name, ": invalid page size ", page_size));
    STASIS_ASSIGN(Fd dirfd, open_dir(dir, false));
    STASIS_ASSIGN(TempFile file, TempFile::create(dirfd.get(), name));
    // The header padded with zeros to one page: data starts page-aligned.
    std::string first_page(page_size, '\0');
    encode_header(ImageHeader{kImageMagic, uint32_t(kind), info->version, 0}, first_page.data());
    STASIS_TRY(std::move(write_all(file.fd(), first_page.data(), first_page.size())).context(name));
    return RawImageWriter(std::move(file), nullptr, kind, page_size);
}

RawImageWriter RawImageWriter::remote(std::unique_ptr<RawImageSink> sink, ImageKind kind, uint32_t page_size) {
    return RawImageWriter(std::nullopt, std::move(sink), kind, page_size);
}

Status RawImageWriter::append(const void *data, size_t len) {
    if (sink_) {
        STASIS_TRY(sink_->append(data, len));
        sent_ += len;
        return ok();
    }
    return std::move(write_all(file_->fd(), data, len)).context(file_->name());
}

Status RawImageWriter::append_iov(const struct iovec *iov, int count) {
    if (sink_) {
        STASIS_TRY(sink_->append_iov(iov, count));
        for (int i = 0; i < count; ++i) sent_ += iov[i].iov_len;
        return ok();
    }
    return std::move(writev_all(file_->fd(), iov, count)).context(file_->name());
}

Status RawImageWriter::reserve(uint64_t bytes) {
    if (sink_ || bytes == 0) return ok();
    off_t pos = ::lseek(file_->fd(), 0, SEEK_CUR);
    if (pos < 0) return Error::from_errno(log::cat(file_->name(), ": lseek"));
    static const std::string zeros(1u << 20, '\0');
    for (uint64_t left = bytes; left;) {
        size_t n = size_t(std::min<uint64_t>(left, zeros.size()));
        STASIS_TRY(std::move(write_all(file_->fd(), zeros.data(), n)).context(file_->name() + ": reserve"));
        left -= n;
    }
    reserved_ = true;
    if (::lseek(file_->fd(), pos, SEEK_SET) != pos) return Error::from_errno(log::cat(file_->name(), ": lseek"));
    return ok();
}

Status RawImageWriter::extend(uint64_t bytes) {
    if (sink_ || bytes == 0) return ok();
    off_t pos = ::lseek(file_->fd(), 0, SEEK_CUR);
    struct stat st {};
    if (pos < 0 || ::fstat(file_->fd(), &st) != 0) return Error::from_errno(log::cat(file_->name(), ": extend"));
    if (uint64_t(st.st_size) >= uint64_t(pos) + bytes) return ok();
    if (::ftruncate(file_->fd(), off_t(uint64_t(pos) + bytes)) != 0)
        return Error::from_errno(log::cat(file_->name(), ": extend"));
    reserved_ = true;
    return ok();
}

uint64_t RawImageWriter::size() const {
    if (sink_) return sent_;
    off_t pos = ::lseek(file_->fd(), 0, SEEK_CUR);
    return pos < 0 ? 0 : uint64_t(pos) - data_offset_;
}

Status RawImageWriter::commit() {
    uint64_t data = size();
    if (kind_ == IMAGE_PAGES && data % data_offset_ != 0)
        return Error(log::cat(name(), ": ", data, " data bytes are not whole pages of ", data_offset_));
    if (sink_) return sink_->commit(data);
    if (reserved_ && ::ftruncate(file_->fd(), off_t(data_offset_ + data)) != 0)
        return Error::from_errno(log::cat(file_->name(), ": cut the reserved space not written"));
    return file_->commit();
}

Status RawImageWriter::sync() {
    // A page server's commit answers once the file is complete on its side.
    if (sink_) return ok();
    if (::fdatasync(file_->fd()) != 0) return Error::from_errno(log::cat(file_->name(), ": fdatasync"));
    return ok();
}

}  // namespace stasis::images
