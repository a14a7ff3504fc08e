// The producer's batching and retry contract (client/record_sender.h) against a scripted local
// Firehose endpoint.
#include "client/record_sender.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <atomic>
#include <set>
#include <sstream>

#include "testutil/objectstore_fake_http_server.h"

namespace sluice::client {
namespace {

using testutil::FakeHttpReply;
using testutil::FakeHttpRequest;
using testutil::FakeHttpServer;

// Yields `records` in order.
class VectorSource : public RecordSource {
 public:
  explicit VectorSource(std::vector<std::string> records) : records_(std::move(records)) {}
  std::optional<OutgoingRecord> Next(const std::function<void(const std::string&)>&) override {
    if (next_ >= records_.size()) return std::nullopt;
    OutgoingRecord r{records_[next_], "line " + std::to_string(next_ + 1)};
    ++next_;
    return r;
  }

 private:
  std::vector<std::string> records_;
  size_t next_ = 0;
};

// The base64 Data of each record of a PutRecordBatch request body.
std::vector<std::string> RecordsOf(const FakeHttpRequest& request) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(request.body);
  std::vector<std::string> out;
  for (simdjson::dom::element r : doc["Records"].get_array()) {
    out.emplace_back(std::string_view(r["Data"].get_string()));
  }
  return out;
}

// A PutRecordBatch answer for `n` records where the entries in `failed` failed.
FakeHttpReply Answer(size_t n, const std::set<size_t>& failed = {}) {
  std::string body = "{\"FailedPutCount\":" + std::to_string(failed.size()) +
                     ",\"Encrypted\":false,\"RequestResponses\":[";
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) body += ',';
    body += failed.count(i) ? "{\"ErrorCode\":\"ServiceUnavailableException\",\"ErrorMessage\":"
                              "\"Slow down.\"}"
                            : "{\"RecordId\":\"id" + std::to_string(i) + "\"}";
  }
  return {200, body + "]}"};
}

class RecordSenderTest : public ::testing::Test {
 protected:
  SendOptions Options(const FakeHttpServer& server) {
    SendOptions o;
    o.stream = "orders";
    o.endpoint = server.endpoint();
    o.backoff_base_ms = 1;
    o.backoff_max_ms = 2;
    o.progress = SendOptions::Progress::kNever;
    return o;
  }
  std::ostringstream err_;
};

TEST_F(RecordSenderTest, CallsCarryAtMost500Records) {
  FakeHttpServer server([](const FakeHttpRequest& r) { return Answer(RecordsOf(r).size()); });
  VectorSource source(std::vector<std::string>(1'200, "{\"a\":1}\n"));
  auto stats = SendRecords(Options(server), source, 0, err_);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->delivered, 1'200u);
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(RecordsOf(requests[0]).size(), 500u);
  EXPECT_EQ(RecordsOf(requests[1]).size(), 500u);
  EXPECT_EQ(RecordsOf(requests[2]).size(), 200u);
  EXPECT_EQ(requests[0].headers.at("x-amz-target"), "Firehose_20150804.PutRecordBatch");
}

TEST_F(RecordSenderTest, CallsCarryAtMostFourMebibytesOfRecordData) {
  FakeHttpServer server([](const FakeHttpRequest& r) { return Answer(RecordsOf(r).size()); });
  VectorSource source(std::vector<std::string>(9, std::string(1'000'000, 'x')));
  auto stats = SendRecords(Options(server), source, 0, err_);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->delivered, 9u);
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);  // 4 + 4 + 1 (five would be 5,000,000 > 4 MiB)
  EXPECT_EQ(RecordsOf(requests[0]).size(), 4u);
  EXPECT_EQ(RecordsOf(requests[1]).size(), 4u);
  EXPECT_EQ(RecordsOf(requests[2]).size(), 1u);
}

TEST_F(RecordSenderTest, OnlyTheFailedSubsetIsSentAgain) {
  std::atomic<int> calls{0};
  FakeHttpServer server([&](const FakeHttpRequest& r) {
    const size_t n = RecordsOf(r).size();
    return ++calls == 1 ? Answer(n, {1, 3}) : Answer(n);
  });
  VectorSource source({"a", "b", "c", "d", "e"});
  auto stats = SendRecords(Options(server), source, 5, err_);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->delivered, 5u);
  EXPECT_EQ(stats->requests, 2u);
  EXPECT_EQ(stats->retried_records, 2u);
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(RecordsOf(requests[1]), (std::vector<std::string>{"Yg==", "ZA=="}));  // b, d
}

