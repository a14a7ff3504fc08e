// Golden tests for flatten/explode: input record → exact CSV/JSONL bytes.
#include "transform/flatten.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "common/json_writer.h"
#include "unit/transform/test_util.h"

namespace sluice::transform {
namespace {

using testing::Batch;
using testing::BuildOrDie;
using testing::RunBatch;
using testing::Staged;

testing::JsonSpec Flatten(std::string params = "{}") {
  return {"flatten", std::move(params)};
}

std::string FlattenCsv(const std::vector<std::string>& records, std::string params = "{}") {
  auto chain = BuildOrDie({Flatten(std::move(params))}, R"({"csv":{"header":true}})");
  auto result = RunBatch(*chain, Batch(records));
  return Staged(result);
}

TEST(FlattenTest, NestedObjectsBecomePathColumnsWithTheSeparator) {
  EXPECT_EQ(FlattenCsv({R"({"id":1,"customer":{"name":"Ann","address":{"city":"Oslo"}}})"},
                       R"({"separator":"."})"),
            "id,customer.name,customer.address.city\n1,Ann,Oslo\n");
}

TEST(FlattenTest, ExplodeRepeatsParentFieldsPerElement) {
  EXPECT_EQ(FlattenCsv({R"({"id":7,"items":[{"sku":"a","qty":1},{"sku":"b","qty":2}],"total":3})"},
                       R"({"explode":"items"})"),
            "id,items_sku,items_qty,total\n7,a,1,3\n7,b,2,3\n");
}

TEST(FlattenTest, ExplodeOfANestedPathAndObjectsInsideElements) {
  EXPECT_EQ(
      FlattenCsv(
          {R"({"order":{"no":"X1","lines":[{"p":{"sku":"a","tags":["x","y"]},"n":1},{"p":{"sku":"b"},"n":2}]}})"},
          R"({"explode":"order.lines"})"),
      "order_no,order_lines_p_sku,order_lines_p_tags,order_lines_n\n"
      "X1,a,\"[\"\"x\"\",\"\"y\"\"]\",1\n"
      "X1,b,,2\n");
}

TEST(FlattenTest, ArraysOfObjectsInsideExplodedElementsStayJson) {
  EXPECT_EQ(FlattenCsv({R"({"items":[{"sku":"a","parts":[{"id":1},{"id":2}]}]})"},
                       R"({"explode":"items"})"),
            "items_sku,items_parts\na,\"[{\"\"id\"\":1},{\"\"id\"\":2}]\"\n");
}

TEST(FlattenTest, EmptyOrMissingExplodeArrayKeepsOneRowByDefault) {
  EXPECT_EQ(
      FlattenCsv({R"({"id":1,"items":[]})", R"({"id":2})", R"({"id":3,"items":[{"sku":"z"}]})"},
                 R"({"explode":"items"})"),
      "id,items_sku\n1,\n2,\n3,z\n");
}

TEST(FlattenTest, EmptyExplodeArrayWithDropYieldsNoRowAndADroppedRecord) {
  auto chain = BuildOrDie({Flatten(R"({"explode":"items","explode_empty":"drop"})")}, "csv");
  auto result =
      RunBatch(*chain, Batch({R"({"id":1,"items":[]})", R"({"id":2,"items":[{"s":1}]})"}));
  EXPECT_EQ(result.records[0].outcome, Outcome::kDropped);
  EXPECT_EQ(result.records[1].outcome, Outcome::kOk);
  EXPECT_EQ(Staged(result), "2,1\n");
}

TEST(FlattenTest, ScalarElementsOfTheExplodedArrayUseTheArrayColumn) {
  EXPECT_EQ(FlattenCsv({R"({"id":1,"tags":["a","b"]})"}, R"({"explode":"tags"})"),
            "id,tags\n1,a\n1,b\n");
}

TEST(FlattenTest, OtherArraysAreJoinedWhenConfigured) {
  EXPECT_EQ(FlattenCsv({R"({"tags":["a","b c",3,null,{"k":1}]})"},
                       R"({"arrays":"join","join_separator":"|"})"),
            "tags\n\"a|b c|3|null|{\"\"k\"\":1}\"\n");
}

TEST(FlattenTest, UnicodeAndEscapesAreUnescapedInValuesAndRoundTripInJson) {
  auto chain = BuildOrDie({Flatten()}, "jsonl");
  auto result =
      RunBatch(*chain, Batch({R"({"s":"caf\u00e9 \"q\" \\ \n\t\ud83d\ude00","k\u00e9y":"ø"})"}));
  ASSERT_EQ(result.records[0].outcome, Outcome::kOk) << result.records[0].error_message;
  ASSERT_EQ(result.rows.row_count(), 1u);
  EXPECT_EQ(result.rows.text(0, 0), "café \"q\" \\ \n\t\xF0\x9F\x98\x80");
  EXPECT_EQ(result.rows.columns()[1].name, "kéy");
  EXPECT_EQ(Staged(result),
            "{\"s\":\"café \\\"q\\\" \\\\ \\n\\t\xF0\x9F\x98\x80\",\"kéy\":\"ø\"}\n");
}

TEST(FlattenTest, NumbersKeepTheirExactTextBeyondSixtyFourBits) {
  auto chain = BuildOrDie({Flatten()}, "jsonl");
  auto result =
      RunBatch(*chain, Batch({R"({"max":9223372036854775807,"min":-9223372036854775808,)"
                              R"("umax":18446744073709551615,"big":123456789012345678901234567890,)"
                              R"("f":1.10,"e":-1.5E+300,"huge":1e400})"}));
  ASSERT_EQ(result.records[0].outcome, Outcome::kOk) << result.records[0].error_message;
  EXPECT_EQ(Staged(result),
            "{\"max\":9223372036854775807,\"min\":-9223372036854775808,"
            "\"umax\":18446744073709551615,\"big\":123456789012345678901234567890,"
            "\"f\":1.10,\"e\":-1.5E+300,\"huge\":1e400}\n");
}

TEST(FlattenTest, DuplicateKeysKeepTheFirstPositionAndTheLastValue) {
  EXPECT_EQ(FlattenCsv({R"({"a":1,"b":2,"a":3})"}), "a,b\n3,2\n");
}

TEST(FlattenTest, NullsAndMissingFieldsAreEmptyAndColumnsAreTheUnionInFirstSeenOrder) {
  EXPECT_EQ(FlattenCsv({R"({"a":1,"b":null})", R"({"c":true,"a":2})", R"({"b":"x"})"}),
            "a,b,c\n1,,\n2,,true\n,x,\n");
}

TEST(FlattenTest, ObjectsBeyondTheDepthLimitAreKeptAsJson) {
  EXPECT_EQ(FlattenCsv({R"({"a":{"b":{"c":{"d":1}}}})"}, R"({"max_depth":2})"),
            "a_b\n\"{\"\"c\"\":{\"\"d\"\":1}}\"\n");
}

TEST(FlattenTest, DeepNestingFlattensEveryLevel) {
  std::string json = "{";
  std::string expect_name;
  for (int i = 0; i < 20; ++i) {
    json += "\"k" + std::to_string(i) + "\":{";
    expect_name += (i ? "_k" : "k") + std::to_string(i);
  }
  json += "\"v\":1" + std::string(21, '}');
  EXPECT_EQ(FlattenCsv({json}), expect_name + "_v\n1\n");
}

TEST(FlattenTest, EmptyObjectsContributeNoColumns) {
  EXPECT_EQ(FlattenCsv({R"({"a":{},"b":1})"}), "b\n1\n");
}

TEST(FlattenTest, InvalidJsonFailsTheRecordSayingWhere) {
  auto chain = BuildOrDie({Flatten()}, "csv");
  auto result =
      RunBatch(*chain, Batch({R"({"a":1,"b":tru})", R"({"a":1)", "[1,2]", "", R"({"a":1} x)",
                              R"({"a":01})", "{\"a\":\"\xff\"}", R"({"ok":1})"}));
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(result.records[i].outcome, Outcome::kProcessingFailed) << i;
  }
  EXPECT_EQ(result.records[0].error_code, "Transform.InvalidJson");
  EXPECT_NE(result.records[0].error_message.find("at byte 11"), std::string::npos)
      << result.records[0].error_message;
  EXPECT_EQ(result.records[2].error_code, "Transform.NotAnObject");
  EXPECT_EQ(result.records[2].error_message, "record is an array, expected a JSON object");
  EXPECT_EQ(result.records[3].error_message, "record is empty, expected a JSON object");
  EXPECT_NE(result.records[4].error_message.find("at byte 8"), std::string::npos)
      << result.records[4].error_message;
  EXPECT_EQ(
      result.records[1].error_message,
      "invalid JSON at byte 6: the input ends inside an object or array (missing '}' or ']')");
  EXPECT_EQ(result.records[7].outcome, Outcome::kOk);
  EXPECT_EQ(Staged(result), "1\n");
}

TEST(FlattenTest, ColumnOrderIsStableAcrossBatches) {
  auto chain = BuildOrDie({Flatten()}, R"({"csv":{"header":true}})");
  auto first = RunBatch(*chain, Batch({R"({"b":1,"a":2})"}));
  auto second = RunBatch(*chain, Batch({R"({"a":3,"b":4})"}));
  EXPECT_EQ(Staged(first), "b,a\n1,2\n");
  // Columns are per batch, in that batch's first-seen order.
  EXPECT_EQ(Staged(second), "a,b\n3,4\n");
  auto again = RunBatch(*chain, Batch({R"({"b":1,"a":2})"}));
  EXPECT_EQ(Staged(again), Staged(first));
}

TEST(FlattenTest, ManyKeysInVaryingOrderKeepFirstSeenColumnOrder) {
  // Past 8 children a trie node looks keys up by hash: the order and values must be exactly those
  // of the linear scan, whatever order later records bring the keys in, escaped keys included.
  std::vector<std::string> records;
  std::string expect_header, first_row;
  std::string rec = "{";
  for (int i = 0; i < 40; ++i) {
    rec +=
        std::string(i ? "," : "") + "\"key_number_" + std::to_string(i) + "\":" + std::to_string(i);
    expect_header += std::string(i ? "," : "") + "key_number_" + std::to_string(i);
    first_row += std::string(i ? "," : "") + std::to_string(i);
  }
  rec += R"(,"esc\"aped":"e","caf\u00e9":"c"})";
  records.push_back(rec);
  expect_header += ",\"esc\"\"aped\",café";
  first_row += ",e,c";
  std::string reversed = R"({"caf\u00e9":"C","esc\"aped":"E")";
  for (int i = 39; i >= 0; i -= 2)
    reversed += ",\"key_number_" + std::to_string(i) + "\":" + std::to_string(100 + i);
  reversed += ",\"new_key\":1}";
  records.push_back(reversed);
  std::string second;
  for (int i = 0; i < 40; ++i) second += (i % 2 == 1 ? std::to_string(100 + i) : "") + ",";
  second += "E,C,1";
  const std::string csv = FlattenCsv(records);
  EXPECT_EQ(csv, expect_header + ",new_key\n" + first_row + ",\n" + second + "\n");
}

