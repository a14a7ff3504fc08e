// The chain API: build-time validation, raw mode, built-in processors, error records,
// determinism.
#include <gtest/gtest.h>

#include "common/base64.h"
#include "common/json_writer.h"
#include "transform/error_record.h"
#include "unit/transform/test_util.h"

namespace sluice::transform {
namespace {

using testing::Batch;
using testing::BuildOrDie;
using testing::RunBatch;
using testing::Staged;

Status BuildError(const std::vector<testing::JsonSpec>& specs, const std::string& format) {
  auto f = FormatSpec::Parse(format);
  EXPECT_TRUE(f.ok());
  auto chain = testing::BuildChain(specs, *f);
  return chain.ok() ? Status::Ok() : chain.status();
}

TEST(ChainTest, UnknownProcessorTypeListsTheAllowedOnes) {
  EXPECT_EQ(BuildError({{"flatten", "{}"}, {"flaten", "{}"}}, "csv").message(),
            "processor 2 (flaten): unknown processor type \"flaten\"; allowed: flatten, schema, "
            "rules, lua, Lambda, AppendDelimiterToRecord, RecordDeAggregation, "
            "MetadataExtraction");
}

TEST(ChainTest, RowProcessorsNeedARowFormatAndByteProcessorsComeFirst) {
  EXPECT_EQ(BuildError({{"flatten", "{}"}}, "raw").message(),
            "processor 1 (flatten): row processors (flatten, schema, rules, lua) produce rows; "
            "set the stream format to csv or jsonl");
  EXPECT_EQ(BuildError({{"flatten", "{}"}, {"AppendDelimiterToRecord", ""}}, "csv").message(),
            "processor 2 (AppendDelimiterToRecord): byte processors (Lambda, RecordDeAggregation, "
            "AppendDelimiterToRecord) must come before processor 1 (flatten)");
  EXPECT_EQ(BuildError({{"flatten", "not json"}}, "csv").message().substr(0, 54),
            "processor 1 (flatten): parameters are not valid JSON: ");
}

TEST(ChainTest, RawFormatConcatenatesRecordsAsSent) {
  auto chain = BuildOrDie({}, "raw");
  auto result = RunBatch(*chain, Batch({"a", "b\n", "{\"c\":1}"}));
  EXPECT_EQ(Staged(result), "ab\n{\"c\":1}");
  EXPECT_EQ(result.CountOutcome(Outcome::kOk), 3u);
  ASSERT_EQ(result.groups.size(), 1u);
  EXPECT_EQ(result.groups[0].records, 3u);
}

TEST(ChainTest, AppendDelimiterToRecordAddsANewlinePerRecord) {
  auto chain = BuildOrDie({{"AppendDelimiterToRecord", ""}}, "raw");
  EXPECT_EQ(Staged(RunBatch(*chain, Batch({"{\"a\":1}", "{\"a\":2}"}))), "{\"a\":1}\n{\"a\":2}\n");
}

TEST(ChainTest, RecordDeAggregationSplitsJsonAndDelimitedRecords) {
  auto json = BuildOrDie(
      {{"RecordDeAggregation", R"({"SubRecordType":"JSON"})"}, {"AppendDelimiterToRecord", ""}},
      "raw");
  auto result = RunBatch(*json, Batch({"{\"a\":\"}\"}{\"a\":[2]}\n {\"a\":3}", "{\"a\":1", "  "}));
  EXPECT_EQ(Staged(result), "{\"a\":\"}\"}\n{\"a\":[2]}\n{\"a\":3}\n");
  EXPECT_EQ(result.records[0].rows, 3u);
  EXPECT_EQ(result.records[1].error_code, "Transform.DeAggregationFailed");
  EXPECT_EQ(result.records[1].error_message, "byte 0: unterminated JSON sub-record");
  EXPECT_EQ(result.records[2].outcome, Outcome::kDropped);

  auto delimited = BuildOrDie(
      {{"RecordDeAggregation", R"({"SubRecordType":"DELIMITED","Delimiter":"IyMjIw=="})"}}, "csv");
  result = RunBatch(*delimited, Batch({"{\"a\":1}####{\"a\":2}####"}));
  EXPECT_EQ(Staged(result), "1\n2\n");
  EXPECT_EQ(BuildError({{"RecordDeAggregation", R"({"SubRecordType":"XML"})"}}, "raw").message(),
            "processor 1 (RecordDeAggregation): parameter \"SubRecordType\" must be JSON or "
            "DELIMITED, got \"XML\"");
}

TEST(ChainTest, FailedRecordsProduceFirehoseErrorRecordsWithTheOriginalBytes) {
  ManualClock clock(1'700'000'000'999);
  ChainOptions options;
  options.clock = &clock;
  auto chain = BuildOrDie({{"flatten", "{}"}}, "csv", options);
  Batch batch({"{\"a\":1}", "{bad"}, 1'700'000'000'000);
  auto result = RunBatch(*chain, batch);
  std::string errors;
  EXPECT_EQ(AppendErrorRecords(batch.records, result, errors), 1u);
  EXPECT_EQ(errors,
            "{\"attemptsMade\":1,\"arrivalTimestamp\":1700000000001,\"errorCode\":"
            "\"Transform.InvalidJson\",\"errorMessage\":" +
                json::Quote(result.records[1].error_message) +
                ",\"attemptEndingTimestamp\":1700000000999,\"rawData\":\"" +
                base64::Encode("{bad") + "\"}\n");
}

TEST(ChainTest, ErrorRecordIncludesLambdaArnWhenALambdaRan) {
  std::string out;
  AppendErrorRecord({4, 10, "Lambda.MissingRecordId", "m", 20, "xyz", "http://h/f"}, out);
  EXPECT_EQ(out,
            "{\"attemptsMade\":4,\"arrivalTimestamp\":10,\"errorCode\":\"Lambda.MissingRecordId\","
            "\"errorMessage\":\"m\",\"attemptEndingTimestamp\":20,\"rawData\":\"eHl6\","
            "\"lambdaArn\":\"http://h/f\"}\n");
}

TEST(ChainTest, TheSameBatchYieldsIdenticalBytes) {
  auto spec =
      std::vector<testing::JsonSpec>{{"flatten", R"({"explode":"items"})"},
                                     {"rules", R"([{"set":"total","expr":"items_qty * 2"}])"}};
  std::vector<std::string> records;
  for (int i = 0; i < 200; ++i) {
    records.push_back("{\"id\":" + std::to_string(i) + ",\"items\":[{\"qty\":" +
                      std::to_string(i % 7) + ",\"k" + std::to_string(i % 5) + "\":1}]}");
  }
  auto a = BuildOrDie(spec, R"({"csv":{"header":true}})");
  auto b = BuildOrDie(spec, R"({"csv":{"header":true}})");
  Batch batch(records);
  std::string first = Staged(RunBatch(*a, batch));
  RunBatch(*a, Batch({"{\"zzz\":1}"}));  // state from other batches must not leak
  EXPECT_EQ(Staged(RunBatch(*a, batch)), first);
  EXPECT_EQ(Staged(RunBatch(*b, batch)), first);
}

}  // namespace
}  // namespace sluice::transform

