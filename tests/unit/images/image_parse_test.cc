// One image file as bytes: every structural defect is one clear error, and
// no input crashes the parser or makes it allocate without bound.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "common/images/format.h"
#include "common/images/image_codec.h"
#include "common/images/images.h"
#include "tests/unit/images/sample_checkpoint.h"

namespace stasis::images {
namespace {

using testing::TempDir;

std::string header(uint32_t kind, uint32_t version = 1, uint32_t flags = 0, uint32_t magic = kImageMagic) {
    std::string h(kHeaderSize, '\0');
    encode_header(ImageHeader{magic, kind, version, flags}, h.data());
    return h;
}

std::string parse_error(const std::string &bytes, ImageKind kind) {
    auto r = parse_image_file(bytes, kind);
    return r.ok() ? "OK" : r.error().message();
}

std::string record(const google::protobuf::Message &m) {
    std::string out;
    EXPECT_TRUE(append_record(&out, m).ok());
    return out;
}

TEST(ImageParse, TruncatedHeaderIsRefused) {
    EXPECT_EQ(parse_error(header(IMAGE_MM).substr(0, 7), IMAGE_MM), "truncated header: 7 of 16 bytes");
}

TEST(ImageParse, BadMagicIsRefused) {
    EXPECT_EQ(parse_error(header(IMAGE_MM, 1, 0, 0x464c457f), IMAGE_MM),
              "bad magic 0x464c457f (not a stasis image; expected 0x53415453)");
}

TEST(ImageParse, UnknownKindIsRefused) {
    EXPECT_EQ(parse_error(header(99), IMAGE_KIND_UNSPECIFIED), "unknown image kind 99 (written by a newer stasis?)");
}

TEST(ImageParse, WrongKindIsRefused) {
    EXPECT_EQ(parse_error(header(IMAGE_CORE), IMAGE_MM), "wrong image kind: core where mm was expected");
}

TEST(ImageParse, VersionZeroAndNewerVersionsAreRefused) {
    EXPECT_EQ(parse_error(header(IMAGE_FDINFO, 0), IMAGE_FDINFO), "invalid fdinfo image version 0");
    EXPECT_EQ(parse_error(header(IMAGE_FDINFO, 2), IMAGE_FDINFO),
              "fdinfo image version 2 is newer than this stasis reads (1)");
}

TEST(ImageParse, ReservedFlagsAreRefused) {
    EXPECT_EQ(parse_error(header(IMAGE_FDINFO, 1, 4), IMAGE_FDINFO), "unknown header flags 0x4");
}

TEST(ImageParse, RawKindHasNoRecords) {
    EXPECT_EQ(parse_error(header(IMAGE_PAGES), IMAGE_KIND_UNSPECIFIED), "pages images hold raw data, not records");
}

TEST(ImageParse, LengthBeyondTheFileIsRefused) {
    std::string bytes = header(IMAGE_FDINFO) + "\x20" + "abc";
    EXPECT_EQ(parse_error(bytes, IMAGE_FDINFO), "record #0: truncated: length 32 but only 3 bytes left");
}

TEST(ImageParse, LengthOverTheCapIsRefused) {
    // 64 MiB + 1 as a varint: 0x81 0x80 0x80 0x20.
    std::string bytes = header(IMAGE_FDINFO) + std::string("\x81\x80\x80\x20", 4);
    EXPECT_EQ(parse_error(bytes, IMAGE_FDINFO), "record #0: length 67108865 is over the 64 MiB limit");
    std::string huge = header(IMAGE_FDINFO) + std::string(9, '\xff') + "\x01";
    EXPECT_EQ(parse_error(huge, IMAGE_FDINFO), "record #0: length 18446744073709551615 is over the 64 MiB limit");
}

TEST(ImageParse, MalformedLengthIsRefused) {
    EXPECT_EQ(parse_error(header(IMAGE_FDINFO) + std::string(11, '\xff'), IMAGE_FDINFO),
              "record #0: truncated or malformed length");
    EXPECT_EQ(parse_error(header(IMAGE_FDINFO) + "\x80", IMAGE_FDINFO), "record #0: truncated or malformed length");
}

TEST(ImageParse, RecordThatDoesNotParseIsRefused) {
    FdEntry fd;
    fd.set_fd(3);
    // Field 1 with wire type 7 does not exist.
    std::string bytes = header(IMAGE_FDINFO) + record(fd) + "\x02\x0f\x01";
    EXPECT_EQ(parse_error(bytes, IMAGE_FDINFO), "record #1 (FdEntry): does not parse");
}

TEST(ImageParse, NonUtf8StringIsRefused) {
    VdsoInfo vdso;
    vdso.add_symbols()->set_name("ok");
    std::string rec = record(vdso);
    rec[rec.size() - 1] = '\xff';  // the symbol name is the last bytes
    EXPECT_EQ(parse_error(header(IMAGE_VDSO) + rec, IMAGE_VDSO), "record #0 (VdsoInfo): does not parse");
}

TEST(ImageParse, MissingHeadRecordIsRefused) {
    EXPECT_EQ(parse_error(header(IMAGE_MM), IMAGE_MM), "no MmHeader record");
    EXPECT_EQ(parse_error(header(IMAGE_INVENTORY), IMAGE_INVENTORY), "no Inventory record");
}

TEST(ImageParse, SecondRecordInASingleRecordImageIsRefused) {
    std::string bytes = header(IMAGE_VDSO) + record(VdsoInfo()) + record(VdsoInfo());
    EXPECT_EQ(parse_error(bytes, IMAGE_VDSO), "record #1: unexpected record after the VdsoInfo (a vdso image holds one)");
}

TEST(ImageParse, CountDisagreeingWithRecordsIsRefused) {
    MmHeader mm;
    mm.set_vma_count(3);
    std::string bytes = header(IMAGE_MM) + record(mm) + record(Vma()) + record(Vma());
    EXPECT_EQ(parse_error(bytes, IMAGE_MM), "MmHeader.vma_count is 3 but 2 Vma records follow (truncated?)");
    PagemapHead head;
    head.set_entry_count(1);
    EXPECT_EQ(parse_error(header(IMAGE_PAGEMAP) + record(head), IMAGE_PAGEMAP),
              "PagemapHead.entry_count is 1 but 0 PagemapEntry records follow (truncated?)");
}

TEST(ImageParse, HugeRecordCountsAreRefusedEarly) {
    // Empty records are one byte each: without a cap a small file would
    // become millions of messages.
    MmHeader mm;
    mm.set_vma_count(kMaxVmas + 1);
    std::string bytes = header(IMAGE_MM) + record(mm) + std::string(kMaxVmas + 1, '\0');
    EXPECT_EQ(parse_error(bytes, IMAGE_MM), "more than 1048576 Vma records");
}

TEST(ImageParse, ValidImageParses) {
    MmHeader mm;
    mm.set_vma_count(1);
    Vma v;
    v.set_start(0x1000);
    v.set_end(0x2000);
    auto r = parse_image_file_as<MmImage>(header(IMAGE_MM) + record(mm) + record(v));
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r->vmas_size(), 1);
    EXPECT_EQ(r->vmas(0).end(), 0x2000u);
    EXPECT_EQ(r->version(), 1u);
}

std::string slurp(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// Cut anywhere, an image is refused, or (cut between records of a kind with
// no count) parses to fewer records: never more, never a crash.
TEST(ImageParse, TruncationAtEveryByteIsRefusedOrLosesRecords) {
    TempDir dir;
    ASSERT_TRUE(testing::write_sample(dir.path(), testing::sample_checkpoint()).ok());
    for (const char *name : {"inventory.img", "pstree.img", "files.img", "core-100.img", "mm-100.img",
                             "pagemap-100.img", "fdinfo-100.img", "vdso-100.img"}) {
        std::string whole = slurp(dir.file(name));
        ImageKind kind = kind_from_file_name(name);
        auto full = parse_image_file(whole, kind);
        ASSERT_TRUE(full.ok()) << name;
        std::string full_bytes = (*full)->SerializeAsString();
        for (size_t len = 0; len < whole.size(); len++) {
            auto cut = parse_image_file(whole.substr(0, len), kind);
            if (!cut.ok()) {
                EXPECT_FALSE(cut.error().message().empty());
                continue;
            }
            EXPECT_TRUE(kind == IMAGE_PSTREE || kind == IMAGE_FILES || kind == IMAGE_FDINFO || kind == IMAGE_CORE)
                << name << " cut at " << len << " parsed";
            EXPECT_LT((*cut)->ByteSizeLong(), full_bytes.size()) << name << " cut at " << len;
        }
    }
}

TEST(FileNames, KindsFollowFromNames) {
    EXPECT_EQ(kind_from_file_name("inventory.img"), IMAGE_INVENTORY);
    EXPECT_EQ(kind_from_file_name("core-1234.img"), IMAGE_CORE);
    EXPECT_EQ(kind_from_file_name("pages-7.img"), IMAGE_PAGES);
    EXPECT_EQ(kind_from_file_name("ghost-7.img"), IMAGE_GHOST);
    EXPECT_EQ(kind_from_file_name("core--5.img"), IMAGE_KIND_UNSPECIFIED);
    EXPECT_EQ(kind_from_file_name("inventory-1.img"), IMAGE_KIND_UNSPECIFIED);
    EXPECT_EQ(kind_from_file_name(".core-1.img.tmp.5.0"), IMAGE_KIND_UNSPECIFIED);
    EXPECT_EQ(kind_from_file_name("mm-.img"), IMAGE_KIND_UNSPECIFIED);
    EXPECT_EQ(mm_file_name(42), "mm-42.img");
}

}  // namespace
}  // namespace stasis::images
