// Writers of single image files. Files are created 0600 under a temporary
// name and renamed into place by commit(); a writer destroyed without
// commit() unlinks its temporary file, so an aborted dump leaves no
// half-written image under an image name.
#pragma once

#include <sys/uio.h>

#include <google/protobuf/message.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/images/file_io.h"
#include "common/images/format.h"
#include "common/util/result.h"

namespace stasis::images {

// A protobuf image: the header, then length-delimited records. The first
// record is the kind's head message when it has one (MmHeader for mm, ...);
// write() refuses a record of the wrong type for its place.
class ImageWriter {
public:
    static Result<ImageWriter> create(const std::string &dir, const std::string &name, ImageKind kind);
    static Result<ImageWriter> create_at(int dirfd, const std::string &name, ImageKind kind);
    ImageWriter(ImageWriter &&) = default;

    Status write(const google::protobuf::Message &record);
    // Flushes and renames the file into place. Does not fsync: see
    // write_checkpoint() for when the data is made durable.
    Status commit();
    // Flushes and fdatasync(2)s what was written so far.
    Status sync();

    const std::string &name() const { return file_.name(); }
    int fd() const { return file_.fd(); }
    // Bytes of the whole file so far (header included) and their CRC-32C.
    uint64_t size() const { return size_ + buffer_.size(); }
    uint32_t crc32c() const;

private:
    ImageWriter(TempFile file, const KindInfo *kind);
    Status flush();

    TempFile file_;
    const KindInfo *kind_;
    std::string buffer_;
    uint64_t size_ = 0;     // bytes already written to the file
    uint32_t crc_ = 0;      // CRC-32C of those bytes
    uint64_t records_ = 0;
};

// Where a raw image goes when it is not written to a local file: a page
// server (common/pageserver), which writes the header itself.
class RawImageSink {
public:
    virtual ~RawImageSink() = default;
    virtual Status append(const void *data, size_t len) = 0;
    virtual Status append_iov(const struct iovec *iov, int count) = 0;
    // The whole image is there: `data_bytes` after the header.
    virtual Status commit(uint64_t data_bytes) = 0;
    virtual const std::string &name() const = 0;
};

// A raw image (pages-<id>.img, ghost-<id>.img): the header padded with zeros
// to the page size, then raw data, which so stays page-aligned in the file
// for preadv() straight into place at restore.
class RawImageWriter {
public:
    static Result<RawImageWriter> create(const std::string &dir, const std::string &name, ImageKind kind,
                                         uint32_t page_size);
    // The same image written through `sink` instead of a local file.
    static RawImageWriter remote(std::unique_ptr<RawImageSink> sink, ImageKind kind, uint32_t page_size);
    RawImageWriter(RawImageWriter &&) = default;

    // A local file is open for writing at its end. Writing through fd()
    // directly is fine as long as it appends at the file position, as
    // append() does; size() counts those bytes too. -1 for a remote image:
    // only append() and append_iov() reach it.
    int fd() const { return file_ ? file_->fd() : -1; }
    // Where the data starts in the file: the page size.
    uint64_t data_offset() const { return data_offset_; }

    // Unbuffered: page data comes in large runs, so one write(2)/writev(2)
    // per call is already the fast path and no copy is made.
    Status append(const void *data, size_t len);
    Status append_iov(const struct iovec *iov, int count);

    // Writes `bytes` of zeros ahead of the file position and comes back:
    // later appends overwrite them, and commit() cuts what they did not
    // reach. The file system allocates the space now (on tmpfs: pages
    // allocated, charged and cleared), not while those appends run: a dump
    // reserves before it freezes the tree what its frozen pass is going to
    // write. No-op for a remote image.
    Status reserve(uint64_t bytes);
    // The same as a hole: the file is made to reach `bytes` past the file
    // position (ftruncate), for its pages to be allocated by faults on a
    // mapping of it while appends go on (mem::copy_runs_to_image). Cut at
    // commit like a reservation. No-op for a remote image.
    Status extend(uint64_t bytes);

    // Data bytes appended so far (the header not included).
    uint64_t size() const;
    // pages-<id>.img must hold whole pages; then renames the file into place.
    Status commit();
    // fdatasync(2), for callers that need the data durable before they go on.
    Status sync();

private:
    RawImageWriter(std::optional<TempFile> file, std::unique_ptr<RawImageSink> sink, ImageKind kind,
                   uint64_t data_offset);
    const std::string &name() const { return file_ ? file_->name() : sink_->name(); }

    std::optional<TempFile> file_;
    std::unique_ptr<RawImageSink> sink_;
    ImageKind kind_;
    uint64_t data_offset_;
    uint64_t sent_ = 0;  // data bytes given to sink_
    bool reserved_ = false;  // the file may extend past what was appended
};

}  // namespace stasis::images
