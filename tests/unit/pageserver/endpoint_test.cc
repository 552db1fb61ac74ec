#include <gtest/gtest.h>

#include <string>

#include "common/pageserver/client.h"

namespace stasis::pageserver {
namespace {

TEST(PageServerEndpoint, AddressAndPortAreParsed) {
    auto e = parse_endpoint("10.0.0.2", "27000");
    ASSERT_TRUE(e.ok()) << e.error().message();
    EXPECT_EQ(e->address, "10.0.0.2");
    EXPECT_EQ(e->port, 27000);
    EXPECT_EQ(e->text(), "10.0.0.2:27000");
}

TEST(PageServerEndpoint, MissingAddressIsKeptForTheCallerToChoose) {
    auto e = parse_endpoint("", "1");
    ASSERT_TRUE(e.ok()) << e.error().message();
    EXPECT_EQ(e->address, "");
    EXPECT_EQ(e->port, 1);
}

TEST(PageServerEndpoint, Ipv6AddressesAreBracketedInText) {
    auto e = parse_endpoint("[::1]", "65535");
    ASSERT_TRUE(e.ok()) << e.error().message();
    EXPECT_EQ(e->address, "::1");
    EXPECT_EQ(e->text(), "[::1]:65535");
    auto plain = parse_endpoint("fe80::1%eth0", "80");
    ASSERT_TRUE(plain.ok()) << plain.error().message();
    EXPECT_EQ(plain->text(), "[fe80::1%eth0]:80");
}

TEST(PageServerEndpoint, PortsOutside1To65535AreRefused) {
    for (const char *bad :
         {"", "0", "65536", "99999", "123456", "-1", "+80", "80x", "0x50", " 80", "eighty"}) {
        auto e = parse_endpoint("127.0.0.1", bad);
        ASSERT_FALSE(e.ok()) << bad;
        EXPECT_NE(e.error().message().find("1..65535"), std::string::npos) << e.error().message();
    }
}

TEST(PageServerEndpoint, AddressesWithSpacesOrSlashesAreRefused) {
    EXPECT_FALSE(parse_endpoint("10.0.0.1/24", "80").ok());
    EXPECT_FALSE(parse_endpoint("host name", "80").ok());
}

}  // namespace
}  // namespace stasis::pageserver
