#include "jq/metadata_extractor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <malloc.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::jq {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using Keys = std::map<std::string, std::string>;

constexpr std::string_view kSpecQuery = R"({customer_id:.customer_id,year:.ts|strftime("%Y")})";

std::unique_ptr<MetadataExtractor> CompileOrDie(std::string_view query) {
  auto compiled = MetadataExtractor::Compile(query);
  EXPECT_TRUE(compiled.ok()) << compiled.status().ToString();
  if (!compiled.ok()) return nullptr;
  return std::move(compiled).value();
}

Keys ExtractOrDie(std::string_view query, std::string_view record) {
  auto extractor = CompileOrDie(query);
  if (extractor == nullptr) return {};
  auto keys = extractor->Extract(record);
  EXPECT_TRUE(keys.ok()) << keys.status().ToString();
  if (!keys.ok()) return {};
  return keys.value();
}

// The error message of extracting `record` with `query`; fails the test if it succeeds.
std::string ExtractError(std::string_view query, std::string_view record) {
  auto extractor = CompileOrDie(query);
  if (extractor == nullptr) return "<query did not compile>";
  auto keys = extractor->Extract(record);
  EXPECT_FALSE(keys.ok()) << "unexpectedly extracted " << keys->size() << " keys";
  if (keys.ok()) return "<no error>";
  EXPECT_EQ(keys.status().code(), StatusCode::kInvalidArgument);
  return keys.status().message();
}

std::string CompileError(std::string_view query) {
  auto compiled = MetadataExtractor::Compile(query);
  EXPECT_FALSE(compiled.ok()) << "query unexpectedly compiled: " << query;
  if (compiled.ok()) return "<no error>";
  EXPECT_EQ(compiled.status().code(), StatusCode::kInvalidArgument);
  return compiled.status().message();
}

// `{k0:.v,k1:.v,...}` with `count` keys.
std::string QueryWithKeys(int count) {
  std::string query = "{";
  for (int i = 0; i < count; ++i) {
    if (i > 0) query += ",";
    query += "k" + std::to_string(i) + ":.v";
  }
  return query + "}";
}

// --- Successful extraction -----------------------------------------------------------------------

TEST(MetadataExtractorTest, SpecExampleFormatsTheEpochTimestampWithStrftime) {
  // 1565383509 is 2019-08-09T20:45:09Z.
  EXPECT_EQ(ExtractOrDie(kSpecQuery, R"({"customer_id":"1234567890","ts":1565383509,"x":[1]})"),
            (Keys{{"customer_id", "1234567890"}, {"year", "2019"}}));
}

TEST(MetadataExtractorTest, AllTimestampPartsOfTheDocExampleAreUtc) {
  EXPECT_EQ(ExtractOrDie(R"({year:.ts|strftime("%Y"),month:.ts|strftime("%m"),)"
                         R"(day:.ts|strftime("%d"),hour:.ts|strftime("%H")})",
                         R"({"ts":1565383509})"),
            (Keys{{"year", "2019"}, {"month", "08"}, {"day", "09"}, {"hour", "20"}}));
}

TEST(MetadataExtractorTest, NestedPathsAndArrayIndexesAreFollowed) {
  EXPECT_EQ(ExtractOrDie("{device:.device.type,sku:.items[0].sku,deep:.a.b.c.d}",
                         R"({"device":{"type":"mobile","os":"ios"},)"
                         R"("items":[{"sku":"A-1"},{"sku":"B-2"}],"a":{"b":{"c":{"d":"x"}}}})"),
            (Keys{{"device", "mobile"}, {"sku", "A-1"}, {"deep", "x"}}));
}

TEST(MetadataExtractorTest, NumbersAreRenderedTheWayJqPrintsThem) {
  EXPECT_EQ(ExtractOrDie("{int:.int,float_int:.float_int,frac:.frac,neg:.neg,millis:.millis,"
                         "big:.big,sum:(.a+.b),computed:(.int*2)}",
                         R"({"int":100,"float_int":3.0,"frac":1.5,"neg":-5,)"
                         R"("millis":1565383509000,"big":1e17,"a":0.1,"b":0.2})"),
            (Keys{{"int", "100"},
                  {"float_int", "3"},
                  {"frac", "1.5"},
                  {"neg", "-5"},
                  {"millis", "1565383509000"},
                  {"big", "1e+17"},
                  {"sum", "0.30000000000000004"},
                  {"computed", "200"}}));
}

