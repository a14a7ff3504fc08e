// The Kinesis handler's data plane on a real streams::Service and journal: PutRecords decodes
// every record straight into one RecordBatch (keyed header in place) and the service routes it;
// these tests pin record boundaries, mixed shards, whole-request errors that append nothing,
// per-record refusals, and GetRecords' 10 MiB cap counting data alone.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/kinesis_handler.h"
#include "common/base64.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "journal/journal.h"
#include "streams/service.h"

namespace sluice::api {
namespace {

class KinesisPutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kinesis_put_test_XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override {
    handler_.reset();
    service_.reset();
    if (journal_) journal_->Close();
    std::filesystem::remove_all(dir_);
  }
  void Start(streams::ServiceOptions so = {}, bool enforce_limits = false) {
    journal::Options jo;
    jo.dir = fs::Join(dir_, "journal");
    jo.clock = &clock_;
    journal_ = std::move(journal::Journal::Open(jo).value());
    so.catalog_dir = fs::Join(dir_, "catalog");
    so.clock = &clock_;
    so.journal_namespace = streams::kKinesisJournalNamespace;
    service_ = std::make_unique<streams::Service>(journal_.get(), so);
    ASSERT_TRUE(service_->Open().ok());
    KinesisOptions ko;
    ko.clock = &clock_;
    ko.enforce_shard_limits = enforce_limits;
    handler_ = std::make_unique<KinesisHandler>(*service_, IteratorCodec(std::string(32, 'k')), ko);
  }

  HttpResponse Call(std::string_view op, std::string body) {
    HttpRequest req;
    req.method = "POST";
    req.target = "/";
    req.headers.emplace_back("Content-Type", "application/x-amz-json-1.1");
    req.headers.emplace_back("X-Amz-Target", "Kinesis_20131202." + std::string(op));
    req.body = std::move(body);
    std::promise<HttpResponse> p;
    handler_->Handle(std::move(req), [&p](HttpResponse r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }

  void CreateStream(int shards) {
    auto r =
        Call("CreateStream", R"({"StreamName":"s","ShardCount":)" + std::to_string(shards) + "}");
    ASSERT_EQ(r.status, 200) << r.body;
  }

  struct Rec {
    std::string key;
    std::string data;
    std::string data_b64;  // when set, sent instead of base64(data)
  };
  static std::string PutRecordsBody(const std::vector<Rec>& records) {
    std::string body = R"({"StreamName":"s","Records":[)";
    for (size_t i = 0; i < records.size(); ++i) {
      if (i > 0) body += ",";
      const std::string b64 =
          records[i].data_b64.empty() ? base64::Encode(records[i].data) : records[i].data_b64;
      body += R"({"PartitionKey":")" + records[i].key + R"(","Data":")" + b64 + "\"}";
    }
    return body + "]}";
  }

  // Every record of every shard of "s", as (key, data), by shard.
  std::map<uint32_t, std::vector<std::pair<std::string, std::string>>> Stored() {
    std::map<uint32_t, std::vector<std::pair<std::string, std::string>>> out;
    auto info = service_->Describe("s");
    EXPECT_TRUE(info.ok());
    for (const auto& shard : info->spec.shards) {
      auto reader = service_->Read("s", shard.id, {});
      EXPECT_TRUE(reader.ok());
      std::vector<journal::StoredRecord> records;
      while ((*reader)->Next(1000, 1 << 20, records).value() > 0) {
      }
      for (const auto& r : records) {
        auto keyed = streams::SplitKeyed(r.data);
        EXPECT_TRUE(keyed.has_value());
        out[shard.id].emplace_back(std::string(keyed->partition_key), std::string(keyed->data));
      }
    }
    return out;
  }
  size_t StoredCount() {
    size_t n = 0;
    for (const auto& [shard, records] : Stored()) n += records.size();
    return n;
  }

  ManualClock clock_;
  std::string dir_;
  std::unique_ptr<journal::Journal> journal_;
  std::unique_ptr<streams::Service> service_;
  std::unique_ptr<KinesisHandler> handler_;
};

TEST_F(KinesisPutTest, PutRecordsKeepsEveryRecordsBoundariesAcrossMixedShards) {
  Start();
  CreateStream(4);
  std::vector<Rec> records;
  for (int i = 0; i < 40; ++i) {
    // Sizes 1..3 exercise every base64 padding; some large; keys of 256 bytes and 256 characters.
    std::string data(static_cast<size_t>(i % 3 + 1 + (i % 7 == 0 ? 5000 : 0)), 'a' + i % 26);
    std::string key = i == 5 ? std::string(256, 'K') : "key-" + std::to_string(i);
    if (i == 6) {  // 256 characters (UTF-16 units, as AWS counts), 768 bytes of UTF-8
      key.clear();
      for (int c = 0; c < 256; ++c) key += "\xE2\x82\xAC";  // U+20AC, 3 bytes
    }
    records.push_back({key, data, ""});
  }
  auto r = Call("PutRecords", PutRecordsBody(records));
  ASSERT_EQ(r.status, 200) << r.body;
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(r.body);
  EXPECT_EQ(int64_t(doc["FailedRecordCount"]), 0);
  // Each answer names the record's shard; the shard holds the records in request order.
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> expected;
  size_t i = 0;
  for (auto entry : doc["Records"].get_array()) {
    expected[std::string(std::string_view(entry["ShardId"]))].emplace_back(records[i].key,
                                                                           records[i].data);
    ++i;
  }
  ASSERT_EQ(i, records.size());
  EXPECT_GT(expected.size(), 1u) << "the keys should spread over several shards";
  auto stored = Stored();
  size_t seen = 0;
  for (const auto& [shard, got] : stored) {
    const std::string id =
        "shardId-" + std::string(12 - std::to_string(shard).size(), '0') + std::to_string(shard);
    EXPECT_EQ(got, expected[id]) << id;
    seen += got.size();
  }
  EXPECT_EQ(seen, records.size());
}

TEST_F(KinesisPutTest, Base64ErrorMidRequestAnswersTheRequestsErrorAndAppendsNothing) {
  Start();
  CreateStream(2);
  std::vector<Rec> records = {
      {"a", "one", ""}, {"b", "two", ""}, {"c", "", "AB$="}, {"d", "four", ""}};
  auto r = Call("PutRecords", PutRecordsBody(records));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body,
            R"({"__type":"SerializationException","message":"'AB$=' can not be converted to a )"
            R"(Blob: Invalid Base64 character: '$'"})");
  EXPECT_EQ(StoredCount(), 0u);
  // The same request without the bad record goes in whole.
  records.erase(records.begin() + 2);
  EXPECT_EQ(Call("PutRecords", PutRecordsBody(records)).status, 200);
  EXPECT_EQ(StoredCount(), 3u);
}