TEST(FlattenTest, ArraysKeepTheirJsonTextExactlyForLongAndEscapedStrings) {
  // Strings and keys inside a kept-as-JSON array are re-serialized: every escape AppendString
  // writes, long runs (the 16-byte scan) and raw UTF-8 or \u escapes must come out the same.
  std::string value;
  for (int i = 0; i < 64; ++i) value += "ab\xc3\xa9" + std::string(1, static_cast<char>(i % 32));
  value += "\"\\/ end";
  std::string escaped;  // the value as JSON input: control bytes as \u00xx
  for (unsigned char c : value) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\u%04X", c);
    escaped +=
        c < 0x20 || c == '"' || c == '\\' ? std::string(buf) : std::string(1, static_cast<char>(c));
  }
  std::string expect_json = "[{";
  json::AppendString(expect_json, "k\n" + std::string(40, 'k'));
  expect_json += ":";
  json::AppendString(expect_json, value);
  expect_json += ",\"plain\":\"" + std::string(50, 'p') + "\"}]";
  const std::string record = R"({"a":[{"k\u000a)" + std::string(40, 'k') + R"(":")" + escaped +
                             R"(","plain":")" + std::string(50, 'p') + R"("}]})";
  auto chain = BuildOrDie({Flatten()}, "jsonl");
  auto result = RunBatch(*chain, Batch({record}));
  ASSERT_EQ(result.records[0].outcome, Outcome::kOk) << result.records[0].error_message;
  EXPECT_EQ(Staged(result), "{\"a\":" + expect_json + "}\n");
}

