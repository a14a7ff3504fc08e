// A stream with dynamic partitioning (MetadataExtraction, partition keys in the prefix) and a
// PostgreSQL warehouse, through the real delivery worker, journal and file object store: every
// row is loaded exactly once, also when a batch is delivered again after a crash.
#include "testutil/warehouse_pg.h"

#include <gtest/gtest.h>

#include <future>

#include "journal/journal.h"
#include "objectstore/file_store.h"
#include "pipeline/delivery_worker.h"
#include "pipeline/transform_builder.h"
#include "pipeline/warehouse_sink.h"
#include "testutil/transform_json_specs.h"

namespace sluice::pipeline {
namespace {

testutil::WarehousePg* g_pg = nullptr;

class PgEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    auto pg = testutil::WarehousePg::Start();
    ASSERT_TRUE(pg.ok()) << pg.status().ToString();
    pg_ = std::move(pg).value();
    g_pg = pg_.get();
  }
  void TearDown() override {
    g_pg = nullptr;
    pg_.reset();
  }

 private:
  std::unique_ptr<testutil::WarehousePg> pg_;
};

const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new PgEnvironment);

class DynamicPartitioningPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(g_pg, nullptr) << "PostgreSQL did not start";
    root_ = ::testing::TempDir() + "/dppg_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::system(("rm -rf " + root_).c_str());
    store_ = std::make_unique<objectstore::FileObjectStore>(root_ + "/bucket");
    stream_.name = "orders";
    stream_.staged.url = "file://" + root_ + "/bucket";
    stream_.staged.prefix = "data/customer=!{partitionKeyFromQuery:customer}/";
    stream_.error_output_prefix = "errors/!{firehose:error-output-type}/";
    stream_.buffering.size_mb = 1;
    stream_.buffering.interval_s = 0;
    stream_.format.kind = transform::FormatSpec::Kind::kCsv;
    stream_.processors = testutil::ProcessorsFromJson(
        {{"MetadataExtraction",
          R"({"MetadataExtractionQuery":"{customer:.customer}","JsonParsingEngine":"JQ-1.6"})"},
         {"schema", R"j({"columns":[{"name":"id","type":"bigint"},{"name":"customer"},)j"
                    R"j({"name":"amount","type":"numeric(10,2)"}]})j"}});
    // Append without a key: only the ledger keeps a redelivered batch from loading twice.
    warehouse_.engine = warehouse::Engine::kPostgres;
    warehouse_.dsn = g_pg->Dsn();
    warehouse_.table = "dp_orders";
    warehouse_.create_table = true;
    warehouse_.columns = {*warehouse::MakeColumn("id", "bigint"),
                          *warehouse::MakeColumn("customer", "text"),
                          *warehouse::MakeColumn("amount", "numeric(10,2)")};
    (void)g_pg->Query("DROP TABLE IF EXISTS dp_orders; DROP TABLE IF EXISTS sluice_load_ledger");
    journal::Options o;
    o.dir = root_ + "/journal";
    o.clock = &clock_;
    auto j = journal::Journal::Open(o);
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    journal_ = std::move(j).value();
    log_ = *journal_->Partition("orders", 0);
  }

  void Append(const std::vector<std::string>& records) {
    std::promise<Result<journal::AppendResult>> p;
    log_->Append(records, clock_.NowMs(),
                 [&p](Result<journal::AppendResult> r) { p.set_value(r); });
    auto r = p.get_future().get();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  // A worker as the server assembles it: TransformBuilder (rows kept) + WarehouseSink.
  struct Assembled {
    std::unique_ptr<WarehouseSink> sink;
    std::unique_ptr<DeliveryWorker> worker;
  };
  Assembled MakeWorker() {
    Assembled a;
    auto keys = KeyMaker::Create(stream_);
    EXPECT_TRUE(keys.ok()) << keys.status().ToString();
    TransformStores stores;
    stores.staged = store_.get();
    transform::ChainOptions co;
    co.clock = &clock_;
    auto builder = TransformBuilder::Create(stream_, stores, co, true);
    EXPECT_TRUE(builder.ok()) << builder.status().ToString();
    if (!keys.ok() || !builder.ok()) return a;
    a.sink =
        std::make_unique<WarehouseSink>(stream_, warehouse_, *keys, store_.get(), nullptr, &clock_);
    WorkerOptions wo;
    wo.state_dir = root_ + "/delivery/orders/0";
    wo.clock = &clock_;
    wo.sleep_for_test = [this](int64_t ms) { clock_.AdvanceMs(ms); };
    a.worker = std::make_unique<DeliveryWorker>(stream_, 0, log_, std::move(builder).value(),
                                                a.sink.get(), wo);
    return a;
  }

  std::string Query(const std::string& sql) {
    auto out = g_pg->Query(sql);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? *out : "";
  }

  static std::string Order(int id, const std::string& customer) {
    return R"({"id":)" + std::to_string(id) + R"(,"customer":")" + customer + R"(","amount":")" +
           std::to_string(id) + ".5\"}";
  }

  std::string root_;
  ManualClock clock_{1'700'000'000'000};
  config::StreamConfig stream_;
  warehouse::WarehouseConfig warehouse_;
  std::unique_ptr<objectstore::FileObjectStore> store_;
  std::unique_ptr<journal::Journal> journal_;
  journal::PartitionLog* log_ = nullptr;
};