TEST_F(KinesisPutTest, OversizedRecordFailsTheRequestAndAppendsNothing) {
  Start();
  CreateStream(1);
  std::vector<Rec> records = {{"a", "small", ""},
                              {"b", std::string(kKinesisMaxRecordBytes + 1, 'x'), ""}};
  auto r = Call("PutRecords", PutRecordsBody(records));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("ValidationException"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("records.2.member.data"), std::string::npos) << r.body;
  EXPECT_EQ(StoredCount(), 0u);
  // PutRecord: data + key over 1 MiB.
  r = Call("PutRecord", R"({"StreamName":"s","PartitionKey":"kk","Data":")" +
                            base64::Encode(std::string(kKinesisMaxRecordBytes - 1, 'x')) + "\"}");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("Record size including the partition key exceeds 1 MiB."),
            std::string::npos)
      << r.body;
  EXPECT_EQ(StoredCount(), 0u);
}

TEST_F(KinesisPutTest, WriteLimitRefusesRecordsOneByOneAndStoresTheRest) {
  streams::ServiceOptions so;
  so.shard_write_records_per_sec = 2;
  Start(so, /*enforce_limits=*/true);
  CreateStream(1);
  std::vector<Rec> records;
  for (int i = 0; i < 5; ++i) records.push_back({"k" + std::to_string(i), "d" + std::to_string(i)});
  auto r = Call("PutRecords", PutRecordsBody(records));
  ASSERT_EQ(r.status, 200) << r.body;
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(r.body);
  EXPECT_EQ(int64_t(doc["FailedRecordCount"]), 3);
  size_t i = 0;
  for (auto entry : doc["Records"].get_array()) {
    if (i < 2) {
      EXPECT_TRUE(entry["SequenceNumber"].is_string()) << i;
    } else {
      EXPECT_EQ(std::string_view(entry["ErrorCode"]), "ProvisionedThroughputExceededException");
    }
    ++i;
  }
  auto stored = Stored();
  ASSERT_EQ(stored[0].size(), 2u);
  EXPECT_EQ(stored[0][0], (std::pair<std::string, std::string>{"k0", "d0"}));
  EXPECT_EQ(stored[0][1], (std::pair<std::string, std::string>{"k1", "d1"}));
}

TEST_F(KinesisPutTest, GetRecordsCapsTenMiBOfDataNotOfKeys) {
  Start();
  CreateStream(1);
  // 1,100 B of data and a 256 B key each: 10 MiB holds 9,532 records' data, but only 7,721 of
  // their payloads with the keys.
  constexpr size_t kData = 1100;
  constexpr size_t kRecords = 9700;
  const std::string key(256, 'k');
  for (size_t done = 0; done < kRecords;) {
    std::vector<streams::Record> batch;
    for (size_t j = 0; j < 500 && done < kRecords; ++j, ++done) {
      batch.push_back({std::string(kData, static_cast<char>('a' + done % 26)), key, {}});
    }
    std::promise<Result<streams::AppendResult>> p;
    service_->Append("s", batch, [&](auto r) { p.set_value(std::move(r)); });
    ASSERT_TRUE(p.get_future().get().ok());
  }
  auto it = Call("GetShardIterator", R"({"StreamName":"s","ShardId":"shardId-000000000000",)"
                                     R"("ShardIteratorType":"TRIM_HORIZON"})");
  ASSERT_EQ(it.status, 200) << it.body;
  simdjson::dom::parser parser;
  std::string iterator = std::string(std::string_view(parser.parse(it.body)["ShardIterator"]));
  const size_t fit = kKinesisMaxGetBytes / kData;  // 9532
  auto r = Call("GetRecords", R"({"ShardIterator":")" + iterator + "\"}");
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 200);
  simdjson::dom::parser p1;
  simdjson::dom::element doc = p1.parse(r.body);
  EXPECT_EQ(doc["Records"].get_array().size(), fit);
  std::string next = std::string(std::string_view(doc["NextShardIterator"]));
  // The next call starts at the first record left out.
  r = Call("GetRecords", R"({"ShardIterator":")" + next + "\"}");
  ASSERT_EQ(r.status, 200);
  simdjson::dom::parser p2;
  doc = p2.parse(r.body);
  auto rest = doc["Records"].get_array();
  EXPECT_EQ(rest.size(), kRecords - fit);
  std::string first = std::string(std::string_view((*rest.begin())["Data"]));
  EXPECT_EQ(first, base64::Encode(std::string(kData, static_cast<char>('a' + fit % 26))));
}

}  // namespace
}  // namespace sluice::api