TEST(FlattenTest, ValidatesNumberSyntax) {
  for (const char* ok : {"0", "-0", "1.5", "1e10", "-1.5E-3", "123456789012345678901234567890"}) {
    EXPECT_TRUE(IsJsonNumber(ok)) << ok;
  }
  for (const char* bad : {"01", "1.", ".5", "+1", "1e", "NaN", "-", ""}) {
    EXPECT_FALSE(IsJsonNumber(bad)) << bad;
  }
}

TEST(FlattenTest, BadParametersAreNamed) {
  auto f = FormatSpec::Parse("csv");
  auto chain = testing::BuildChain({Flatten(R"({"explod":"items"})")}, *f);
  ASSERT_FALSE(chain.ok());
  EXPECT_EQ(chain.status().message(),
            "processor 1 (flatten): unknown parameter \"explod\"; allowed: separator, explode, "
            "arrays, join_separator, explode_empty, max_depth, max_columns");
  chain = testing::BuildChain({Flatten(R"({"arrays":"csv"})")}, *f);
  ASSERT_FALSE(chain.ok());
  EXPECT_EQ(
      chain.status().message(),
      "processor 1 (flatten): parameter \"arrays\" must be \"json\" or \"join\", got \"csv\"");
}

}  // namespace
}  // namespace sluice::transform