TEST_F(DynamicPartitioningPgTest, EveryRowLoadsExactlyOnceIncludingAfterARedelivery) {
  const int64_t arrival_ms = clock_.NowMs();
  Append({Order(1, "acme"), Order(2, "globex"), Order(3, "acme"), Order(4, "initech"),
          Order(5, "globex"), Order(6, "acme")});
  {
    Assembled a = MakeWorker();
    ASSERT_NE(a.worker, nullptr);
    ASSERT_TRUE(a.worker->DrainForTest().ok());
    EXPECT_EQ(a.sink->rows_loaded(), 6u);
  }
  // One staged object per customer, all rows in the table, one ledger entry.
  auto objects = store_->List("data/");
  ASSERT_TRUE(objects.ok());
  EXPECT_EQ(objects->size(), 3u);
  EXPECT_EQ(store_->List("data/customer=acme/")->size(), 1u);
  EXPECT_EQ(Query("SELECT count(*) FROM dp_orders"), "6");
  EXPECT_EQ(Query("SELECT count(DISTINCT id) FROM dp_orders"), "6");
  EXPECT_EQ(Query("SELECT count(*) FROM dp_orders WHERE customer = 'acme'"), "3");
  EXPECT_EQ(Query("SELECT amount FROM dp_orders WHERE id = 4"), "4.50");
  EXPECT_EQ(Query("SELECT count(*) FROM sluice_load_ledger"), "1");
  EXPECT_EQ(Query("SELECT rows FROM sluice_load_ledger"), "6");

  // A crash after the warehouse commit but before the checkpoint moved: the consumer state is
  // still the batch's intent, so the next worker delivers the same batch again (same objects,
  // same batch id) and the ledger skips it.
  ASSERT_TRUE(
      log_->Commit(DeliveryWorker::kConsumer,
                   {journal::Offset{0}, journal::BatchIntent{journal::Offset{6}, 1, arrival_ms}})
          .ok());
  Append({Order(7, "initech")});  // arrives after the crash: a batch of its own
  clock_.AdvanceMs(60'000);
  {
    Assembled again = MakeWorker();
    ASSERT_NE(again.worker, nullptr);
    ASSERT_TRUE(again.worker->DrainForTest().ok());
    EXPECT_EQ(again.worker->stats().redelivered_batches.load(), 1u);
  }
  EXPECT_EQ(Query("SELECT count(*) FROM dp_orders"), "7");
  EXPECT_EQ(Query("SELECT count(DISTINCT id) FROM dp_orders"), "7");
  EXPECT_EQ(Query("SELECT count(*) FROM sluice_load_ledger"), "2");
  EXPECT_EQ(store_->List("data/")->size(), 4u)
      << "the redelivered batch rewrote its three objects under the same keys";
  EXPECT_EQ(log_->Checkpoint(DeliveryWorker::kConsumer).value, 7u);
}

}  // namespace
}  // namespace sluice::pipeline
