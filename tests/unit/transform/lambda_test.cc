// The Lambda processor against a real HTTP peer (tests/testutil/transform_lambda_server.py).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/base64.h"
#include "transform/error_record.h"
#include "unit/transform/test_util.h"

namespace sluice::transform {
namespace {

using testing::Batch;
using testing::BuildOrDie;
using testing::RunBatch;
using testing::Staged;

// Starts the Python Lambda peer on a free loopback port; stops it on destruction.
class LambdaPeer {
 public:
  LambdaPeer() {
    int fds[2];
    if (pipe(fds) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      std::string script =
          std::string(SLUICE_SOURCE_DIR) + "/tests/testutil/transform_lambda_server.py";
      execl(SLUICE_PYTHON3, SLUICE_PYTHON3, script.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    std::string line;
    pollfd pfd{fds[0], POLLIN, 0};
    while (line.find('\n') == std::string::npos && poll(&pfd, 1, 10'000) > 0) {
      char buf[64];
      ssize_t n = read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<size_t>(n));
    }
    close(fds[0]);
    if (line.rfind("PORT ", 0) == 0) port_ = std::stoi(line.substr(5));
  }
  ~LambdaPeer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  int port() const { return port_; }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

class LambdaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GT(peer_.port(), 0) << "the Python Lambda peer did not start within 10 s";
  }

  std::unique_ptr<Chain> Build(const std::string& path, const std::string& extra = "",
                               const std::string& format = "raw") {
    ChainOptions options;
    options.stream_name = "orders";
    options.region = "eu-west-1";
    options.account_id = "123456789012";
    return BuildOrDie({{"Lambda", "{\"LambdaArn\":\"" + peer_.Url(path) + "\"" + extra + "}"}},
                      format, options);
  }

  LambdaPeer peer_;
};

TEST_F(LambdaTest, OkDroppedAndFailedRecordsFollowTheContract) {
  auto chain = Build("/ok");
  Batch batch({"{\"a\":\"x\"}", "please drop", "please fail", "{\"pk\":7}"});
  auto result = RunBatch(*chain, batch);
  EXPECT_EQ(result.records[0].outcome, Outcome::kOk);
  EXPECT_EQ(result.records[1].outcome, Outcome::kDropped);
  EXPECT_EQ(result.records[2].error_code, "Lambda.ProcessingFailed");
  EXPECT_EQ(result.records[2].lambda_arn, peer_.Url("/ok"));
  ASSERT_EQ(result.groups.size(), 2u);
  EXPECT_EQ(result.groups[0].data, "{\"A\":\"X\"}");
  EXPECT_EQ(result.groups[1].partition_keys, (PartitionKeys{{"pk", "7"}}));
  EXPECT_EQ(result.groups[1].data, "{\"PK\":7}");
  std::string errors;
  AppendErrorRecords(batch.records, result, errors);
  EXPECT_NE(errors.find("\"rawData\":\"" + base64::Encode("please fail") + "\""),
            std::string::npos);
  EXPECT_NE(errors.find("\"lambdaArn\":\"" + peer_.Url("/ok") + "\""), std::string::npos);
}

TEST_F(LambdaTest, TheEventHasTheFirehoseShape) {
  auto chain = Build("/2015-03-31/functions/upper/invocations");
  auto result = RunBatch(*chain, Batch({"hi"}, 1'507'217'624'302));
  EXPECT_EQ(Staged(result), "HI");
  FILE* p = popen(("curl -s " + peer_.Url("/events")).c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[4096];
  std::string events(buf, fread(buf, 1, sizeof buf, p));
  pclose(p);
  EXPECT_NE(events.find("\"deliveryStreamArn\": \"arn:aws:firehose:eu-west-1:123456789012:"
                        "deliverystream/orders\""),
            std::string::npos)
      << events;
  EXPECT_NE(events.find("\"region\": \"eu-west-1\""), std::string::npos);
  EXPECT_NE(events.find("\"records\": [{\"recordId\": \"r0\", \"approximateArrivalTimestamp\": "
                        "1507217624302, \"data\": \"aGk=\"}]"),
            std::string::npos)
      << events;
  EXPECT_NE(events.find("\"invocationId\": \""), std::string::npos);
}

TEST_F(LambdaTest, ContractViolationsFailTheInvocationAfterRetries) {
  struct Case {
    const char* path;
    const char* code;
  } cases[] = {{"/missing", "Lambda.MissingRecordId"},
               {"/dup", "Lambda.DuplicatedRecordId"},
               {"/unknown", "Lambda.MissingRecordId"},
               {"/invalid", "Lambda.JsonProcessingException"},
               {"/function-error", "Lambda.FunctionError"}};
  for (const auto& c : cases) {
    auto chain = Build(c.path, ",\"NumberOfRetries\":\"1\"");
    Batch batch({"a", "b"});
    auto result = RunBatch(*chain, batch);
    for (const auto& r : result.records) {
      EXPECT_EQ(r.outcome, Outcome::kProcessingFailed) << c.path;
      EXPECT_EQ(r.error_code, c.code) << c.path << ": " << r.error_message;
      EXPECT_EQ(r.attempts, 2u) << c.path;
    }
    EXPECT_TRUE(result.groups.empty());
  }
}

TEST_F(LambdaTest, ATimeoutIsAnInvocationFailure) {
  auto chain = Build("/timeout", ",\"NumberOfRetries\":0,\"TimeoutMs\":200");
  auto result = RunBatch(*chain, Batch({"a"}));
  EXPECT_EQ(result.records[0].error_code, "Lambda.Timeout");
  EXPECT_EQ(result.records[0].attempts, 1u);
}

TEST_F(LambdaTest, FailedInvocationsAreRetried) {
  auto chain = Build("/flaky", ",\"NumberOfRetries\":3");
  auto result = RunBatch(*chain, Batch({"a"}));
  EXPECT_EQ(result.records[0].outcome, Outcome::kOk) << result.records[0].error_message;
  EXPECT_EQ(result.records[0].attempts, 3u);
  EXPECT_EQ(Staged(result), "A");
}

TEST_F(LambdaTest, BatchesAreSplitByBufferSize) {
  auto chain = Build("/ok", ",\"BufferSizeInMBs\":\"0.2\"");
  std::vector<std::string> records(5, std::string(100 * 1024, 'x'));
  auto result = RunBatch(*chain, Batch(records));
  EXPECT_EQ(result.CountOutcome(Outcome::kOk), 5u);
  FILE* p = popen(("curl -s " + peer_.Url("/events") + " | wc -l").c_str(), "r");
  ASSERT_NE(p, nullptr);
  int lines = 0;
  EXPECT_EQ(fscanf(p, "%d", &lines), 1);
  pclose(p);
  EXPECT_EQ(lines, 3);  // 200 KiB per invocation → 2 + 2 + 1 records
  EXPECT_EQ(chain->lambda_buffering()->size_bytes, 209715u);
  EXPECT_EQ(chain->lambda_buffering()->interval_s, 60u);
}

TEST_F(LambdaTest, LambdaOutputFeedsRowProcessors) {
  // Lambda before flatten is allowed; rows come from the transformed bytes.
  auto f = FormatSpec::Parse("csv");
  auto with_rows = testing::BuildChain(
      {{"Lambda", "{\"url\":\"" + peer_.Url("/ok") + "\"}"}, {"flatten", "{}"}}, *f);
  ASSERT_TRUE(with_rows.ok()) << with_rows.status().ToString();
  auto result = (*with_rows)->Process(Batch({"{\"name\":\"ann\"}"}).records);
  EXPECT_EQ(Staged(result), "ANN\n");
}

TEST(LambdaConfigTest, BadParametersAreNamed) {
  auto f = FormatSpec::Parse("raw");
  auto chain = testing::BuildChain(
      {{"Lambda", R"({"LambdaArn":"arn:aws:lambda:us-east-1:1:function:f"})"}}, *f);
  ASSERT_FALSE(chain.ok());
  EXPECT_EQ(chain.status().message().rfind(
                "processor 1 (Lambda): parameter \"LambdaArn\" must be an http(s) URL", 0),
            0u);
  chain =
      testing::BuildChain({{"Lambda", R"({"LambdaArn":"http://x","NumberOfRetries":"many"})"}}, *f);
  ASSERT_FALSE(chain.ok());
  EXPECT_EQ(chain.status().message(),
            "processor 1 (Lambda): parameter \"NumberOfRetries\" must be an integer, got \"many\"");
}

}  // namespace
}  // namespace sluice::transform
