// Image files <-> JSON: decoding then encoding gives back the same bytes, for
// every kind; raw images are summarised; bad JSON is one clear error.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <set>

#include "common/images/image_codec.h"
#include "common/images/image_command.h"
#include "common/images/images.h"
#include "common/images/json.h"
#include "tests/unit/images/sample_checkpoint.h"

namespace stasis::images {
namespace {

using testing::TempDir;

std::string slurp(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

class SampleImages : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(testing::write_sample(dir.path(), testing::sample_checkpoint()).ok());
        // A ghost file too, so every kind is on disk.
        auto ghost = RawImageWriter::create(dir.path(), "ghost-1.img", IMAGE_GHOST, 4096);
        ASSERT_TRUE(ghost.ok());
        ASSERT_TRUE(ghost->append("deleted contents", 16).ok());
        ASSERT_TRUE(ghost->commit().ok());
    }
    TempDir dir;
};

TEST_F(SampleImages, DecodeThenEncodeIsByteIdenticalForEveryKind) {
    std::set<ImageKind> kinds;
    for (const char *name : {"inventory.img", "pstree.img", "files.img", "core-100.img", "mm-100.img",
                             "pagemap-100.img", "fdinfo-100.img", "vdso-100.img", "core-101.img", "mm-101.img",
                             "pagemap-101.img", "fdinfo-101.img", "vdso-101.img"}) {
        std::string bytes = slurp(dir.file(name));
        for (bool pretty : {false, true}) {
            auto json = image_to_json(bytes, 0, pretty);
            ASSERT_TRUE(json.ok()) << name << ": " << json.error().message();
            auto encoded = json_to_image(*json);
            ASSERT_TRUE(encoded.ok()) << name << ": " << encoded.error().message();
            EXPECT_EQ(*encoded, bytes) << name << (pretty ? " (pretty)" : "");
        }
        kinds.insert(kind_from_file_name(name));
    }
    EXPECT_EQ(kinds.size(), 8u);  // every protobuf kind
}

TEST_F(SampleImages, JsonUsesProtoFieldNames) {
    auto json = image_to_json(slurp(dir.file("mm-100.img")), 0, false);
    ASSERT_TRUE(json.ok());
    EXPECT_NE(json->find("\"kind\":\"IMAGE_MM\""), std::string::npos) << *json;
    EXPECT_NE(json->find("\"exe_file_id\":1"), std::string::npos) << *json;
    EXPECT_NE(json->find("\"vm_flags\":\"rd mr mw me ac\""), std::string::npos) << *json;
}

TEST_F(SampleImages, RawImagesAreSummarisedNotDumped) {
    auto pages = image_file_to_json(dir.file("pages-1.img"), 0, false);
    ASSERT_TRUE(pages.ok()) << pages.error().message();
    EXPECT_EQ(*pages, "{\"kind\":\"IMAGE_PAGES\",\"version\":1,\"file_size\":\"28672\",\"data_offset\":\"4096\","
                      "\"data_size\":\"24576\",\"pages\":\"6\"}");
    auto ghost = image_file_to_json(dir.file("ghost-1.img"), 0, false);
    ASSERT_TRUE(ghost.ok());
    EXPECT_NE(ghost->find("\"data_size\":\"16\""), std::string::npos) << *ghost;
    auto refused = json_to_image(*pages);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().message(), "pages images hold raw data and have no JSON form to encode");
}

TEST_F(SampleImages, DirectoryDecodesToOneObjectOfEveryImage) {
    for (bool pretty : {false, true}) {
        auto json = image_dir_to_json(dir.path(), pretty);
        ASSERT_TRUE(json.ok()) << json.error().message();
        for (const char *name : {"inventory.img", "pstree.img", "core-101.img", "pages-2.img", "ghost-1.img"})
            EXPECT_NE(json->find(std::string("\"") + name + "\":"), std::string::npos) << name;
        EXPECT_EQ(json->front(), '{');
        EXPECT_EQ(json->back(), '}');
    }
}