TEST(MetadataExtractorTest, BooleansAreRenderedAsTrueAndFalse) {
  EXPECT_EQ(ExtractOrDie("{vip:.vip,test:.test,has_email:(.email != null)}",
                         R"({"vip":true,"test":false,"email":"a@b"})"),
            (Keys{{"vip", "true"}, {"test", "false"}, {"has_email", "true"}}));
}

TEST(MetadataExtractorTest, ValuesFillHiveStylePrefixSegments) {
  auto extractor = CompileOrDie(R"({customer_id:.customer_id,device:.device,)"
                                R"(year:.ts|strftime("%Y"),month:.ts|strftime("%m")})");
  ASSERT_NE(extractor, nullptr);
  auto keys = extractor->Extract(
      R"({"customer_id":1234567890,"device":"mobile","ts":1565383509,"payload":"..."})");
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  // What a caller evaluating "customer_id=!{partitionKeyFromQuery:customer_id}/..." builds.
  std::string prefix;
  for (const char* name : {"customer_id", "device", "year", "month"}) {
    prefix += std::string(name) + "=" + keys->at(name) + "/";
  }
  EXPECT_EQ(prefix, "customer_id=1234567890/device=mobile/year=2019/month=08/");
}

TEST(MetadataExtractorTest, SlashesAndEmptyStringsInValuesAreKeptAsIs) {
  EXPECT_EQ(ExtractOrDie("{path:.path,empty:.empty}", R"({"path":"a/b/../c","empty":""})"),
            (Keys{{"path", "a/b/../c"}, {"empty", ""}}));
}

TEST(MetadataExtractorTest, UnicodeValuesAndKeysAreReturnedAsUtf8) {
  EXPECT_EQ(ExtractOrDie(R"({city:.city,escaped:.escaped,"län":.emoji})",
                         R"({"city":"東京","escaped":"Z\u00fcrich","emoji":"🚀 launch"})"),
            (Keys{{"city", "東京"}, {"escaped", "Zürich"}, {"län", "🚀 launch"}}));
}

TEST(MetadataExtractorTest, EmbeddedNulInAValueKeepsTheWholeString) {
  Keys keys = ExtractOrDie("{a:.a}", R"({"a":"x\u0000y"})");
  ASSERT_EQ(keys.count("a"), 1u);
  EXPECT_EQ(keys["a"], std::string("x\0y", 3));
}

TEST(MetadataExtractorTest, FiftyKeysAreAllowed) {
  Keys keys = ExtractOrDie(QueryWithKeys(50), R"({"v":"x"})");
  EXPECT_EQ(keys.size(), 50u);
  EXPECT_EQ(keys["k49"], "x");
}

TEST(MetadataExtractorTest, OneExtractorServesManyRecordsAndRecoversAfterErrors) {
  auto extractor = CompileOrDie(kSpecQuery);
  ASSERT_NE(extractor, nullptr);
  EXPECT_FALSE(extractor->Extract(R"({"ts":1})").ok());
  EXPECT_FALSE(extractor->Extract("not json").ok());
  EXPECT_FALSE(extractor->Extract(R"({"customer_id":"c","ts":"yesterday"})").ok());
  auto keys = extractor->Extract(R"({"customer_id":"c","ts":0})");
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ(keys.value(), (Keys{{"customer_id", "c"}, {"year", "1970"}}));
  EXPECT_EQ(extractor->query(), kSpecQuery);
}

// --- Values that cannot be partition keys --------------------------------------------------------

TEST(MetadataExtractorTest, MissingFieldNamesTheKeyThatIsNull) {
  EXPECT_THAT(ExtractError(kSpecQuery, R"({"ts":1565383509})"),
              AllOf(HasSubstr("partition key \"customer_id\""), HasSubstr("is null")));
}