TEST_F(RecordSenderTest, RecordsThatKeepFailingAreGivenUpAfterMaxRetries) {
  FakeHttpServer server([](const FakeHttpRequest& r) { return Answer(RecordsOf(r).size(), {0}); });
  SendOptions options = Options(server);
  options.max_retries = 2;
  VectorSource source({"a", "b"});
  auto stats = SendRecords(options, source, 2, err_);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->delivered, 1u);
  EXPECT_EQ(stats->failed, 1u);
  EXPECT_EQ(server.requests().size(), 3u);  // the first attempt and two retries
  EXPECT_EQ(err_.str(),
            "sluice put: 1 record(s) not delivered after 3 attempts: ServiceUnavailableException: "
            "Slow down. (first: line 1)\n");
  EXPECT_EQ(stats->failures_by_error.at("ServiceUnavailableException: Slow down."), 1u);
}

TEST_F(RecordSenderTest, AZeroRetryTimeoutGivesUpAfterTheFirstAttempt) {
  FakeHttpServer server([](const FakeHttpRequest& r) { return Answer(RecordsOf(r).size(), {0}); });
  SendOptions options = Options(server);
  options.retry_timeout_s = 0;
  VectorSource source({"a"});
  auto stats = SendRecords(options, source, 1, err_);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->failed, 1u);
  EXPECT_EQ(server.requests().size(), 1u);
  EXPECT_NE(err_.str().find("not delivered when the retry timeout ran out"), std::string::npos)
      << err_.str();
}

TEST_F(RecordSenderTest, AClientErrorStopsTheRunAndCountsWhatWasNotSent) {
  FakeHttpServer server([](const FakeHttpRequest&) {
    return FakeHttpReply{400, "{\"__type\":\"ResourceNotFoundException\",\"message\":\"nope\"}"};
  });
  std::vector<std::string> records(700, "r");
  VectorSource source(records);
  auto stats = SendRecords(Options(server), source, 700, err_);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(stats->read, 700u);
  EXPECT_EQ(stats->not_sent, 700u);
  EXPECT_EQ(stats->stop_reason, "ResourceNotFoundException: nope (HTTP 400)");
  std::ostringstream summary;
  EXPECT_EQ(PrintSendSummary(Options(server), *stats, {}, false, summary), kSendExitUndelivered);
  EXPECT_EQ(summary.str(),
            "sluice put: 700 of 700 records were NOT delivered to stream 'orders': 700 not "
            "acknowledged when the run stopped. Stopped because: ResourceNotFoundException: nope "
            "(HTTP 400).\n");
}

TEST_F(RecordSenderTest, AnEndpointThatKeepsFailingStopsTheRunAfterItsRetries) {
  FakeHttpServer server([](const FakeHttpRequest&) {
    return FakeHttpReply{503, "{\"__type\":\"ServiceUnavailableException\",\"message\":\"x\"}"};
  });
  SendOptions options = Options(server);
  options.max_retries = 1;
  VectorSource source(std::vector<std::string>(600, "r"));
  auto stats = SendRecords(options, source, 600, err_);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(server.requests().size(), 2u);
  EXPECT_EQ(stats->failed, 500u);
  EXPECT_EQ(stats->not_sent, 100u);
  EXPECT_EQ(stats->stop_reason, "the endpoint kept failing; the rest of the input was not sent");
}

TEST(SendOptionsTest, InvalidStreamNamesAndNegativeRetriesAreRefused) {
  SendOptions o;
  o.stream = "bad name";
  EXPECT_EQ(ValidateSendOptions(o).code(), StatusCode::kInvalidArgument);
  o.stream = "ok.name-1";
  EXPECT_TRUE(ValidateSendOptions(o).ok());
  o.max_retries = -1;
  EXPECT_EQ(ValidateSendOptions(o).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Grouped(1'234'567), "1,234,567");
}

}  // namespace
}  // namespace sluice::client
