// The producer's batching and retry contract (client/record_sender.h) against a scripted local
// Firehose endpoint.
#include "client/record_sender.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
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

// The PartitionKey of each record of a PutRecords request body.
std::vector<std::string> PartitionKeysOf(const FakeHttpRequest& request) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(request.body);
  std::vector<std::string> out;
  for (simdjson::dom::element r : doc["Records"].get_array()) {
    out.emplace_back(std::string_view(r["PartitionKey"].get_string()));
  }
  return out;
}

// A PutRecords answer for `n` records where the entries in `failed` failed with `error`.
FakeHttpReply KinesisAnswer(size_t n, const std::set<size_t>& failed = {},
                            const std::string& error = "ProvisionedThroughputExceededException") {
  std::string body = "{\"FailedRecordCount\":" + std::to_string(failed.size()) + ",\"Records\":[";
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) body += ',';
    body += failed.count(i) ? "{\"ErrorCode\":\"" + error + "\",\"ErrorMessage\":\"Rate exceeded\"}"
                            : "{\"SequenceNumber\":\"4960" + std::to_string(i) +
                                  "\",\"ShardId\":\"shardId-000000000000\"}";
  }
  return {200, body + "]}"};
}

// Yields "r<i>" with partition key "k<i>".
class KeyedSource : public RecordSource {
 public:
  KeyedSource(size_t n, size_t data_bytes, size_t key_chars)
      : n_(n), data_bytes_(data_bytes), key_chars_(key_chars) {}
  std::optional<OutgoingRecord> Next(const std::function<void(const std::string&)>&) override {
    if (next_ >= n_) return std::nullopt;
    std::string key = "k" + std::to_string(next_);
    key.resize(std::max(key.size(), key_chars_), 'k');
    std::string data = "r" + std::to_string(next_);
    data.resize(std::max(data.size(), data_bytes_), 'x');
    ++next_;
    return OutgoingRecord{std::move(data), "line " + std::to_string(next_), std::move(key)};
  }

 private:
  size_t n_, data_bytes_, key_chars_;
  size_t next_ = 0;
};

TEST_F(RecordSenderTest, KinesisCallsArePutRecordsWithKeysAndRetryOnlyTheFailedSubset) {
  std::atomic<int> calls{0};
  FakeHttpServer server([&](const FakeHttpRequest& r) {
    const size_t n = RecordsOf(r).size();
    if (++calls == 1) return KinesisAnswer(n, {1, 3});
    if (calls == 2) return KinesisAnswer(n, {0}, "InternalFailure");
    return KinesisAnswer(n);
  });
  SendOptions options = Options(server);
  options.api = AwsApi::kKinesis;
  KeyedSource source(5, 0, 0);
  auto stats = SendRecords(options, source, 5, err_);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->delivered, 5u);
  EXPECT_EQ(stats->retried_records, 3u);
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].headers.at("x-amz-target"), "Kinesis_20131202.PutRecords");
  EXPECT_NE(requests[0].body.find("\"StreamName\":\"orders\""), std::string::npos);
  EXPECT_EQ(PartitionKeysOf(requests[0]), (std::vector<std::string>{"k0", "k1", "k2", "k3", "k4"}));
  EXPECT_EQ(PartitionKeysOf(requests[1]), (std::vector<std::string>{"k1", "k3"}));
  EXPECT_EQ(PartitionKeysOf(requests[2]), (std::vector<std::string>{"k1"}));
}

TEST_F(RecordSenderTest, KinesisCallsCarryAtMostFiveMebibytesOfDataAndKeys) {
  FakeHttpServer server(
      [](const FakeHttpRequest& r) { return KinesisAnswer(RecordsOf(r).size()); });
  SendOptions options = Options(server);
  options.api = AwsApi::kKinesis;
  // 1,048,320 data bytes + 256 key bytes = 1 MiB per record: five fill 5 MiB exactly.
  KeyedSource source(11, 1024 * 1024 - 256, 256);
  auto stats = SendRecords(options, source, 0, err_);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->delivered, 11u);
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(RecordsOf(requests[0]).size(), 5u);
  EXPECT_EQ(RecordsOf(requests[1]).size(), 5u);
  EXPECT_EQ(RecordsOf(requests[2]).size(), 1u);
}

TEST(SendOptionsTest, KinesisStreamsAcceptLongerNamesAndArns) {
  SendOptions o;
  o.api = AwsApi::kKinesis;
  o.stream = std::string(128, 'k');
  EXPECT_TRUE(ValidateSendOptions(o).ok());
  o.stream = std::string(129, 'k');
  EXPECT_EQ(ValidateSendOptions(o).code(), StatusCode::kInvalidArgument);
  o.stream = "arn:aws:kinesis:us-east-1:123456789012:stream/orders";
  EXPECT_TRUE(ValidateSendOptions(o).ok());
  o.api = AwsApi::kFirehose;
  EXPECT_EQ(ValidateSendOptions(o).code(), StatusCode::kInvalidArgument);
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
