#include "streams/hash_key.h"

#include "gtest/gtest.h"

namespace sluice::streams {
namespace {

TEST(HashKeyTest, DecimalRoundTripsAtTheEdges) {
  EXPECT_EQ(HashKey{}.ToDecimal(), "0");
  EXPECT_EQ(HashKey::Max().ToDecimal(), "340282366920938463463374607431768211455");
  EXPECT_EQ(HashKey::Parse("340282366920938463463374607431768211455"), HashKey::Max());
  EXPECT_EQ(HashKey::Parse("18446744073709551616"), (HashKey{1, 0}));
  EXPECT_FALSE(HashKey::Parse("340282366920938463463374607431768211456"));  // 2^128
  EXPECT_FALSE(HashKey::Parse(""));
  EXPECT_FALSE(HashKey::Parse("-1"));
  EXPECT_FALSE(HashKey::Parse("12a"));
}

TEST(HashKeyTest, PartitionKeyMapsThroughMd5BigEndian) {
  // MD5("a") = 0cc175b9c0f1b6a831c399e269772661
  EXPECT_EQ(HashKey::FromPartitionKey("a"),
            (HashKey{0x0cc175b9c0f1b6a8ull, 0x31c399e269772661ull}));
}

TEST(HashKeyTest, EvenRangesMatchWhatKinesisCreates) {
  auto two = EvenRanges(2);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].start.ToDecimal(), "0");
  EXPECT_EQ(two[0].end.ToDecimal(), "170141183460469231731687303715884105727");
  EXPECT_EQ(two[1].start.ToDecimal(), "170141183460469231731687303715884105728");
  EXPECT_EQ(two[1].end, HashKey::Max());
  auto three = EvenRanges(3);
  EXPECT_EQ(three[1].start.ToDecimal(), "113427455640312821154458202477256070485");
  EXPECT_EQ(three[2].start.ToDecimal(), "226854911280625642308916404954512140970");
  auto one = EvenRanges(1);
  EXPECT_EQ(one[0].start, HashKey{});
  EXPECT_EQ(one[0].end, HashKey::Max());
}

}  // namespace
}  // namespace sluice::streams