TEST(ImageJson, HandWrittenJsonEncodes) {
    auto bytes = json_to_image(R"({"kind": "IMAGE_FDINFO", "version": 1, "fds": [{"fd": 3, "file_id": 9}]})");
    ASSERT_TRUE(bytes.ok()) << bytes.error().message();
    auto parsed = parse_image_file_as<FdinfoImage>(*bytes);
    ASSERT_TRUE(parsed.ok());
    ASSERT_EQ(parsed->fds_size(), 1);
    EXPECT_EQ(parsed->fds(0).file_id(), 9u);
}

TEST(ImageJson, EncodeWritesUnknownVersionsForTestImages) {
    auto bytes = json_to_image(R"({"kind": "IMAGE_VDSO", "version": 7, "vdso": {}})");
    ASSERT_TRUE(bytes.ok());
    auto parsed = parse_image_file(*bytes, IMAGE_VDSO);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.error().message(), "vdso image version 7 is newer than this stasis reads (1)");
}

TEST(ImageJson, BadJsonIsOneClearError) {
    for (const char *json : {"", "{", "[]", "{\"kind\": \"IMAGE_NOPE\"}", "{\"kind\": 42}",
                             "{\"kind\": \"IMAGE_MM\", \"vmass\": []}", "{\"kind\": \"IMAGE_MM\", \"mm\": 5}"}) {
        auto r = json_to_image(json);
        ASSERT_FALSE(r.ok()) << json;
        EXPECT_EQ(r.error().message().find('\n'), std::string::npos) << r.error().message();
    }
    EXPECT_EQ(json_to_image("{}").error().message(), "JSON: \"kind\" kind 0 is not an image kind");
}

TEST(ImageJson, DeeplyNestedJsonIsAnErrorNotACrash) {
    std::string deep = "{\"kind\": \"IMAGE_MM\", \"mm\": " + std::string(200000, '[') + std::string(200000, ']') + "}";
    EXPECT_FALSE(json_to_image(deep).ok());
    std::string objects = "{\"kind\": \"IMAGE_MM\", \"x\": ";
    for (int i = 0; i < 100000; i++) objects += "{\"a\": ";
    objects += "1" + std::string(100000, '}') + "}";
    EXPECT_FALSE(json_to_image(objects).ok());
}

// Runs `stasis image ARGS` with stdout sent to `out`; returns the exit status.
int run_image_command(const std::vector<std::string> &args, const std::string &out) {
    fflush(stdout);
    int saved = dup(1);
    int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    dup2(fd, 1);
    close(fd);
    int status = image_command(args);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    return status;
}

TEST_F(SampleImages, CommandRoundTripsAFile) {
    std::string json = dir.file("mm.json");
    ASSERT_EQ(run_image_command({"decode", dir.file("mm-100.img"), "--pretty"}, json), 0);
    ASSERT_EQ(run_image_command({"encode", json, dir.file("copy.img")}, dir.file("out.txt")), 0);
    EXPECT_EQ(slurp(dir.file("copy.img")), slurp(dir.file("mm-100.img")));
}

TEST_F(SampleImages, CommandShowsASummary) {
    ASSERT_EQ(run_image_command({"show", dir.path()}, dir.file("show.txt")), 0);
    std::string text = slurp(dir.file("show.txt"));
    EXPECT_NE(text.find("pid 100  ppid 0  pgid 100  sid 100  threads 2  comm \"sleeper\""), std::string::npos)
        << text;
    EXPECT_NE(text.find("pages: 6 (24.0 KiB) in pages-1.img, 0 in the parent, 2 lazy"), std::string::npos) << text;
    EXPECT_NE(text.find("anon-private: 2 (36.0 KiB)"), std::string::npos) << text;
}

TEST_F(SampleImages, CommandFailsWithNonZeroStatus) {
    EXPECT_EQ(run_image_command({"decode", dir.file("nope.img")}, dir.file("out.txt")), 1);
    EXPECT_EQ(run_image_command({"frobnicate"}, dir.file("out.txt")), 2);
    EXPECT_EQ(run_image_command({"encode", "only-one"}, dir.file("out.txt")), 2);
    ASSERT_EQ(::unlink(dir.file("inventory.img").c_str()), 0);
    EXPECT_EQ(run_image_command({"show", dir.path()}, dir.file("out.txt")), 1);
}

}  // namespace
}  // namespace stasis::images
