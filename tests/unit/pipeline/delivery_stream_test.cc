// DeliveryStream: the composition of stores, builders and workers for one delivery stream, on a
// real journal and streams::Service.
#include "pipeline/delivery_stream.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <future>

#include "common/file_util.h"
#include "objectstore/file_store.h"
#include "testutil/transform_json_specs.h"

namespace sluice::pipeline {
namespace {

class DeliveryStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = ::testing::TempDir() + "/ds_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(root_);
    journal::Options jo;
    jo.dir = root_ + "/journal";
    jo.clock = &clock_;
    journal_ = std::move(journal::Journal::Open(jo).value());
    service_ = std::make_unique<streams::Service>(
        journal_.get(), streams::ServiceOptions{root_ + "/catalog", &clock_});
    deps_.streams = service_.get();
    deps_.clock = &clock_;
    deps_.default_bucket_root = root_ + "/buckets";
    deps_.open_store = [this](const config::ObjectDestination& dest)
        -> Result<std::unique_ptr<objectstore::ObjectStore>> {
      opened_.push_back(dest.url);
      if (dest.url.rfind("file://", 0) != 0) return Status::InvalidArgument("refused " + dest.url);
      return std::unique_ptr<objectstore::ObjectStore>(
          std::make_unique<objectstore::FileObjectStore>(dest.url.substr(7)));
    };
  }
  void TearDown() override {
    service_.reset();
    journal_->Close();
  }
  config::StreamConfig Config(uint32_t partitions) {
    config::StreamConfig c;
    c.name = "orders";
    c.partitions = partitions;
    c.buffering.interval_s = 0;
    return c;
  }
  void CreateIngest(uint32_t shards) {
    ASSERT_TRUE(service_
                    ->Create(streams::StreamSpec::WithEvenShards(
                        "orders", streams::StreamKind::kDeliveryOwned, shards))
                    .ok());
  }
  void Put(std::vector<std::string> records) {
    std::promise<Result<streams::AppendResult>> p;
    service_->AppendUnkeyed("orders", std::move(records),
                            [&p](Result<streams::AppendResult> r) { p.set_value(std::move(r)); });
    ASSERT_TRUE(p.get_future().get().ok());
  }
  std::vector<std::string> Objects(const std::string& dir) {
    objectstore::FileObjectStore store(dir);
    auto keys = store.List("");
    std::vector<std::string> out;
    if (!keys.ok()) return out;
    for (const auto& k : *keys) out.push_back(*store.Get(k));
    return out;
  }

  std::string root_;
  ManualClock clock_{1'700'000'000'000};
  std::unique_ptr<journal::Journal> journal_;
  std::unique_ptr<streams::Service> service_;
  DeliveryStreamDeps deps_;
  std::vector<std::string> opened_;
};

TEST_F(DeliveryStreamTest, OneWorkerPerShardDeliveringToTheDefaultFolder) {
  CreateIngest(2);
  auto ds = DeliveryStream::Create(Config(2), 1, deps_);
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_EQ((*ds)->worker_count(), 2u);
  EXPECT_EQ((*ds)->config().staged.url, "file://" + root_ + "/buckets/orders");
  Put({"a", "b"});  // shard 0
  Put({"c"});       // shard 1
  (*ds)->Start();
  (*ds)->Stop();  // flushes what is buffered
  auto objects = Objects(root_ + "/buckets/orders");
  std::sort(objects.begin(), objects.end());
  EXPECT_EQ(objects, (std::vector<std::string>{"ab", "c"}));  // concatenated as sent
}

TEST_F(DeliveryStreamTest, AStreamWithFormattingGetsTheTransformBuilder) {
  CreateIngest(1);
  auto cfg = Config(1);
  cfg.format.kind = transform::FormatSpec::Kind::kJsonl;
  cfg.processors = testutil::ProcessorsFromJson({{"flatten", "{}"}});
  auto ds = DeliveryStream::Create(cfg, 1, deps_);
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  Put({R"({"a":{"b":1}})"});
  (*ds)->Start();
  (*ds)->Stop();
  auto objects = Objects(root_ + "/buckets/orders");
  ASSERT_EQ(objects.size(), 1u);
  EXPECT_EQ(objects[0], "{\"a_b\":1}\n");  // flatten joins with "_" by default
}

TEST_F(DeliveryStreamTest, SharedDestinationsOpenOneStoreAndARefusedOneFailsCreate) {
  CreateIngest(1);
  auto cfg = Config(1);
  cfg.staged.url = "file://" + root_ + "/b";
  cfg.errors.url = cfg.staged.url;
  ASSERT_TRUE(DeliveryStream::Create(cfg, 1, deps_).ok());
  EXPECT_EQ(opened_.size(), 1u);
  cfg.raw.url = "s3://elsewhere";
  auto refused = DeliveryStream::Create(cfg, 1, deps_);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("s3://elsewhere"), std::string::npos);
}

TEST_F(DeliveryStreamTest, WithoutItsIngestStreamCreateFailsNotFound) {
  EXPECT_EQ(DeliveryStream::Create(Config(1), 1, deps_).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace sluice::pipeline
