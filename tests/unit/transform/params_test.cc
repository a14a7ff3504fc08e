// The processor parameter tables: every typed struct parses good values, applies its defaults,
// refuses bad values naming the parameter, refuses unknown parameters listing the known ones,
// and writes back what was given so that parsing it again yields the same struct.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "transform/processor_spec.h"

namespace sluice::transform {
namespace {

Result<ProcessorSpec> ParseJson(const std::string& type, const std::string& json) {
  auto params = ParamValue::FromJson(json);
  if (!params.ok()) return params.status();
  return ParseProcessorSpec(type, *params, "p");
}

template <typename T>
T ParseOk(const std::string& type, const std::string& json) {
  auto spec = ParseJson(type, json);
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  if (!spec.ok() || !spec->Is<T>()) return T{};
  // Written back and parsed again, the parameters are the same.
  auto again = ParseProcessorSpec(type, ProcessorSpecParams(*spec), "again");
  EXPECT_TRUE(again.ok()) << again.status().ToString();
  if (again.ok()) {
    EXPECT_EQ(*again, *spec) << ProcessorSpecParams(*spec).ToJson();
  }
  return std::get<T>(spec->params);
}

std::string ErrorOf(const std::string& type, const std::string& json) {
  auto spec = ParseJson(type, json);
  return spec.ok() ? "OK" : spec.status().message();
}

TEST(ProcessorParamsTest, FlattenDefaultsAndGivenValues) {
  FlattenParams d = ParseOk<FlattenParams>("flatten", "{}");
  EXPECT_EQ(d.separator, "_");
  EXPECT_TRUE(d.explode.empty());
  EXPECT_EQ(d.arrays, FlattenParams::Arrays::kJson);
  EXPECT_EQ(d.max_depth, FlattenParams::kDefaultMaxDepth);
  EXPECT_TRUE(d.given.empty());
  FlattenParams p = ParseOk<FlattenParams>(
      "flatten", R"({"separator":".","explode":"order.lines","arrays":"join","join_separator":"|",)"
                 R"("explode_empty":"drop","max_depth":"4","max_columns":10})");
  EXPECT_EQ(p.separator, ".");
  EXPECT_EQ(p.explode, (std::vector<std::string>{"order", "lines"}));
  EXPECT_EQ(p.arrays, FlattenParams::Arrays::kJoin);
  EXPECT_EQ(p.join_separator, "|");
  EXPECT_TRUE(p.explode_empty_drop);
  EXPECT_EQ(p.max_depth, 4u);
  EXPECT_EQ(p.max_columns, 10u);
  EXPECT_EQ(p.given.size(), 7u);
  EXPECT_EQ(ParseOk<FlattenParams>("flatten", R"({"explode":["a.b","c"]})").explode,
            (std::vector<std::string>{"a.b", "c"}));
}

TEST(ProcessorParamsTest, FlattenBadValuesNameTheParameter) {
  EXPECT_EQ(ErrorOf("flatten", R"({"separator":5})"),
            "p: parameter \"separator\" must be a string, got 5");
  EXPECT_EQ(ErrorOf("flatten", R"({"max_depth":0})"),
            "p: parameter \"max_depth\" must be in 1..1000");
  EXPECT_EQ(ErrorOf("flatten", R"({"explode":"a..b"})"),
            "p: parameter \"explode\" has an empty path segment");
  EXPECT_EQ(ErrorOf("flatten", R"({"explod":"items"})"),
            "p: unknown parameter \"explod\"; allowed: separator, explode, arrays, join_separator, "
            "explode_empty, max_depth, max_columns");
  EXPECT_EQ(ErrorOf("flatten", "[1]"), "p: parameters must be a JSON object, got [1]");
}

TEST(ProcessorParamsTest, SchemaColumnsAreParsedAndValidatedOnce) {
  SchemaParams s = ParseOk<SchemaParams>(
      "schema", R"J({"columns":[{"name":"id","type":"bigint","required":true},)J"
                R"J({"name":"amount","source":"order.amount","type":"numeric(10,2)","default":0},)J"
                R"J({"name":"ts","type":"timestamp","formats":["epoch_ms","%d/%m/%Y"]},)J"
                R"J({"name":"tags","type":"json","default":["x"]}]})J");
  ASSERT_EQ(s.columns.size(), 4u);
  EXPECT_TRUE(s.columns[0].required);
  EXPECT_EQ(s.columns[0].source, "id");
  EXPECT_EQ(s.columns[1].TypeName(), "numeric(10,2)");
  EXPECT_EQ(s.columns[1].source, "order.amount");
  EXPECT_EQ(s.columns[1].default_value, std::make_pair(ValueKind::kNumber, std::string("0")));
  ASSERT_EQ(s.columns[2].formats.size(), 2u);
  EXPECT_EQ(s.columns[2].formats[1].pattern, "%d/%m/%Y");
  EXPECT_EQ(s.columns[3].default_value, std::make_pair(ValueKind::kJson, std::string(R"(["x"])")));
  EXPECT_EQ(ErrorOf("schema", "{}"),
            "p: parameter \"columns\" is required: a list of {name, type, source, required, "
            "default}");
  EXPECT_EQ(ErrorOf("schema", R"({"columns":[]})"),
            "p: parameter \"columns\" must list at least one column");
  EXPECT_EQ(ErrorOf("schema", R"({"columns":[{"name":"a"},{"name":"a"}]})"),
            "p: column \"a\": duplicate name");
  EXPECT_EQ(ErrorOf("schema", R"({"columns":[{"name":"a"}],"cols":1})"),
            "p: unknown parameter \"cols\"; allowed: columns");
}

TEST(ProcessorParamsTest, RulesAcceptTheListOrAnObjectWithRules) {
  RulesParams a = ParseOk<RulesParams>(
      "rules", R"([{"drop_if":"x"},{"fail_if":"y","message":"m"},{"set":"t","expr":"1"}])");
  ASSERT_EQ(a.rules.size(), 3u);
  EXPECT_EQ(a.rules[1].kind, RulesParams::Rule::Kind::kFailIf);
  EXPECT_EQ(a.rules[1].message, std::optional<std::string>("m"));
  EXPECT_EQ(a.rules[2].column, "t");
  RulesParams b = ParseOk<RulesParams>("rules", R"({"rules":[{"drop_if":"x"}]})");
  EXPECT_EQ(b.rules.size(), 1u);
  EXPECT_EQ(ErrorOf("rules", "{}"), "p: parameter \"rules\" is required: a list of rules");
  EXPECT_EQ(ErrorOf("rules", R"([{"set":"t"}])"), "p: rule 1: set needs \"expr\"");
  EXPECT_EQ(ErrorOf("rules", R"({"rules":[],"x":1})"),
            "p: unknown parameter \"x\"; allowed: rules");
}

TEST(ProcessorParamsTest, LuaNeedsExactlyOneOfFileAndScript) {
  EXPECT_EQ(ParseOk<LuaParams>("lua", R"({"script":"s"})").script, std::optional<std::string>("s"));
  EXPECT_EQ(ErrorOf("lua", "{}"), "p: give exactly one of \"file\" or \"script\"");
  EXPECT_EQ(ErrorOf("lua", R"({"file":"a","script":"b"})"),
            "p: give exactly one of \"file\" or \"script\"");
}

TEST(ProcessorParamsTest, LambdaTakesStringValuesAndAppliesDefaults) {
  LambdaParams d = ParseOk<LambdaParams>("Lambda", R"({"LambdaArn":"http://h/f"})");
  EXPECT_EQ(d.url, "http://h/f");
  EXPECT_EQ(d.number_of_retries, LambdaParams::kDefaultRetries);
  EXPECT_EQ(d.buffer_size_mb, LambdaParams::kDefaultBufferMb);
  EXPECT_EQ(d.buffer_interval_s, LambdaParams::kDefaultIntervalS);
  EXPECT_EQ(d.timeout_ms, LambdaParams::kDefaultTimeoutMs);
  LambdaParams p = ParseOk<LambdaParams>(
      "lambda", R"({"url":"https://h/f","NumberOfRetries":"0","BufferSizeInMBs":"0.5",)"
                R"("BufferIntervalInSeconds":"900","TimeoutMs":"100","RoleArn":"r"})");
  EXPECT_EQ(p.url, "https://h/f");
  EXPECT_EQ(p.number_of_retries, 0u);
  EXPECT_EQ(p.buffer_size_mb, 0.5);
  EXPECT_EQ(p.buffer_interval_s, 900u);
  EXPECT_EQ(p.timeout_ms, 100);
  EXPECT_EQ(ErrorOf("Lambda", "{}"), "p: parameter \"LambdaArn\" is required");
  EXPECT_EQ(ErrorOf("Lambda", R"({"LambdaArn":"http://h","BufferSizeInMBs":"4"})"),
            "p: parameter \"BufferSizeInMBs\" must be 0.2..3");
  EXPECT_EQ(ErrorOf("Lambda", R"({"LambdaArn":"http://h","url":"http://h"})"),
            "p: parameter \"url\" and LambdaArn are the same; give one");
  EXPECT_EQ(ErrorOf("Lambda", R"({"LambdaArn":"http://h","Retries":"1"})"),
            "p: unknown parameter \"Retries\"; allowed: LambdaArn, url, NumberOfRetries, "
            "BufferSizeInMBs, BufferIntervalInSeconds, TimeoutMs, RoleArn");
}

TEST(ProcessorParamsTest, BuiltinsAndMetadataExtraction) {
  EXPECT_TRUE(ParseOk<AppendDelimiterParams>("AppendDelimiterToRecord", "").given.empty());
  EXPECT_EQ(ErrorOf("AppendDelimiterToRecord", R"({"x":"1"})"),
            "p: unknown parameter \"x\"; AppendDelimiterToRecord takes no parameters");
  DeAggregationParams d = ParseOk<DeAggregationParams>("RecordDeAggregation", "{}");
  EXPECT_EQ(d.sub_record_type, DeAggregationParams::SubRecordType::kJson);
  EXPECT_EQ(d.delimiter, "\n");
  d = ParseOk<DeAggregationParams>("RecordDeAggregation",
                                   R"({"SubRecordType":"DELIMITED","Delimiter":"IyMjIw=="})");
  EXPECT_EQ(d.delimiter, "####");
  EXPECT_EQ(ErrorOf("RecordDeAggregation", R"({"Delimiter":"IyMjIw=="})"),
            "p: parameter \"Delimiter\" applies to SubRecordType DELIMITED");
  MetadataExtractionParams m = ParseOk<MetadataExtractionParams>(
      "MetadataExtraction", R"({"MetadataExtractionQuery":"{k:.k}"})");
  EXPECT_EQ(m.query, "{k:.k}");
  EXPECT_EQ(m.json_parsing_engine, "JQ-1.6");
  EXPECT_EQ(ErrorOf("MetadataExtraction", R"({"JsonParsingEngine":"JQ-1.6"})"),
            "p: parameter \"MetadataExtractionQuery\" is required: a jq 1.6 expression such as "
            "{customer_id:.customer_id}");
  EXPECT_EQ(ErrorOf("MetadataExtraction",
                    R"({"MetadataExtractionQuery":"{}","JsonParsingEngine":"JQ-1.7"})"),
            "p: parameter \"JsonParsingEngine\" must be JQ-1.6, got \"JQ-1.7\"");
}

TEST(ProcessorParamsTest, UnknownTypeListsEveryType) {
  EXPECT_EQ(ErrorOf("flaten", "{}"),
            "p: unknown processor type \"flaten\"; allowed: flatten, schema, rules, lua, Lambda, "
            "AppendDelimiterToRecord, RecordDeAggregation, MetadataExtraction");
}

TEST(ProcessorParamsTest, EmitsOnlyTheGivenParametersInTheirOrder) {
  auto spec = ParseJson("Lambda", R"({"NumberOfRetries":"2","LambdaArn":"http://h/f"})");
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(ProcessorSpecParams(*spec).ToJson(),
            R"({"NumberOfRetries":2,"LambdaArn":"http://h/f"})");
}

TEST(ProcessorParamsTest, ErrorLineIsTheLineOfTheBadValue) {
  ParamValue params = ParamValue::Map();
  params.line = 3;
  ParamValue sep = ParamValue::Number("5");
  sep.line = 4;
  params.Add("separator", sep);
  int line = 0;
  EXPECT_FALSE(ParseProcessorSpec("flatten", params, "p", &line).ok());
  EXPECT_EQ(line, 4);
}

TEST(ProcessorParamsTest, DocsConfigMdHoldsTheGeneratedReference) {
  std::ifstream in(std::string(SLUICE_SOURCE_DIR) + "/docs/config.md");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string docs = ss.str();
  const std::string begin = "<!-- BEGIN processor parameters";
  const std::string end = "<!-- END processor parameters -->";
  const size_t b = docs.find(begin);
  const size_t e = docs.find(end);
  ASSERT_NE(b, std::string::npos) << "docs/config.md lacks the processor parameter reference";
  ASSERT_NE(e, std::string::npos);
  const size_t content = docs.find('\n', b) + 1;
  EXPECT_EQ(docs.substr(content, e - content), RenderProcessorReference())
      << "docs/config.md's processor parameter reference is out of date; replace the text "
         "between the BEGIN/END markers with:\n"
      << RenderProcessorReference();
}

}  // namespace
}  // namespace sluice::transform
