// schema: conversions to each column type and their errors.
#include "transform/schema.h"

#include <gtest/gtest.h>

#include "unit/transform/test_util.h"

namespace sluice::transform {
namespace {

using testing::Batch;
using testing::BuildOrDie;
using testing::RunBatch;
using testing::Staged;

// Converts `text` (of `kind`) to `type`; returns the output text or "ERROR: <message>".
std::string Convert(const std::string& type, ValueKind kind, const std::string& text,
                    std::vector<TimeFormat> formats = {{TimeFormat::Kind::kIso8601, ""}}) {
  ColumnSpec col;
  col.name = "c";
  EXPECT_TRUE(ParseColumnType(type, col).ok()) << type;
  col.formats = std::move(formats);
  ValueKind out_kind;
  std::string out, error;
  if (!ConvertValue(col, kind, text, out_kind, out, error)) return "ERROR: " + error;
  return out;
}

constexpr ValueKind kNum = ValueKind::kNumber;
constexpr ValueKind kStr = ValueKind::kString;

TEST(SchemaTest, IntegersConvertAndRejectFractionsAndOverflow) {
  EXPECT_EQ(Convert("bigint", kNum, "9223372036854775807"), "9223372036854775807");
  EXPECT_EQ(Convert("bigint", kStr, "-12"), "-12");
  EXPECT_EQ(Convert("bigint", kNum, "12.000"), "12");
  EXPECT_EQ(Convert("bigint", kNum, "9223372036854775808"),
            "ERROR: column \"c\" (bigint): cannot convert 9223372036854775808: out of range for "
            "bigint");
  EXPECT_EQ(Convert("bigint", kNum, "1.5"),
            "ERROR: column \"c\" (bigint): cannot convert 1.5: "
            "not an integer");
  EXPECT_EQ(Convert("integer", kNum, "2147483648"),
            "ERROR: column \"c\" (integer): cannot convert 2147483648: out of range for integer");
  EXPECT_EQ(Convert("integer", kStr, "abc"),
            "ERROR: column \"c\" (integer): cannot convert \"abc\": not an integer");
}

TEST(SchemaTest, DoublesUseShortestRoundTripText) {
  EXPECT_EQ(Convert("double", kNum, "1.10"), "1.1");
  EXPECT_EQ(Convert("double", kStr, "2.5e3"), "2500");
  EXPECT_EQ(Convert("double", kNum, "1e400"),
            "ERROR: column \"c\" (double): cannot convert 1e400: out of range for double");
  EXPECT_EQ(Convert("double", kStr, "nan"),
            "ERROR: column \"c\" (double): cannot convert \"nan\": not a finite number");
}

TEST(SchemaTest, BooleansAcceptCommonSpellings) {
  EXPECT_EQ(Convert("boolean", ValueKind::kBool, "true"), "true");
  EXPECT_EQ(Convert("boolean", kStr, "No"), "false");
  EXPECT_EQ(Convert("boolean", kNum, "1"), "true");
  EXPECT_EQ(Convert("boolean", kStr, "maybe"),
            "ERROR: column \"c\" (boolean): cannot convert \"maybe\": not a boolean");
}

TEST(SchemaTest, NumericRoundsHalfAwayFromZeroAndChecksPrecision) {
  EXPECT_EQ(Convert("numeric(10,2)", kNum, "12.345"), "12.35");
  EXPECT_EQ(Convert("numeric(10,2)", kNum, "-12.345"), "-12.35");
  EXPECT_EQ(Convert("numeric(10,2)", kStr, "7"), "7.00");
  EXPECT_EQ(Convert("numeric(10,2)", kNum, "1.5e2"), "150.00");
  EXPECT_EQ(Convert("numeric(5,0)", kNum, "99999.5"),
            "ERROR: column \"c\" (numeric(5,0)): cannot convert 99999.5: too many digits for 5 "
            "integer digits");
  EXPECT_EQ(Convert("numeric(38,0)", kNum, "123456789012345678901234567890"),
            "123456789012345678901234567890");
  EXPECT_EQ(Convert("decimal(4,3)", kNum, "-0.0001"), "0.000");
  EXPECT_EQ(Convert("numeric(10,2)", kStr, "12,5"),
            "ERROR: column \"c\" (numeric(10,2)): cannot convert \"12,5\": not a decimal number");
}

TEST(SchemaTest, TimestampsFromIsoEpochAndPatternsInUtc) {
  EXPECT_EQ(Convert("timestamp", kStr, "2024-02-29T23:59:58.5+01:00"),
            "2024-02-29 22:59:58.500000");
  EXPECT_EQ(Convert("timestamp", kStr, "2024-01-02 03:04:05Z"), "2024-01-02 03:04:05");
  EXPECT_EQ(Convert("timestamp", kNum, "1700000000123", {{TimeFormat::Kind::kEpochMs, ""}}),
            "2023-11-14 22:13:20.123000");
  EXPECT_EQ(Convert("timestamp", kNum, "1700000000.5", {{TimeFormat::Kind::kEpochS, ""}}),
            "2023-11-14 22:13:20.500000");
  EXPECT_EQ(
      Convert("timestamp", kStr, "31/12/1999 23:59",
              {{TimeFormat::Kind::kIso8601, ""}, {TimeFormat::Kind::kPattern, "%d/%m/%Y %H:%M"}}),
      "1999-12-31 23:59:00");
  EXPECT_EQ(Convert("timestamp", kStr, "2023-02-29T00:00:00Z"),
            "ERROR: column \"c\" (timestamp): cannot convert \"2023-02-29T00:00:00Z\": matches "
            "none of the formats [iso8601]");
  EXPECT_EQ(Convert("date", kStr, "2024-03-01T01:00:00+02:00"), "2024-02-29");
}

TEST(SchemaTest, JsonAndTextKeepValues) {
  EXPECT_EQ(Convert("json", kStr, "a\"b"), "\"a\\\"b\"");
  EXPECT_EQ(Convert("json", ValueKind::kJson, "[1,2]"), "[1,2]");
  EXPECT_EQ(Convert("text", kNum, "1.50"), "1.50");
}

TEST(SchemaTest, UnknownTypeListsTheAllowedOnes) {
  ColumnSpec col;
  Status st = ParseColumnType("money", col);
  EXPECT_EQ(st.message(),
            "unknown type \"money\"; allowed: text, bigint, integer, double, boolean, timestamp, "
            "date, numeric(p,s), json");
}

TEST(SchemaTest, ChainAppliesColumnsSourcesDefaultsAndRequired) {
  auto chain = BuildOrDie({{"flatten", R"({"explode":"items"})"}, {"schema", R"J({"columns":[
          {"name":"order_id","source":"id","type":"bigint","required":true},
          {"name":"customer","source":"customer.name","type":"text"},
          {"name":"sku","source":"items.sku","type":"text","required":true},
          {"name":"price","source":"items.price","type":"numeric(8,2)"},
          {"name":"country","source":"customer.country","type":"text","default":"NO"},
          {"name":"ts","type":"timestamp","formats":["epoch_ms"]}]})J"}},
                          R"({"csv":{"header":true}})");
  auto result = RunBatch(
      *chain,
      Batch(
          {R"({"id":1,"customer":{"name":"Ann"},"items":[{"sku":"a","price":"1.5"},{"sku":"b","price":2}],"ts":1700000000000})",
           R"({"id":"x","items":[{"sku":"a"}]})", R"({"id":3,"items":[{"sku":"a"},{"price":1}]})",
           R"({"id":4,"items":[{"sku":"c","price":"abc"}]})"}));
  EXPECT_EQ(Staged(result),
            "order_id,customer,sku,price,country,ts\n"
            "1,Ann,a,1.50,NO,2023-11-14 22:13:20\n"
            "1,Ann,b,2.00,NO,2023-11-14 22:13:20\n");
  EXPECT_EQ(result.records[0].outcome, Outcome::kOk);
  EXPECT_EQ(result.records[0].rows, 2u);
  EXPECT_EQ(result.records[1].error_code, "Schema.ConversionFailed");
  EXPECT_EQ(result.records[1].error_message,
            "column \"order_id\" (bigint): cannot convert \"x\": not an integer");
  EXPECT_EQ(result.records[2].error_code, "Schema.RequiredValueMissing");
  EXPECT_EQ(result.records[2].error_message,
            "column \"sku\" (text) is required but the record has no value at \"items.sku\"");
  EXPECT_EQ(result.records[3].error_message,
            "column \"price\" (numeric(8,2)): cannot convert \"abc\": not a decimal number");
}

TEST(SchemaTest, BadSchemaConfigIsRejectedWithTheColumnNamed) {
  auto f = FormatSpec::Parse("csv");
  auto chain = testing::BuildChain(
      {{"schema", R"J({"columns":[{"name":"a","type":"numeric(40,2)"}]})J"}}, *f);
  ASSERT_FALSE(chain.ok());
  EXPECT_EQ(chain.status().message(),
            "processor 1 (schema): column \"a\": type \"numeric(40,2)\": numeric(p,s) needs 1 <= "
            "p <= 38 and 0 <= s <= p");
  chain = testing::BuildChain(
      {{"schema", R"({"columns":[{"name":"a","type":"integer","default":"x"}]})"}}, *f);
  ASSERT_FALSE(chain.ok());
  EXPECT_EQ(chain.status().message(),
            "processor 1 (schema): column \"a\": default: column \"a\" (integer): cannot convert "
            "\"x\": not an integer");
}

}  // namespace
}  // namespace sluice::transform
