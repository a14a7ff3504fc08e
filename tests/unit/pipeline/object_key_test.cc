#include "pipeline/object_key.h"

#include <gtest/gtest.h>

#include <regex>

namespace sluice::pipeline {
namespace {

constexpr int64_t kInstant = 1535365805123;  // 2018-08-27T10:30:05.123Z

config::StreamConfig Stream(const std::string& prefix, const std::string& error_prefix = "") {
  config::StreamConfig s;
  s.name = "orders";
  s.staged.url = "file:///tmp/x";
  s.staged.prefix = prefix;
  s.error_output_prefix = error_prefix;
  return s;
}

TEST(ObjectKey, DefaultPrefixIsUtcHourFromOldestRecord) {
  auto k = KeyMaker::Create(Stream(""));
  ASSERT_TRUE(k.ok());
  BatchId id{"orders", 0, 100, 200};
  auto key = k->StagedKey(id, 1, kInstant);
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE(std::regex_match(
      *key,
      std::regex(
          R"(2018/08/27/10/orders-1-2018-08-27-10-30-05-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")))
      << *key;
}

TEST(ObjectKey, SameBatchSameKeyDifferentBatchDifferentKey) {
  auto k =
      KeyMaker::Create(Stream("p/!{firehose:random-string}/", "e/!{firehose:error-output-type}/"));
  ASSERT_TRUE(k.ok());
  BatchId a{"orders", 0, 100, 200}, b{"orders", 0, 200, 300}, c{"orders", 1, 100, 200};
  EXPECT_EQ(*k->StagedKey(a, 1, kInstant), *k->StagedKey(a, 1, kInstant));
  EXPECT_NE(*k->StagedKey(a, 1, kInstant), *k->StagedKey(b, 1, kInstant));
  EXPECT_NE(*k->StagedKey(a, 1, kInstant), *k->StagedKey(c, 1, kInstant));
}

TEST(ObjectKey, LiteralPrefixGetsTheDefaultTimePrefixAppended) {
  auto k = KeyMaker::Create(Stream("myFirehosePrefix/"));
  ASSERT_TRUE(k.ok());
  BatchId id{"orders", 0, 0, 1};
  EXPECT_EQ(k->StagedKey(id, 2, kInstant)->rfind("myFirehosePrefix/2018/08/27/10/orders-2-", 0),
            0u);
  // No ErrorOutputPrefix: errors go under <Prefix><error-output-type>/<hour>/.
  EXPECT_EQ(k->ErrorKey(id, 2, kInstant, ErrorOutputType::kProcessingFailed)
                ->rfind("myFirehosePrefix/processing-failed/2018/08/27/10/orders-2-", 0),
            0u);
}

TEST(ObjectKey, TimestampExpressionReplacesTheDefault) {
  auto k = KeyMaker::Create(Stream("year=!{timestamp:yyyy}/month=!{timestamp:MM}/",
                                   "err/!{firehose:error-output-type}/!{timestamp:yyyy}/"));
  ASSERT_TRUE(k.ok());
  BatchId id{"orders", 0, 0, 1};
  EXPECT_EQ(k->StagedKey(id, 1, kInstant)->rfind("year=2018/month=08/orders-1-", 0), 0u);
  EXPECT_EQ(k->ErrorKey(id, 1, kInstant, ErrorOutputType::kProcessingFailed)
                ->rfind("err/processing-failed/2018/orders-1-", 0),
            0u);
}

TEST(ObjectKey, ExtensionFollowsCompressionUnlessOverridden) {
  auto s = Stream("");
  s.compression = compress::Format::kGzip;
  EXPECT_EQ(KeyMaker::Create(s)->extension(), ".gz");
  s.file_extension = ".json.gz";
  auto k = KeyMaker::Create(s);
  EXPECT_EQ(k->extension(), ".json.gz");
  BatchId id{"orders", 0, 0, 1};
  auto key = *k->StagedKey(id, 1, kInstant);
  EXPECT_EQ(key.substr(key.size() - 8), ".json.gz");
}

}  // namespace
}  // namespace sluice::pipeline

namespace sluice::pipeline {
namespace {

TEST(ObjectKey, CustomTimeZoneShiftsThePrefixButNotTheName) {
  config::StreamConfig s;
  s.name = "orders";
  s.staged.url = "file:///tmp/x";
  s.custom_time_zone = "Asia/Tokyo";  // UTC+9
  auto k = KeyMaker::Create(s);
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  BatchId id{"orders", 0, 0, 1};
  EXPECT_EQ(
      k->StagedKey(id, 1, 1535365805123)->rfind("2018/08/27/19/orders-1-2018-08-27-10-30-05-", 0),
      0u);
}

}  // namespace
}  // namespace sluice::pipeline
