#include "streams/service.h"

#include <future>

#include "common/file_util.h"
#include "gtest/gtest.h"
#include "unit/streams/service_fixture.h"

namespace sluice::streams {
namespace {

TEST_F(ServiceTest, KeyedRecordsGoToTheShardOwningTheirHashKey) {
  ASSERT_TRUE(
      service_->Create(StreamSpec::WithEvenShards("events", StreamKind::kStandalone, 2)).ok());
  // MD5("a") starts 0x0c (lower half: shard 0); an explicit key in the upper half: shard 1.
  auto upper = HashKey::Parse("300000000000000000000000000000000000000");
  auto out = AppendNow("events", {Record{"r1", "a", std::nullopt}, Record{"r2", "x", upper},
                                  Record{"r3", "a", std::nullopt}});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(SplitKeyed(ReadAll("events", 1).at(0))->partition_key, "x");
  for (auto& o : out) EXPECT_TRUE(o.status.ok()) << o.status.ToString();
  EXPECT_EQ(out[0].position, (Position{0, journal::Offset{0}}));
  EXPECT_EQ(out[1].position, (Position{1, journal::Offset{0}}));
  EXPECT_EQ(out[2].position, (Position{0, journal::Offset{1}}));
  EXPECT_EQ(ReadKeyed("events", 0), (std::vector<std::string>{"r1", "r3"}));
  EXPECT_EQ(ReadKeyed("events", 1), (std::vector<std::string>{"r2"}));
}

TEST(KeyedPayloadTest, SplitsWhatItEncodesAndRefusesDamage) {
  std::string key(256, 'k');
  const std::string encoded = EncodeKeyed(key, "data");  // the views point into it
  auto split = SplitKeyed(encoded);
  ASSERT_TRUE(split.has_value());
  EXPECT_EQ(split->partition_key, key);
  EXPECT_EQ(split->data, "data");
  const std::string empty_data = EncodeKeyed("k", "");
  EXPECT_EQ(SplitKeyed(empty_data)->data, "");
  EXPECT_FALSE(SplitKeyed("").has_value());
  EXPECT_FALSE(SplitKeyed(std::string("\x05\x00"
                                      "abc",
                                      5))
                   .has_value());  // key past the end
  EXPECT_FALSE(SplitKeyed(std::string("\x01\x02", 2) + std::string(300, 'x')).has_value());
}

TEST_F(ServiceTest, UnkeyedCallsTakeTurnsAcrossShards) {
  ASSERT_TRUE(
      service_->Create(StreamSpec::WithEvenShards("fh", StreamKind::kDeliveryOwned, 2)).ok());
  for (int i = 0; i < 4; ++i) {
    std::promise<Result<AppendResult>> p;
    service_->AppendUnkeyed("fh", {"x" + std::to_string(i)},
                            [&](auto r) { p.set_value(std::move(r)); });
    auto r = p.get_future().get();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->records[0].position.shard, static_cast<uint32_t>(i % 2));
  }
  EXPECT_EQ(ReadAll("fh", 0), (std::vector<std::string>{"x0", "x2"}));
}

TEST_F(ServiceTest, ReadsStartWhereAsked) {
  ASSERT_TRUE(service_->Create(StreamSpec::WithEvenShards("s", StreamKind::kStandalone, 1)).ok());
  AppendNow("s", {Record{"a", "k", {}}, Record{"b", "k", {}}});
  clock_.AdvanceMs(1000);
  AppendNow("s", {Record{"c", "k", {}}});
  using T = StartingPosition::Type;
  EXPECT_EQ(ReadKeyed("s", 0, {T::kAt, journal::Offset{1}, 0}),
            (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(ReadKeyed("s", 0, {T::kAfter, journal::Offset{1}, 0}), (std::vector<std::string>{"c"}));
  EXPECT_TRUE(ReadKeyed("s", 0, {T::kLatest, {}, 0}).empty());
  EXPECT_EQ(ReadKeyed("s", 0, {T::kAtTimestamp, {}, clock_.NowMs()}),
            (std::vector<std::string>{"c"}));
  EXPECT_TRUE(ReadKeyed("s", 0, {T::kAtTimestamp, {}, clock_.NowMs() + 1}).empty());
  EXPECT_EQ(service_->Read("s", 0, {T::kAt, journal::Offset{4}, 0}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->Read("s", 7, {}).status().code(), StatusCode::kNotFound);
}

TEST_F(ServiceTest, NamedConsumersKeepTheirOwnStateWithTheBatchIntent) {
  ASSERT_TRUE(service_->Create(StreamSpec::WithEvenShards("s", StreamKind::kStandalone, 1)).ok());
  AppendNow("s", {Record{"a", "k", {}}, Record{"b", "k", {}}, Record{"c", "k", {}}});
  auto delivery = std::move(service_->OpenConsumer("s", 0, "delivery").value());
  auto other = std::move(service_->OpenConsumer("s", 0, "other").value());
  ASSERT_TRUE(
      delivery->Commit({journal::Offset{1}, journal::BatchIntent{journal::Offset{3}, 4, 5}}).ok());
  ASSERT_TRUE(other->Commit({journal::Offset{2}, std::nullopt}).ok());
  delivery.reset();
  other.reset();
  OpenAll();  // the standalone stream comes back from the catalog
  auto again = std::move(service_->OpenConsumer("s", 0, "delivery").value());
  EXPECT_EQ(again->Committed().next, journal::Offset{1});
  ASSERT_TRUE(again->Committed().intent);
  EXPECT_EQ(again->Committed().intent->end, journal::Offset{3});
  EXPECT_EQ(std::move(service_->OpenConsumer("s", 0, "other").value())->Committed().next,
            journal::Offset{2});
}

TEST_F(ServiceTest, UpdatesArePersistedAndMayNotTouchShards) {
  ASSERT_TRUE(service_->Create(StreamSpec::WithEvenShards("kds", StreamKind::kStandalone, 2)).ok());
  ASSERT_TRUE(service_
                  ->Update("kds",
                           [](StreamSpec& spec) {
                             spec.retention_hours = 72;
                             spec.on_demand = true;
                             spec.enforce_shard_limits = true;
                             spec.consumers.push_back(RegisteredConsumer{"app", 42});
                             return Status::Ok();
                           })
                  .ok());
  EXPECT_EQ(
      service_->Update("kds", [](StreamSpec&) { return Status::FailedPrecondition("no"); }).code(),
      StatusCode::kFailedPrecondition);
  EXPECT_EQ(service_
                ->Update("kds",
                         [](StreamSpec& spec) {
                           spec.shards.pop_back();
                           return Status::Ok();
                         })
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->Update("nope", [](StreamSpec&) { return Status::Ok(); }).code(),
            StatusCode::kNotFound);
  OpenAll();
  auto info = service_->Describe("kds");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->spec.retention_hours, 72u);
  EXPECT_TRUE(info->spec.on_demand);
  EXPECT_TRUE(info->spec.enforce_shard_limits);
  EXPECT_EQ(info->spec.consumers, (std::vector<RegisteredConsumer>{{"app", 42}}));
  EXPECT_EQ(info->spec.shards.size(), 2u);
}

TEST_F(ServiceTest, CatalogPersistsStandaloneStreamsOnly) {
  auto spec = StreamSpec::WithEvenShards("kds", StreamKind::kStandalone, 3);
  spec.tags["team"] = "data";
  spec.retention_hours = 48;
  ASSERT_TRUE(service_->Create(spec).ok());
  ASSERT_TRUE(
      service_->Create(StreamSpec::WithEvenShards("hidden", StreamKind::kDeliveryOwned, 1)).ok());
  EXPECT_EQ(service_->Create(spec).code(), StatusCode::kAlreadyExists);
  OpenAll();
  EXPECT_EQ(service_->List(), (std::vector<std::string>{"kds"}));
  auto info = service_->Describe("kds");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->spec.shards, spec.shards);
  EXPECT_EQ(info->spec.tags, spec.tags);
  EXPECT_EQ(info->spec.retention_hours, 48u);
  EXPECT_EQ(info->spec.created_ms, clock_.NowMs());
}

TEST_F(ServiceTest, DeleteFencesAppendsReleasesConsumersAndDropsData) {
  ASSERT_TRUE(service_->Create(StreamSpec::WithEvenShards("s", StreamKind::kStandalone, 1)).ok());
  AppendNow("s", {Record{"a", "k", {}}});
  bool released = false;
  ASSERT_TRUE(service_->Delete("s", [&] { released = true; }).ok());
  EXPECT_TRUE(released);
  std::promise<Result<AppendResult>> p;
  service_->Append("s", {Record{"b", "k", {}}}, [&](auto r) { p.set_value(std::move(r)); });
  EXPECT_EQ(p.get_future().get().status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->Delete("s").code(), StatusCode::kNotFound);
  // A new stream of the same name starts empty.
  ASSERT_TRUE(service_->Create(StreamSpec::WithEvenShards("s", StreamKind::kStandalone, 1)).ok());
  EXPECT_TRUE(ReadKeyed("s", 0).empty());
  OpenAll();
  EXPECT_EQ(service_->List(), (std::vector<std::string>{"s"}));
}

TEST_F(ServiceTest, BadNamesShardsAndDamagedEntriesAreRefused) {
  EXPECT_EQ(service_->Create(StreamSpec::WithEvenShards("..", StreamKind::kStandalone, 1)).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->Create(StreamSpec::WithEvenShards("a/b", StreamKind::kStandalone, 1)).code(),
            StatusCode::kInvalidArgument);
  auto gap = StreamSpec::WithEvenShards("gap", StreamKind::kStandalone, 2);
  gap.shards.pop_back();
  EXPECT_EQ(service_->Create(gap).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(fs::CreateDirs(fs::Join(dir_, "catalog")).ok());
  ASSERT_TRUE(fs::WriteFileAtomically(fs::Join(dir_, "catalog/bad.json"), "{\"name\":1}").ok());
  journal::Options jo;
  jo.dir = fs::Join(dir_, "journal");
  Service other(journal_.get(), ServiceOptions{fs::Join(dir_, "catalog"), &clock_});
  Status st = other.Open();
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find("bad.json"), std::string::npos) << st.message();
}

TEST_F(ServiceTest, NamespacesKeepSameNamedStreamsOfTwoServicesApart) {
  Service kinesis(journal_.get(), ServiceOptions{fs::Join(dir_, "kinesis-catalog"), &clock_,
                                                 kKinesisJournalNamespace});
  ASSERT_TRUE(kinesis.Open().ok());
  ASSERT_TRUE(
      service_->Create(StreamSpec::WithEvenShards("orders", StreamKind::kDeliveryOwned, 1)).ok());
  ASSERT_TRUE(
      kinesis.Create(StreamSpec::WithEvenShards("orders", StreamKind::kStandalone, 1)).ok());
  AppendNow("orders", {Record{"delivery", "k", {}}});
  std::promise<Result<AppendResult>> p;
  kinesis.Append("orders", {Record{"kinesis", "k", {}}, Record{"kinesis2", "k", {}}},
                 [&](auto r) { p.set_value(std::move(r)); });
  ASSERT_TRUE(p.get_future().get().ok());
  EXPECT_EQ(ReadKeyed("orders", 0), (std::vector<std::string>{"delivery"}));
  EXPECT_EQ(journal_->Partition("kinesis+orders", 0).value()->End(), journal::Offset{2});
  // Deleting one leaves the other's data alone.
  ASSERT_TRUE(kinesis.Delete("orders").ok());
  EXPECT_EQ(ReadKeyed("orders", 0), (std::vector<std::string>{"delivery"}));
}

}  // namespace
}  // namespace sluice::streams
