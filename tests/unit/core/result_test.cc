#include "common/util/result.h"

#include <gtest/gtest.h>

namespace stasis {
namespace {

Result<int> fails() { return Error::from_errno("open /nonexistent", ENOENT); }

Result<int> wraps() {
    STASIS_ASSIGN(int v, std::move(fails()).context("vma 0x1000-0x2000"));
    return v + 1;
}

TEST(Result, ErrorCollectsContextOutward) {
    auto r = std::move(wraps()).context("task 1234");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message(), "task 1234: vma 0x1000-0x2000: open /nonexistent: No such file or directory");
    EXPECT_EQ(r.error().sys_errno(), ENOENT);
}

TEST(Result, ValuePassesThroughContext) {
    Result<int> r = 41;
    auto r2 = std::move(r).context("unused");
    ASSERT_TRUE(r2.ok());
    EXPECT_EQ(*r2, 41);
}

}  // namespace
}  // namespace stasis
