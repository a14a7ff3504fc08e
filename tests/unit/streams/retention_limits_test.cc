// Retention of standalone streams (ApplyRetention) and the per-shard write limits.
#include "gtest/gtest.h"
#include "streams/service.h"
#include "unit/streams/service_fixture.h"

namespace sluice::streams {
namespace {

constexpr int64_t kHourMs = 3600 * 1000;

class RetentionTest : public ServiceTest {
 protected:
  void SetUp() override {
    journal_options_.segment_bytes = 1;  // every append after the first starts a segment
    ServiceTest::SetUp();
    ASSERT_TRUE(service_->Create(StreamSpec::WithEvenShards("s", StreamKind::kStandalone, 1)).ok());
    for (const char* data : {"a", "b", "c"}) AppendNow("s", {Record{data, "k", {}}});
  }
};

TEST_F(RetentionTest, SegmentsPastTheRetentionPeriodGoWithoutAnyConsumer) {
  clock_.AdvanceMs(23 * kHourMs);
  EXPECT_EQ(service_->ApplyRetention().value(), 0u);  // 24 h by default
  clock_.AdvanceMs(2 * kHourMs);
  // The active (last) segment stays.
  EXPECT_EQ(service_->ApplyRetention().value(), 2u);
  EXPECT_EQ(ReadKeyed("s", 0), (std::vector<std::string>{"c"}));
  EXPECT_EQ(service_->ShardEnd("s", 0).value(), journal::Offset{3});
  EXPECT_EQ(service_->Describe("s")->spec.shards.size(), 1u);
}

TEST_F(RetentionTest, ANamedConsumerKeepsWhatItHasNotCommittedPast) {
  // Opening registers it: even before its first commit it holds everything.
  auto delivery = std::move(service_->OpenConsumer("s", 0, "delivery").value());
  clock_.AdvanceMs(25 * kHourMs);
  EXPECT_EQ(service_->ApplyRetention().value(), 0u);
  ASSERT_TRUE(delivery->Commit({journal::Offset{1}, std::nullopt}).ok());
  EXPECT_EQ(service_->ApplyRetention().value(), 1u);  // "a" only: "b" is not committed past
  EXPECT_EQ(ReadKeyed("s", 0), (std::vector<std::string>{"b", "c"}));
  ASSERT_TRUE(delivery->Commit({journal::Offset{3}, std::nullopt}).ok());
  EXPECT_EQ(service_->ApplyRetention().value(), 1u);
  EXPECT_EQ(ReadKeyed("s", 0), (std::vector<std::string>{"c"}));
}

TEST_F(RetentionTest, AskingWhatAConsumerCommittedDoesNotRegisterIt) {
  EXPECT_EQ(service_->Committed("s", 0, "watcher").value().next, journal::Offset{0});
  clock_.AdvanceMs(25 * kHourMs);
  EXPECT_EQ(service_->ApplyRetention().value(), 2u);  // nothing holds the old segments
  auto delivery = std::move(service_->OpenConsumer("s", 0, "delivery").value());
  ASSERT_TRUE(delivery->Commit({journal::Offset{3}, std::nullopt}).ok());
  EXPECT_EQ(service_->Committed("s", 0, "delivery").value().next, journal::Offset{3});
  EXPECT_EQ(service_->Committed("s", 9, "delivery").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->Committed("nope", 0, "delivery").status().code(), StatusCode::kNotFound);
}

TEST_F(RetentionTest, RetentionFollowsTheStreamsSettingAndSkipsOwnedStreams) {
  ASSERT_TRUE(service_
                  ->Update("s",
                           [](StreamSpec& spec) {
                             spec.retention_hours = 48;
                             return Status::Ok();
                           })
                  .ok());
  ASSERT_TRUE(
      service_->Create(StreamSpec::WithEvenShards("owned", StreamKind::kDeliveryOwned, 1)).ok());
  for (const char* data : {"a", "b"}) AppendNow("owned", {Record{data, "k", {}}});
  clock_.AdvanceMs(25 * kHourMs);
  EXPECT_EQ(service_->ApplyRetention().value(), 0u);
  clock_.AdvanceMs(24 * kHourMs);
  EXPECT_EQ(service_->ApplyRetention().value(), 2u);
  EXPECT_EQ(ReadKeyed("owned", 0), (std::vector<std::string>{"a", "b"}));  // its owner's business
  EXPECT_EQ(service_->OpenConsumer("s", 0, kRetentionConsumer).status().code(),
            StatusCode::kInvalidArgument);
}

using ShardLimitTest = ServiceTest;

std::vector<StatusCode> Codes(const std::vector<AppendOutcome>& out) {
  std::vector<StatusCode> codes;
  for (const auto& o : out) codes.push_back(o.status.code());
  return codes;
}

TEST_F(ShardLimitTest, RecordsOverAShardsRateAreRefusedAndTheOthersGoThrough) {
  auto spec = StreamSpec::WithEvenShards("s", StreamKind::kStandalone, 2);
  spec.enforce_shard_limits = true;
  ASSERT_TRUE(service_->Create(spec).ok());
  const HashKey low{}, high = HashKey::Max();
  // 1,000 records per second per shard: the 1,001st of shard 0 is refused, shard 1's is not.
  std::vector<Record> records(1001, Record{"x", "k", low});
  records.push_back(Record{"y", "k", high});
  auto out = AppendNow("s", records);
  ASSERT_EQ(out.size(), 1002u);
  for (size_t i = 0; i < 1000; ++i) ASSERT_TRUE(out[i].status.ok()) << i;
  EXPECT_EQ(out[1000].status.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(out[1000].status.message(), kRateExceeded);
  EXPECT_TRUE(out[1001].status.ok());
  EXPECT_EQ(out[1001].position, (Position{1, journal::Offset{0}}));
  // The bucket refills with time: one record per millisecond.
  clock_.AdvanceMs(1);
  EXPECT_EQ(Codes(AppendNow("s", {Record{"x", "k", low}, Record{"x", "k", low}})),
            (std::vector<StatusCode>{StatusCode::kOk, StatusCode::kResourceExhausted}));
  // 1 MiB per second, counting the partition key: 600 KiB fits once; a small record still fits.
  clock_.AdvanceMs(1000);
  const std::string big(600 << 10, 'b');
  out = AppendNow("s", {Record{big, "k", low}, Record{big, "k", low}, Record{"small", "k", low}});
  EXPECT_EQ(Codes(out), (std::vector<StatusCode>{StatusCode::kOk, StatusCode::kResourceExhausted,
                                                 StatusCode::kOk}));
  EXPECT_EQ(out[2].position, (Position{0, journal::Offset{1002}}));
  // A second refills at most a second's worth.
  clock_.AdvanceMs(10'000);
  std::vector<Record> burst(1001, Record{"x", "k", low});
  out = AppendNow("s", burst);
  EXPECT_EQ(out[999].status.code(), StatusCode::kOk);
  EXPECT_EQ(out[1000].status.code(), StatusCode::kResourceExhausted);
  // Stored are exactly the records that were acknowledged.
  EXPECT_EQ(service_->ShardEnd("s", 0).value(), journal::Offset{2003});
}

TEST_F(ShardLimitTest, LimitsApplyOnlyWhenTheStreamEnforcesThem) {
  ASSERT_TRUE(service_->Create(StreamSpec::WithEvenShards("s", StreamKind::kStandalone, 1)).ok());
  auto out = AppendNow("s", std::vector<Record>(1500, Record{"x", "k", {}}));
  for (const auto& o : out) ASSERT_TRUE(o.status.ok());
  ASSERT_TRUE(service_
                  ->Update("s",
                           [](StreamSpec& spec) {
                             spec.enforce_shard_limits = true;
                             return Status::Ok();
                           })
                  .ok());
  out = AppendNow("s", std::vector<Record>(1001, Record{"x", "k", {}}));
  EXPECT_EQ(out[1000].status.code(), StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace sluice::streams
