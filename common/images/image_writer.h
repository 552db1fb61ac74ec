// Writers of single image files. Files are created 0600 under a temporary
// name and renamed into place by commit(); a writer destroyed without
// commit() unlinks its temporary file, so an aborted dump leaves no
// half-written image under an image name.
#pragma once

#include <sys/uio.h>

#include <google/protobuf/message.h>

#include <cstdint>
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

// A raw image (pages-<id>.img, ghost-<id>.img): the header padded with zeros
// to the page size, then raw data, which so stays page-aligned in the file
// for preadv() straight into place at restore.
class RawImageWriter {
public:
    static Result<RawImageWriter> create(const std::string &dir, const std::string &name, ImageKind kind,
                                         uint32_t page_size);
    RawImageWriter(RawImageWriter &&) = default;

    // The file is open for writing at its end. Writing through fd() directly
    // (e.g. splice(2) from the parasite's pipe) is fine as long as it appends
    // at the file position, as append() does; size() counts those bytes too.
    int fd() const { return file_.fd(); }
    // Where the data starts in the file: the page size.
    uint64_t data_offset() const { return data_offset_; }

    // Unbuffered: page data comes in large runs, so one write(2)/writev(2)
    // per call is already the fast path and no copy is made.
    Status append(const void *data, size_t len);
    Status append_iov(const struct iovec *iov, int count);

    // Data bytes appended so far (the header not included).
    uint64_t size() const;
    // pages-<id>.img must hold whole pages; then renames the file into place.
    Status commit();
    // fdatasync(2), for callers that need the data durable before they go on.
    Status sync();

private:
    RawImageWriter(TempFile file, ImageKind kind, uint64_t data_offset);

    TempFile file_;
    ImageKind kind_;
    uint64_t data_offset_;
};

}  // namespace stasis::images