TEST(MetadataExtractorTest, ArrayValueNamesTheKeyAndTheType) {
  EXPECT_THAT(ExtractError("{ok:.ok,tags:.tags}", R"({"ok":"y","tags":["a","b"]})"),
              AllOf(HasSubstr("partition key \"tags\""), HasSubstr("an array"),
                    HasSubstr(R"(["a","b"])"), HasSubstr("strings, numbers or booleans")));
}

TEST(MetadataExtractorTest, ObjectValueNamesTheKeyAndTheType) {
  EXPECT_THAT(ExtractError("{device:.device}", R"({"device":{"type":"mobile"}})"),
              AllOf(HasSubstr("partition key \"device\""), HasSubstr("an object")));
}

TEST(MetadataExtractorTest, NonFiniteNumbersAreRejected) {
  EXPECT_THAT(ExtractError("{a:nan}", "{}"),
              AllOf(HasSubstr("partition key \"a\""), HasSubstr("not a finite number")));
  EXPECT_THAT(ExtractError("{a:infinite}", "{}"), HasSubstr("not a finite number"));
}

TEST(MetadataExtractorTest, NonObjectResultsAreRejectedWithTheirType) {
  EXPECT_THAT(ExtractError(".customer_id", R"({"customer_id":"c1"})"),
              AllOf(HasSubstr("must be a JSON object"), HasSubstr("got a string (\"c1\")")));
  EXPECT_THAT(ExtractError(".n", R"({"n":7})"), HasSubstr("got a number (7)"));
  EXPECT_THAT(ExtractError("[.a]", R"({"a":1})"), HasSubstr("got an array"));
  EXPECT_THAT(ExtractError(".missing", "{}"), HasSubstr("got null"));
  EXPECT_THAT(ExtractError(".", "true"), HasSubstr("got a boolean"));
}

TEST(MetadataExtractorTest, EmptyObjectIsRejected) {
  EXPECT_THAT(ExtractError("{}", R"({"a":1})"),
              AllOf(HasSubstr("empty object"), HasSubstr("1 to 50")));
}

TEST(MetadataExtractorTest, FiftyOneKeysAreRejected) {
  EXPECT_THAT(ExtractError(QueryWithKeys(51), R"({"v":"x"})"),
              AllOf(HasSubstr("51 keys"), HasSubstr("at most 50")));
}

TEST(MetadataExtractorTest, ZeroOutputsAreRejected) {
  EXPECT_THAT(ExtractError("empty", "{}"), HasSubstr("no output"));
  EXPECT_THAT(ExtractError("select(.keep) | {a:.a}", R"({"a":"x","keep":false})"),
              HasSubstr("no output"));
}

TEST(MetadataExtractorTest, SeveralOutputsAreRejected) {
  EXPECT_THAT(ExtractError("{a:.a},{a:.b}", R"({"a":"1","b":"2"})"),
              HasSubstr("more than one output"));
  EXPECT_THAT(ExtractError(".items[] | {sku:.sku}", R"({"items":[{"sku":"A"},{"sku":"B"}]})"),
              HasSubstr("more than one output"));
}

// --- Records that are not JSON -------------------------------------------------------------------

TEST(MetadataExtractorTest, InvalidJsonIsRejectedWithJqsParserMessage) {
  EXPECT_THAT(ExtractError(kSpecQuery, R"({"customer_id":)"),
              AllOf(HasSubstr("record is not valid JSON"), HasSubstr("Unfinished JSON term")));
  EXPECT_THAT(ExtractError(kSpecQuery, "customer_id=1"), HasSubstr("record is not valid JSON"));
  EXPECT_THAT(ExtractError(kSpecQuery, ""), HasSubstr("record is not valid JSON"));
  EXPECT_THAT(ExtractError(kSpecQuery, "   \n"), HasSubstr("record is not valid JSON"));
}

TEST(MetadataExtractorTest, SeveralJsonValuesInOneRecordAreRejected) {
  EXPECT_THAT(ExtractError("{a:.a}", R"({"a":"1"} {"a":"2"})"),
              AllOf(HasSubstr("record is not valid JSON"), HasSubstr("extra JSON values")));
}

