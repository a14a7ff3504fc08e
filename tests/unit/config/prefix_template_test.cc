#include "config/prefix_template.h"

#include <gtest/gtest.h>

namespace sluice::config {
namespace {

// 2018-08-27T10:30:05.123Z, the example instant of the Firehose developer guide.
constexpr int64_t kInstant = 1535365805123;

TEST(FormatTimestamp, FormatsJavaPatternLetters) {
  EXPECT_EQ(*FormatTimestamp("yyyy/MM/dd/HH/", kInstant), "2018/08/27/10/");
  EXPECT_EQ(*FormatTimestamp("yyyy-MM-dd-HH-mm-ss", kInstant), "2018-08-27-10-30-05");
  EXPECT_EQ(*FormatTimestamp("yy.M.d H:m:s.SSS", kInstant), "18.8.27 10:30:5.123");
  EXPECT_EQ(*FormatTimestamp("DDD", kInstant), "239");
  EXPECT_EQ(*FormatTimestamp("'year='yyyy'/month='MM", kInstant), "year=2018/month=08");
  EXPECT_EQ(*FormatTimestamp("''HH''", kInstant), "'10'");
}

TEST(FormatTimestamp, UnsupportedLetterIsAnError) {
  auto r = FormatTimestamp("yyyy-ww", kInstant);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unsupported letter 'w'"), std::string::npos);
  EXPECT_FALSE(FormatTimestamp("'open", kInstant).ok());
}

TEST(PrefixTemplate, EvaluatesEveryExpressionKind) {
  auto t = PrefixTemplate::Parse(
      "logs/!{partitionKeyFromQuery:customer}/!{partitionKeyFromLambda:dev}/!{timestamp:yyyy}/"
      "!{firehose:random-string}/",
      false);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  PrefixContext ctx;
  ctx.timestamp_ms = kInstant;
  ctx.partition_keys_from_query["customer"] = "c1";
  ctx.partition_keys_from_lambda["dev"] = "mobile";
  ctx.random_seed = 42;
  auto v = t->Evaluate(ctx);
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->size(), std::string("logs/c1/mobile/2018/").size() + 11 + 1);
  EXPECT_EQ(v->substr(0, 20), "logs/c1/mobile/2018/");
  EXPECT_EQ((*v)[20 + 8], '-');
  EXPECT_EQ(*t->Evaluate(ctx), *v) << "same seed, same key";
  ctx.partition_keys_from_lambda.clear();
  EXPECT_FALSE(t->Evaluate(ctx).ok());
}

TEST(PrefixTemplate, ErrorOutputTypeOnlyInErrorPrefix) {
  EXPECT_FALSE(PrefixTemplate::Parse("x/!{firehose:error-output-type}/", false).ok());
  auto t = PrefixTemplate::Parse("x/!{firehose:error-output-type}/", true);
  ASSERT_TRUE(t.ok());
  PrefixContext ctx;
  ctx.error_output_type = "processing-failed";
  EXPECT_EQ(*t->Evaluate(ctx), "x/processing-failed/");
  EXPECT_FALSE(PrefixTemplate::Parse("x/!{partitionKeyFromQuery:a}/", true).ok());
}

TEST(PrefixTemplate, RejectsUnknownAndUnclosedExpressions) {
  auto a = PrefixTemplate::Parse("x/!{foo:bar}/", false);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("allowed: !{timestamp:<pattern>}"), std::string::npos);
  EXPECT_FALSE(PrefixTemplate::Parse("x/!{timestamp:yyyy", false).ok());
  EXPECT_FALSE(PrefixTemplate::Parse("x/!{timestamp}", false).ok());
}

}  // namespace
}  // namespace sluice::config

#include "config/time_zone.h"

namespace sluice::config {
namespace {

TEST(TimeZone, OffsetsFollowDaylightSavingTime) {
  auto ny = TimeZone::Load("America/New_York");
  ASSERT_TRUE(ny.ok()) << ny.status().ToString();
  EXPECT_EQ(ny->OffsetAt(1535365805), -4 * 3600);  // 2018-08-27: EDT
  EXPECT_EQ(ny->OffsetAt(1546300800), -5 * 3600);  // 2019-01-01: EST
  auto kolkata = TimeZone::Load("Asia/Kolkata");
  ASSERT_TRUE(kolkata.ok());
  EXPECT_EQ(kolkata->OffsetAt(1535365805), 5 * 3600 + 1800);
  EXPECT_EQ(TimeZone::Load("UTC")->OffsetAt(1535365805), 0);
}

TEST(TimeZone, UnknownOrMalformedZonesAreErrors) {
  auto a = TimeZone::Load("Mars/Olympus_Mons");
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("is unknown"), std::string::npos);
  EXPECT_FALSE(TimeZone::Load("../etc/passwd").ok());
  EXPECT_FALSE(TimeZone::Load("/etc/localtime").ok());
}

TEST(PrefixTemplate, TimestampsUseTheContextOffset) {
  auto t = PrefixTemplate::Parse("!{timestamp:yyyy/MM/dd/HH}/", false);
  ASSERT_TRUE(t.ok());
  PrefixContext ctx;
  ctx.timestamp_ms = 1535365805123;  // 10:30 UTC
  ctx.utc_offset_s = -4 * 3600;
  EXPECT_EQ(*t->Evaluate(ctx), "2018/08/27/06/");
}

}  // namespace
}  // namespace sluice::config
