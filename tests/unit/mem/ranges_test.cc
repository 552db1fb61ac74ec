#include <gtest/gtest.h>

#include "common/mem/dirty_tracking.h"

namespace stasis::mem {
namespace {

Ranges sample() {
    Ranges r;
    add_range(r, 0x1000, 0x3000);
    add_range(r, 0x3000, 0x4000);  // merged with the one before
    add_range(r, 0x8000, 0x9000);
    add_range(r, 0x20000, 0x30000);
    return r;
}

TEST(Ranges, AddRangeMergesNeighbours) {
    Ranges r = sample();
    ASSERT_EQ(r.size(), 3u);
    EXPECT_EQ(r[0], std::make_pair(uint64_t(0x1000), uint64_t(0x4000)));
}

TEST(Ranges, CursorAnswersAsOverlapsForIncreasingAddresses) {
    Ranges r = sample();
    for (uint64_t from : {uint64_t(0), uint64_t(0x2000), uint64_t(0x5000), uint64_t(0x28000), uint64_t(0x40000)}) {
        RangeCursor c(r, from);
        for (uint64_t a = from; a < 0x40000; a += 0x1000)
            EXPECT_EQ(c.overlaps(a, a + 0x1000), overlaps(r, a, a + 0x1000)) << std::hex << from << " " << a;
    }
}

TEST(Ranges, CursorOnNoRangesSaysNo) {
    Ranges none;
    RangeCursor c(none, 0x1000);
    EXPECT_FALSE(c.overlaps(0x1000, 0x2000));
}

}  // namespace
}  // namespace stasis::mem