TEST(MetadataExtractorTest, InvalidJsonMessageDoesNotQuoteTheWholeRecord) {
  std::string record = R"({"a":")" + std::string(10000, 'x') + R"(", oops})";
  std::string message = ExtractError("{a:.a}", record);
  EXPECT_THAT(message, HasSubstr("record is not valid JSON"));
  EXPECT_THAT(message, Not(HasSubstr("xxxxxxxx")));
  EXPECT_LT(message.size(), 1024u);
}

TEST(MetadataExtractorTest, NulByteAfterTheJsonValueIsRejected) {
  EXPECT_THAT(ExtractError("{a:.a}", std::string_view(R"({"a":"1"})"
                                                      "\0garbage",
                                                      17)),
              HasSubstr("record is not valid JSON"));
}

// --- jq errors -----------------------------------------------------------------------------------

TEST(MetadataExtractorTest, SyntaxErrorCarriesJqsMessageAndTheQuery) {
  EXPECT_THAT(CompileError("{a:.b|}"),
              AllOf(HasSubstr("jq query '{a:.b|}' does not compile"), HasSubstr("syntax error"),
                    HasSubstr("1 compile error"), Not(HasSubstr("\n"))));
}

TEST(MetadataExtractorTest, UnknownFunctionIsACompileError) {
  EXPECT_THAT(CompileError("{a:.a|no_such_function}"),
              AllOf(HasSubstr("no_such_function/0 is not defined"), HasSubstr("does not compile")));
}

TEST(MetadataExtractorTest, RuntimeErrorCarriesJqsMessage) {
  EXPECT_THAT(ExtractError("{a:(.a|tonumber)}", R"({"a":"x"})"),
              AllOf(HasSubstr("jq query '{a:(.a|tonumber)}' failed on this record"),
                    HasSubstr("Invalid numeric literal")));
  EXPECT_THAT(ExtractError(kSpecQuery, R"({"customer_id":"c","ts":"2019-08-09"})"),
              HasSubstr("strftime/1 requires parsed datetime inputs"));
  EXPECT_THAT(ExtractError("{a:.a.b}", R"({"a":"str"})"), HasSubstr("Cannot index string"));
}

TEST(MetadataExtractorTest, ErrorAfterTheFirstOutputIsReported) {
  EXPECT_THAT(ExtractError(R"({a:"1"}, error("boom"))", "{}"),
              AllOf(HasSubstr("after its first output"), HasSubstr("boom")));
}

TEST(MetadataExtractorTest, NonStringErrorPayloadIsPrintedAsJson) {
  EXPECT_THAT(ExtractError(R"(error({code:42}))", "{}"), HasSubstr(R"({"code":42})"));
}

TEST(MetadataExtractorTest, HaltErrorIsReportedAndTheNextRecordRunsNormally) {
  auto extractor = CompileOrDie(R"(if .stop then "stop here"|halt_error else {a:.a} end)");
  ASSERT_NE(extractor, nullptr);
  auto halted = extractor->Extract(R"({"stop":true})");
  ASSERT_FALSE(halted.ok());
  EXPECT_THAT(halted.status().message(), HasSubstr("halt_error: stop here"));
  auto keys = extractor->Extract(R"({"stop":false,"a":"go"})");
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ(keys.value(), (Keys{{"a", "go"}}));
  EXPECT_THAT(ExtractError(R"({a:1} | halt_error(1))", "{}"), HasSubstr(R"(halt_error: {"a":1})"));
  EXPECT_THAT(ExtractError("halt", "{}"), HasSubstr("halt is not supported"));
}

TEST(MetadataExtractorTest, LongRuntimeErrorMessagesAreTruncated) {
  std::string record = R"({"a":")" + std::string(100000, 'y') + R"("})";
  std::string message = ExtractError("error(.a)", record);
  EXPECT_THAT(message, HasSubstr("(truncated)"));
  EXPECT_LT(message.size(), MetadataExtractor::kMaxQuotedMessageBytes + 100);
}

// --- Sandbox -------------------------------------------------------------------------------------