namespace sluice::transform {
namespace {

// The CSV writer reuses the previous row's formatted leading fields when they hold the same
// cells (an exploded record's parent fields). These pin that reuse to exactly one record and
// one output group, with quoting, nulls and missing parents.
TEST(ChainTest, ExplodedRowsRepeatTheirParentFieldsExactly) {
  auto chain = testing::BuildOrDie({{"flatten", R"({"explode":"items"})"}}, "csv");
  auto result = testing::RunBatch(
      *chain,
      testing::Batch({R"({"id":1,"name":"A, \"Inc\"","note":null,"items":[{"s":"x"},{"s":"y,1"}]})",
                      R"({"id":2,"name":"B","items":[{"s":"z"}]})",
                      R"({"id":3,"items":[{"s":"w"},{"s":"v"}]})",
                      R"({"id":3,"name":"","items":[]})"}));
  // No header (csv default); an empty string and a null both print as an empty field here.
  EXPECT_EQ(testing::Staged(result),
            "1,\"A, \"\"Inc\"\"\",,x\n"
            "1,\"A, \"\"Inc\"\"\",,\"y,1\"\n"
            "2,B,,z\n"
            "3,,,w\n"
            "3,,,v\n"
            "3,,,\n");
}

TEST(ChainTest, RowReuseNeverCrossesOutputGroups) {
  auto chain = testing::BuildOrDie(
      {{"flatten", R"({"explode":"items"})"},
       {"lua",
        R"({"script":"function process(r, meta) meta.partitionKeys.g = r.g; return 'Ok' end"})"}},
      "csv");
  auto result =
      testing::RunBatch(*chain, testing::Batch({R"({"p":"same","g":"a","items":[{"v":1},{"v":2}]})",
                                                R"({"p":"same","g":"b","items":[{"v":3}]})",
                                                R"({"p":"same","g":"a","items":[{"v":4}]})"}));
  ASSERT_EQ(result.groups.size(), 2u) << result.records[0].error_message;
  EXPECT_EQ(result.groups[0].partition_keys.at("g"), "a");
  EXPECT_EQ(result.groups[0].data, "same,a,1\nsame,a,2\nsame,a,4\n");
  EXPECT_EQ(result.groups[1].data, "same,b,3\n");
}

TEST(ChainTest, OrderColumnsSetsTheOutputColumnsAndHeaderAndRowEndsAreOptional) {
  auto chain = BuildOrDie({{"flatten", "{}"}}, R"({"csv":{"header":true}})");
  testing::Batch batch({R"({"b":1,"a":"x,y"})", R"({"a":"z"})"});
  std::vector<std::string> seen;
  ProcessOptions options;
  options.header = false;
  options.row_ends = true;
  options.order_columns = [&](std::vector<std::string>& names) {
    seen = names;
    names = {"c", "a", "b"};  // a column no row has, and another order
  };
  auto result = chain->Process(batch.records, options);
  EXPECT_EQ(seen, (std::vector<std::string>{"b", "a"}));
  ASSERT_EQ(result.groups.size(), 1u);
  EXPECT_EQ(result.groups[0].data, ",\"x,y\",1\n,z,\n");
  EXPECT_EQ(result.groups[0].row_ends, (std::vector<uint32_t>{9, 13}));
  // Without the options: the batch's own columns and the header, as always.
  auto plain = chain->Process(batch.records);
  EXPECT_EQ(plain.groups[0].data, "b,a\n1,\"x,y\"\n,z\n");
  EXPECT_TRUE(plain.groups[0].row_ends.empty());
}

}  // namespace
}  // namespace sluice::transform
