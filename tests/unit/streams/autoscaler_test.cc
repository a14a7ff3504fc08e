// The on-demand autoscaler, on a manual clock with synthetic appends.
#include "streams/autoscaler.h"

#include "gtest/gtest.h"
#include "unit/streams/service_fixture.h"

namespace sluice::streams {
namespace {

class AutoScalerTest : public ServiceTest {
 protected:
  void CreateOnDemand(const std::string& name, uint32_t shards, bool on_demand = true) {
    auto spec = StreamSpec::WithEvenShards(name, StreamKind::kStandalone, shards);
    spec.on_demand = on_demand;
    ASSERT_TRUE(service_->Create(spec).ok());
  }
  AutoScalerOptions Options() {
    AutoScalerOptions o;
    o.split_above_bytes_per_sec = 1000;
    o.merge_below_bytes_per_sec = 100;
    o.window_ms = 10'000;
    o.cooldown_ms = 30'000;
    o.clock = &clock_;
    return o;
  }
  // One second: `bytes` written at `key` (data + partition key), then a tick.
  void Second(AutoScaler& scaler, const std::string& name, const HashKey& key, size_t bytes) {
    if (bytes > 0) AppendNow(name, {Record{std::string(bytes - 1, 'x'), "k", key}});
    clock_.AdvanceMs(1000);
    scaler.Tick();
  }
  std::vector<uint32_t> OpenIds(const std::string& name) {
    std::vector<uint32_t> ids;
    auto writes = service_->Writes(name);
    EXPECT_TRUE(writes.ok());
    if (writes.ok()) {
      for (const auto& s : writes->open_shards) ids.push_back(s.shard);
    }
    return ids;
  }
};

TEST_F(AutoScalerTest, SplitsAShardHotForAWindowAtItsMiddleThenCoolsDown) {
  CreateOnDemand("s", 4);
  AutoScalerOptions o = Options();
  o.min_shards = 8;  // no merges of the idle shards here
  AutoScaler scaler(service_.get(), o);
  scaler.Tick();  // the first sample
  for (int i = 0; i < 9; ++i) Second(scaler, "s", HashKey{}, 2000);
  EXPECT_EQ(OpenIds("s"), (std::vector<uint32_t>{0, 1, 2, 3}));  // 9 s: not a window yet
  Second(scaler, "s", HashKey{}, 2000);
  EXPECT_EQ(OpenIds("s"), (std::vector<uint32_t>{4, 5, 1, 2, 3}));
  const StreamSpec spec = service_->Describe("s")->spec;
  EXPECT_EQ(spec.shards[5].hash_keys.start, *MiddleOf(EvenRanges(4)[0]));
  EXPECT_EQ(spec.shards[5].parent, 0u);
  // Shard 4 is as hot, but the stream waits out its cooldown (30 s after the split).
  for (int i = 0; i < 29; ++i) Second(scaler, "s", HashKey{}, 2000);
  EXPECT_EQ(OpenIds("s").size(), 5u);
  Second(scaler, "s", HashKey{}, 2000);
  EXPECT_EQ(OpenIds("s"), (std::vector<uint32_t>{6, 7, 5, 1, 2, 3}));
}

TEST_F(AutoScalerTest, MergesTheFirstPairOfColdAdjacentShardsDownToTheMinimum) {
  CreateOnDemand("s", 6);
  AutoScalerOptions o = Options();
  o.min_shards = 4;
  AutoScaler scaler(service_.get(), o);
  scaler.Tick();
  // Shard 0 is warm (between the thresholds): neither split nor merged.
  for (int i = 0; i < 10; ++i) Second(scaler, "s", HashKey{}, 500);
  EXPECT_EQ(OpenIds("s"), (std::vector<uint32_t>{0, 6, 3, 4, 5}));
  StreamSpec spec = service_->Describe("s")->spec;
  EXPECT_EQ(spec.shards.back().parent, 1u);
  EXPECT_EQ(spec.shards.back().adjacent_parent, 2u);
  for (int i = 0; i < 29; ++i) Second(scaler, "s", HashKey{}, 500);
  EXPECT_EQ(OpenIds("s").size(), 5u);  // the cooldown
  // Now shard 6 has been watched for a window too: it and shard 3 are the first cold pair.
  Second(scaler, "s", HashKey{}, 500);
  EXPECT_EQ(OpenIds("s"), (std::vector<uint32_t>{0, 7, 4, 5}));
  spec = service_->Describe("s")->spec;
  EXPECT_EQ(spec.shards.back().parent, 6u);
  EXPECT_EQ(spec.shards.back().adjacent_parent, 3u);
  for (int i = 0; i < 60; ++i) Second(scaler, "s", HashKey{}, 500);
  EXPECT_EQ(OpenIds("s").size(), 4u);  // the minimum
}

TEST_F(AutoScalerTest, LeavesProvisionedStreamsAlone) {
  CreateOnDemand("p", 1, /*on_demand=*/false);
  AutoScaler scaler(service_.get(), Options());
  scaler.Tick();
  for (int i = 0; i < 20; ++i) Second(scaler, "p", HashKey{}, 5000);
  EXPECT_EQ(OpenIds("p"), (std::vector<uint32_t>{0}));
}

}  // namespace
}  // namespace sluice::streams