TEST(MetadataExtractorTest, EnvironmentIsNotVisibleToQueries) {
  ASSERT_EQ(setenv("SLUICE_JQ_TEST_SECRET", "hunter2", 1), 0);
  EXPECT_THAT(ExtractError("{s:env.SLUICE_JQ_TEST_SECRET}", "{}"),
              AllOf(HasSubstr("partition key \"s\" is null"), Not(HasSubstr("hunter2"))));
  EXPECT_THAT(ExtractError("{s:$ENV.SLUICE_JQ_TEST_SECRET}", "{}"), HasSubstr("is null"));
  EXPECT_EQ(ExtractOrDie("{s:(env|tostring)}", "{}"), (Keys{{"s", "{}"}}));
  EXPECT_EQ(ExtractOrDie("{n:(env|length)}", "{}"), (Keys{{"n", "0"}}));
  unsetenv("SLUICE_JQ_TEST_SECRET");
}

TEST(MetadataExtractorTest, UserDefinitionsAndCommentsStillWork) {
  EXPECT_EQ(ExtractOrDie("def up: ascii_upcase; {a:(.a|up)} # trailing comment", R"({"a":"x"})"),
            (Keys{{"a", "X"}}));
}

TEST(MetadataExtractorTest, UnbalancedParenthesisCannotEscapeTheSandbox) {
  EXPECT_THAT(CompileError("{a:1}) | (env"), HasSubstr("syntax error"));
}

TEST(MetadataExtractorTest, ModuleImportsAreRejected) {
  EXPECT_THAT(CompileError(R"(import "a" as a; {x:.x})"), HasSubstr("does not compile"));
  EXPECT_THAT(CompileError(R"(include "a"; {x:.x})"), HasSubstr("does not compile"));
}

// --- Memory --------------------------------------------------------------------------------------

// jq's reference counting leaks silently when a jv is not freed; 10k records through every path
// must leave the heap where it was. (Under ASan the allocator is not glibc's, so mallinfo2 says
// nothing; ASan's own leak checker covers that build.)
TEST(MetadataExtractorTest, TenThousandRecordsThroughEveryPathDoNotGrowTheHeap) {
  auto extractor = CompileOrDie(R"({customer_id:.customer_id,year:.ts|strftime("%Y"),n:.n,b:.b} | )"
                                R"(if .customer_id == "err" then error({why:"asked"}) )"
                                R"(elif .customer_id == "halt" then halt_error else . end)");
  ASSERT_NE(extractor, nullptr);
  const std::vector<std::string> records = {
      R"({"customer_id":"c1","ts":1565383509,"n":1.5,"b":true,"pad":")" + std::string(500, 'p') +
          R"("})",
      R"({"customer_id":"c1","ts":1565383509,"n":1,"b":[1,2]})",    // array value
      R"({"ts":1565383509,"n":1,"b":true})",                        // null value
      R"({"customer_id":"err","ts":1,"n":1,"b":true})",             // runtime error
      R"({"customer_id":"c1","ts":"x","n":1,"b":true})",            // strftime error
      R"({"customer_id":"c1","ts":1565383509,"n":1,"b":{"x":1}})",  // object value
      R"({"customer_id":"c1",)",                                    // invalid JSON
      R"({"customer_id":"halt","ts":1,"n":1,"b":true})",            // halt_error
  };
  size_t ok_count = 0;
  auto run = [&](int n) {
    for (int i = 0; i < n; ++i) {
      if (extractor->Extract(records[i % records.size()]).ok()) ++ok_count;
    }
  };
  run(800);  // warm up: let jq and the allocator reach their steady state
  const size_t before = mallinfo2().uordblks;
  run(10000);
  const size_t after = mallinfo2().uordblks;
  ASSERT_EQ(records.size(), 8u);
  EXPECT_EQ(ok_count, 1350u);  // one record in 8 is valid: 100 in the warm-up, 1250 after it
#if defined(__SANITIZE_ADDRESS__)
  (void)before;
  (void)after;
#else
  // A leak of one jv per record (>= 32 bytes) on any single path would add > 45 KiB.
  EXPECT_LT(after > before ? after - before : 0, 16u * 1024)
      << "before " << before << " after " << after;
#endif
}

}  // namespace
}  // namespace sluice::jq
