// rules and lua: outcomes, sandboxing, the time limit.
#include <gtest/gtest.h>

#include "common/base64.h"
#include "transform/error_record.h"
#include "unit/transform/test_util.h"

namespace sluice::transform {
namespace {

using testing::Batch;
using testing::BuildOrDie;
using testing::RunBatch;
using testing::Staged;

std::string LuaParams(const std::string& script) {
  std::string escaped;
  for (char c : script) {
    if (c == '"' || c == '\\') escaped += '\\';
    if (c == '\n') {
      escaped += "\\n";
      continue;
    }
    escaped += c;
  }
  return "{\"script\":\"" + escaped + "\"}";
}

TEST(RulesTest, DropFailAndSetOutcomes) {
  auto chain = BuildOrDie({{"rules", R"([{"drop_if":"status == 'test'"},
                     {"fail_if":"amount < 0","message":"negative amount"},
                     {"set":"double","expr":"amount * 2"},
                     {"set":"label","expr":"status .. '-' .. double"}])"}},
                          R"({"csv":{"header":true}})");
  Batch batch({R"({"status":"test","amount":1})", R"({"status":"ok","amount":-5})",
               R"({"status":"ok","amount":2.5})"});
  auto result = RunBatch(*chain, batch);
  EXPECT_EQ(result.records[0].outcome, Outcome::kDropped);
  EXPECT_EQ(result.records[1].outcome, Outcome::kProcessingFailed);
  EXPECT_EQ(result.records[1].error_code, "Rules.FailIf");
  EXPECT_EQ(result.records[1].error_message, "negative amount");
  EXPECT_EQ(Staged(result), "status,amount,double,label\nok,2.5,5,ok-5\n");
  // Dropped → no row and no error; ProcessingFailed → an error record with the original bytes.
  std::string errors;
  EXPECT_EQ(AppendErrorRecords(batch.records, result, errors), 1u);
  EXPECT_NE(errors.find(base64::Encode(R"({"status":"ok","amount":-5})")), std::string::npos);
}

TEST(RulesTest, ALuaErrorFailsTheRecordNamingTheRule) {
  auto chain = BuildOrDie({{"rules", R"([{"fail_if":"amount < 0"}])"}}, "csv");
  auto result = RunBatch(*chain, Batch({R"({"other":1})"}));
  EXPECT_EQ(result.records[0].error_code, "Rules.EvaluationError");
  EXPECT_EQ(result.records[0].error_message.rfind("rule 1 (fail_if amount < 0): ", 0), 0u)
      << result.records[0].error_message;
  EXPECT_NE(result.records[0].error_message.find("attempt to compare nil with number"),
            std::string::npos);
}

TEST(RulesTest, RulesSeeExplodedRowsAndRowProxyForOddNames) {
  auto chain = BuildOrDie({{"flatten", R"({"explode":"items","separator":"."})"},
                           {"rules", R"([{"drop_if":"row['items.sku'] == 'b'"}])"}},
                          "csv");
  auto result = RunBatch(*chain, Batch({R"({"id":1,"items":[{"sku":"a"},{"sku":"b"}]})",
                                        R"({"id":2,"items":[{"sku":"b"}]})"}));
  EXPECT_EQ(Staged(result), "1,a\n");
  EXPECT_EQ(result.records[0].outcome, Outcome::kOk);
  EXPECT_EQ(result.records[0].rows, 1u);
  EXPECT_EQ(result.records[1].outcome, Outcome::kDropped);
}

TEST(RulesTest, SyntaxErrorsAndUnknownKeysFailAtBuild) {
  auto f = FormatSpec::Parse("csv");
  auto chain = testing::BuildChain({{"rules", R"([{"drop_if":"status =="}])"}}, *f);
  ASSERT_FALSE(chain.ok());
  EXPECT_EQ(chain.status().message().rfind("processor 1 (rules): rule 1 (drop_if status ==): ", 0),
            0u)
      << chain.status().message();
  chain = testing::BuildChain({{"rules", R"([{"drop":"x"}])"}}, *f);
  ASSERT_FALSE(chain.ok());
  EXPECT_EQ(chain.status().message(),
            "processor 1 (rules): rule 1: unknown key \"drop\"; allowed: drop_if, fail_if, "
            "message, set, expr");
}

TEST(RulesTest, TheSandboxHasNoIoOsRequireOrLoadstring) {
  for (const char* expr :
       {"io.open('/etc/passwd')", "os.exit(1)", "require('os')", "loadstring('return 1')()",
        "dofile('/etc/passwd')", "string.dump(print)", "jit.on()", "ffi.C"}) {
    auto chain =
        BuildOrDie({{"rules", std::string(R"([{"set":"x","expr":")") + expr + "\"}]"}}, "csv");
    auto result = RunBatch(*chain, Batch({R"({"a":1})"}));
    EXPECT_EQ(result.records[0].error_code, "Rules.EvaluationError") << expr;
  }
}

TEST(LuaTest, ProcessReturnsTheThreeOutcomesAndRows) {
  auto chain = BuildOrDie({{"lua", LuaParams(R"(
function process(record, meta)
  if record.kind == "drop" then return "Dropped" end
  if record.kind == "bad" then return "ProcessingFailed", "bad kind for " .. meta.recordId end
  if record.kind == "split" then
    return "Ok", {{id = record.id, part = 1}, {id = record.id, part = 2}}
  end
  record.seen = true
  meta.partitionKeys.kind = record.kind
  return "Ok", record
end)")}},
                          R"({"csv":{"header":true}})");
  auto result = RunBatch(*chain, Batch({R"({"id":1,"kind":"drop"})", R"({"id":2,"kind":"bad"})",
                                        R"({"id":3,"kind":"split"})",
                                        R"({"id":18446744073709551616,"kind":"keep"})"}));
  EXPECT_EQ(result.records[0].outcome, Outcome::kDropped);
  EXPECT_EQ(result.records[1].error_code, "Lua.ProcessingFailed");
  EXPECT_EQ(result.records[1].error_message, "bad kind for r1");
  EXPECT_EQ(result.records[2].rows, 2u);
  EXPECT_EQ(result.records[3].partition_keys, (PartitionKeys{{"kind", "keep"}}));
  ASSERT_EQ(result.groups.size(), 2u);
  EXPECT_EQ(result.groups[0].partition_keys, PartitionKeys{});
  EXPECT_EQ(result.groups[0].data, "id,part,kind,seen\n3,1,,\n3,2,,\n");
  // The unchanged big number keeps its exact text.
  EXPECT_EQ(result.groups[1].data, "id,part,kind,seen\n18446744073709551616,,keep,true\n");
}

TEST(LuaTest, RuntimeErrorsAndBadResultsFailTheRecord) {
  auto chain = BuildOrDie(
      {{"lua",
        LuaParams("function process(r) if r.a == 1 then error('boom') end return 'Maybe' end")}},
      "csv");
  auto result = RunBatch(*chain, Batch({R"({"a":1})", R"({"a":2})"}));
  EXPECT_EQ(result.records[0].error_code, "Lua.RuntimeError");
  EXPECT_NE(result.records[0].error_message.find("boom"), std::string::npos);
  EXPECT_EQ(result.records[1].error_code, "Lua.InvalidResult");
}

TEST(LuaTest, AnEndlessLoopHitsTheBatchTimeLimitAndFailsTheRestOfTheBatch) {
  ChainOptions options;
  options.lua_time_limit_ms = 50;
  auto chain =
      BuildOrDie({{"lua", LuaParams("function process(r) while true do end end")}}, "csv", options);
  auto result = RunBatch(*chain, Batch({R"({"a":1})", R"({"a":2})"}));
  EXPECT_EQ(result.records[0].error_code, "Lua.TimeLimitExceeded");
  EXPECT_EQ(result.records[1].error_code, "Lua.TimeLimitExceeded");
  // The next batch gets a fresh budget: a script that returns is unaffected by the old one.
  auto ok = BuildOrDie({{"lua", LuaParams("function process(r) return 'Ok' end")}}, "csv", options);
  EXPECT_EQ(RunBatch(*ok, Batch({R"({"a":1})"})).records[0].outcome, Outcome::kOk);
}

TEST(LuaTest, ScriptWithoutProcessIsRejectedAtBuild) {
  auto f = FormatSpec::Parse("csv");
  auto chain = testing::BuildChain({{"lua", LuaParams("x = 1")}}, *f);
  ASSERT_FALSE(chain.ok());
  EXPECT_EQ(chain.status().message(),
            "processor 1 (lua): the script must define function process(record, meta)");
  chain = testing::BuildChain({{"lua", R"({"file":"/nonexistent.lua"})"}}, *f);
  ASSERT_FALSE(chain.ok());
  EXPECT_EQ(chain.status().message(),
            "processor 1 (lua): parameter \"file\" \"/nonexistent.lua\" cannot be read");
}

}  // namespace
}  // namespace sluice::transform
