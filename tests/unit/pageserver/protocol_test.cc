#include "common/pageserver/protocol.h"

#include <gtest/gtest.h>

#include <string>

namespace stasis::pageserver {
namespace {

Header sample() {
    Header h;
    h.op = Op::read;
    h.handle = 0x11223344;
    h.flags = 0xa1b2c3d4;
    h.offset = 0x0102030405060708ull;
    h.length = kMaxPayload;
    return h;
}

TEST(PageServerProtocol, EncodedHeaderDecodesToTheSameFields) {
    unsigned char buf[kHeaderSize];
    encode(sample(), buf);
    auto h = decode(buf);
    ASSERT_TRUE(h.ok()) << h.error().message();
    EXPECT_EQ(h->op, Op::read);
    EXPECT_EQ(h->handle, 0x11223344u);
    EXPECT_EQ(h->flags, 0xa1b2c3d4u);
    EXPECT_EQ(h->offset, 0x0102030405060708ull);
    EXPECT_EQ(h->length, kMaxPayload);
}

TEST(PageServerProtocol, HeaderIsLittleEndianOnEveryHost) {
    unsigned char buf[kHeaderSize];
    encode(sample(), buf);
    EXPECT_EQ(std::string(reinterpret_cast<char *>(buf), 4), "STPS");
    EXPECT_EQ(buf[4], kVersion & 0xff);
    EXPECT_EQ(buf[5], 0);
    EXPECT_EQ(buf[6], uint8_t(Op::read));
    EXPECT_EQ(buf[7], 0);
    EXPECT_EQ(buf[8], 0x44);
    EXPECT_EQ(buf[11], 0x11);
    EXPECT_EQ(buf[12], 0xd4);
    EXPECT_EQ(buf[16], 0x08);
    EXPECT_EQ(buf[23], 0x01);
    EXPECT_EQ(buf[24], 0x00);
    EXPECT_EQ(buf[26], 0x80);  // 8 MiB = 0x800000
}

TEST(PageServerProtocol, DecodeRefusesWrongMagic) {
    unsigned char buf[kHeaderSize];
    encode(sample(), buf);
    buf[0] = 'X';
    auto h = decode(buf);
    ASSERT_FALSE(h.ok());
    EXPECT_NE(h.error().message().find("page server protocol: bad magic"), std::string::npos)
        << h.error().message();
}

TEST(PageServerProtocol, DecodeRefusesAnotherVersion) {
    unsigned char buf[kHeaderSize];
    encode(sample(), buf);
    buf[4] = kVersion + 1;
    auto h = decode(buf);
    ASSERT_FALSE(h.ok());
    EXPECT_NE(h.error().message().find("version 2"), std::string::npos) << h.error().message();
}

TEST(PageServerProtocol, DecodeRefusesUnknownOps) {
    for (unsigned op : {0u, 15u, 0x100u, 0xffffu}) {
        unsigned char buf[kHeaderSize];
        encode(sample(), buf);
        buf[6] = uint8_t(op);
        buf[7] = uint8_t(op >> 8);
        auto h = decode(buf);
        ASSERT_FALSE(h.ok()) << op;
        EXPECT_NE(h.error().message().find("unknown op " + std::to_string(op)), std::string::npos)
            << h.error().message();
    }
}

TEST(PageServerProtocol, DecodeRefusesPayloadOverTheLimit) {
    Header big = sample();
    big.length = kMaxPayload + 1;
    unsigned char buf[kHeaderSize];
    encode(big, buf);
    auto h = decode(buf);
    ASSERT_FALSE(h.ok());
    EXPECT_NE(h.error().message().find("over the 8388608-byte limit"), std::string::npos)
        << h.error().message();
    big.length = ~0ull;
    encode(big, buf);
    EXPECT_FALSE(decode(buf).ok());
}

TEST(PageServerProtocol, PagesNamesAreAcceptedInTheirOneSpelling) {
    for (const char *good : {"pages-0.img", "pages-1.img", "pages-42.img", "pages-4294967295.img"})
        EXPECT_TRUE(valid_pages_name(good)) << good;
    for (const char *bad : {"",
                            "pages-.img",
                            "pages-01.img",
                            "pages-00.img",
                            "pages--1.img",
                            "pages-+1.img",
                            "pages-1a.img",
                            "pages-4294967296.img",
                            "pages-1.img/",
                            "../pages-1.img",
                            "dir/pages-1.img",
                            "pages-1.imgx",
                            "pages-1.im",
                            "Pages-1.img",
                            "pages_1.img",
                            "ghost-1.img",
                            "core-1.img",
                            ".pages-1.img",
                            "pages- 1.img",
                            "pages-1.img\n"})
        EXPECT_FALSE(valid_pages_name(bad)) << bad;
    EXPECT_FALSE(valid_pages_name(std::string("pages-1\0.img", 12)));
    EXPECT_FALSE(valid_pages_name("pages-" + std::string(kMaxName, '1') + ".img"));
}

TEST(PageServerProtocol, OpsHaveNames) {
    EXPECT_STREQ(op_name(Op::hello), "hello");
    EXPECT_STREQ(op_name(Op::commit), "commit");
    EXPECT_STREQ(op_name(Op::bye_ok), "bye_ok");
    EXPECT_STREQ(op_name(Op(99)), "unknown op");
}

}  // namespace
}  // namespace stasis::pageserver
