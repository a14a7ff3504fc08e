#include "pipeline/warehouse_sink.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "common/base64.h"
#include "objectstore/file_store.h"
#include "pipeline/transform_builder.h"
#include "testutil/transform_json_specs.h"

namespace sluice::pipeline {
namespace {

// A loader that records what it was given and answers with a fixed result.
class FakeLoader : public warehouse::Loader {
 public:
  Result<warehouse::LoadResult> Load(const warehouse::LoadBatch& batch) override {
    ++loads;
    last_rows = batch.rows;
    if (!error.ok()) return error;
    return result;
  }
  int loads = 0;
  transform::RowSet last_rows;
  warehouse::LoadResult result;
  Status error;
};

// A store whose first `failures` puts fail (unavailable), then delegates.
class FailingStore : public objectstore::ObjectStore {
 public:
  FailingStore(objectstore::ObjectStore* inner, int failures)
      : inner_(inner), failures_(failures) {}
  Status Put(const std::string& key, std::string_view data) override {
    if (failures_-- > 0) return Status::Unavailable("injected: 503");
    return inner_->Put(key, data);
  }
  Result<std::string> Get(const std::string& key) override { return inner_->Get(key); }
  Result<std::vector<std::string>> List(const std::string& p) override { return inner_->List(p); }
  Status Delete(const std::string& key) override { return inner_->Delete(key); }
  std::string Describe() const override { return "failing"; }

 private:
  objectstore::ObjectStore* inner_;
  int failures_;
};

std::string QueryOne(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != nullptr) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

class WarehouseSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = ::testing::TempDir() + "/whs_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::system(("rm -rf " + root_ + " && mkdir -p " + root_).c_str());
    store_ = std::make_unique<objectstore::FileObjectStore>(root_ + "/bucket");
    stream_.name = "orders";
    stream_.staged.url = "file://" + root_ + "/bucket";
    stream_.staged.prefix = "data/!{partitionKeyFromQuery:customer}/";
    stream_.error_output_prefix = "errors/!{firehose:error-output-type}/";
    stream_.format.kind = transform::FormatSpec::Kind::kCsv;
    stream_.processors = testutil::ProcessorsFromJson(
        {{"MetadataExtraction",
          R"({"MetadataExtractionQuery":"{customer:.customer}","JsonParsingEngine":"JQ-1.6"})"},
         {"schema",
          R"({"columns":[{"name":"id","type":"bigint"},{"name":"customer","type":"text"}]})"}});
    warehouse_.engine = warehouse::Engine::kSqlite;
    warehouse_.dsn = root_ + "/wh.db";
    warehouse_.table = "orders";
    warehouse_.create_table = true;
    warehouse_.columns = {*warehouse::MakeColumn("id", "bigint"),
                          *warehouse::MakeColumn("customer", "text")};
  }

  // Records 0..n-1 alternate between customers a and b; ids are 100 + index.
  Batch MakeBatch(uint64_t first, size_t n) {
    Batch b;
    b.id = BatchId{stream_.name, 0, first, first + n, ""};
    b.oldest_ms = 1'700'000'000'000;
    for (size_t i = 0; i < n; ++i) {
      const std::string customer = i % 2 == 0 ? "a" : "b";
      b.records.push_back(
          {journal::Offset{first + i}, b.oldest_ms,
           R"({"id":)" + std::to_string(100 + first + i) + R"(,"customer":")" + customer + "\"}"});
      b.bytes += b.records.back().data.size();
    }
    return b;
  }

  std::unique_ptr<TransformBuilder> Builder() {
    TransformStores stores;
    stores.staged = store_.get();
    auto tb = TransformBuilder::Create(stream_, stores, transform::ChainOptions{}, true);
    EXPECT_TRUE(tb.ok()) << tb.status().ToString();
    return tb.ok() ? std::move(tb).value() : nullptr;
  }

  std::unique_ptr<WarehouseSink> Sink(objectstore::ObjectStore* errors,
                                      std::unique_ptr<warehouse::Loader> loader = nullptr) {
    auto keys = KeyMaker::Create(stream_);
    EXPECT_TRUE(keys.ok()) << keys.status().ToString();
    return std::make_unique<WarehouseSink>(stream_, warehouse_, *keys, errors, nullptr, &clock_,
                                           std::move(loader));
  }

  std::string root_;
  ManualClock clock_{1'700'000'100'000};
  config::StreamConfig stream_;
  warehouse::WarehouseConfig warehouse_;
  std::unique_ptr<objectstore::FileObjectStore> store_;
};

TEST_F(WarehouseSinkTest, DynamicPartitionsAndSqliteLoadEveryRowOnceInArrivalOrder) {
  auto builder = Builder();
  ASSERT_NE(builder, nullptr);
  const Batch batch = MakeBatch(0, 5);
  auto built = builder->Build(batch);
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  size_t staged = 0;
  for (const auto& o : built->outputs) staged += o.kind == OutputKind::kStaged ? 1 : 0;
  EXPECT_EQ(staged, 2u) << "one staged object per customer";
  ASSERT_TRUE(built->rows.has_value());
  ASSERT_EQ(built->rows->row_count(), 5u) << "the rows of every partition";
  for (size_t r = 0; r < 5; ++r) EXPECT_EQ(built->rows->source_record(r), r) << "arrival order";

  auto sink = Sink(store_.get());
  ASSERT_TRUE(sink->Deliver(batch, *built).ok());
  const std::string db = root_ + "/wh.db";
  EXPECT_EQ(QueryOne(db, "SELECT count(*) FROM orders"), "5");
  EXPECT_EQ(QueryOne(db, "SELECT count(*) FROM orders WHERE customer = 'b'"), "2");
  EXPECT_EQ(QueryOne(db, "SELECT typeof(id) FROM orders"), "integer");
  // The same batch again (a retry or a redelivery): the ledger skips it.
  ASSERT_TRUE(sink->Deliver(batch, *built).ok());
  EXPECT_EQ(QueryOne(db, "SELECT count(*) FROM orders"), "5");
  EXPECT_EQ(sink->rows_loaded(), 10u) << "a skip reports the rows the ledger recorded";
}

TEST_F(WarehouseSinkTest, RowsAreProjectedOntoTheWarehouseColumnsByName) {
  warehouse_.columns = {*warehouse::MakeColumn("customer", "text"),
                        *warehouse::MakeColumn("missing", "bigint"),
                        *warehouse::MakeColumn("id", "text")};
  auto loader = std::make_unique<FakeLoader>();
  FakeLoader* fake = loader.get();
  auto builder = Builder();
  ASSERT_NE(builder, nullptr);
  const Batch batch = MakeBatch(0, 2);
  auto built = builder->Build(batch);
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  auto sink = Sink(store_.get(), std::move(loader));
  ASSERT_TRUE(sink->Deliver(batch, *built).ok());
  ASSERT_EQ(fake->loads, 1);
  const transform::RowSet& rows = fake->last_rows;
  ASSERT_EQ(rows.column_count(), 3u);
  EXPECT_EQ(rows.columns()[1].type, transform::ColumnType::kBigint);
  ASSERT_EQ(rows.row_count(), 2u);
  EXPECT_EQ(rows.text(1, 0), "b");
  EXPECT_TRUE(rows.is_null(1, 1));
  EXPECT_EQ(rows.text(1, 2), "101");
}

TEST_F(WarehouseSinkTest, RejectedRowsGoToErrorOutputAsTheirSourceRecords) {
  auto loader = std::make_unique<FakeLoader>();
  loader->result.rows_loaded = 3;
  loader->result.rejected = {{1, "bad row one"}, {4, "bad row four"}};
  auto builder = Builder();
  ASSERT_NE(builder, nullptr);
  const Batch batch = MakeBatch(10, 5);
  auto built = builder->Build(batch);
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  auto sink = Sink(store_.get(), std::move(loader));
  ASSERT_TRUE(sink->Deliver(batch, *built).ok());
  EXPECT_EQ(sink->rows_rejected(), 2u);
  auto keys = store_->List("errors/warehouse-failed/");
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 1u);
  const std::string errors = *store_->Get((*keys)[0]);
  // Rows 1 and 4 in arrival order are batch records 1 and 4 (customers b and a).
  EXPECT_NE(errors.find(base64::Encode(batch.records[1].data)), std::string::npos) << errors;
  EXPECT_NE(errors.find(base64::Encode(batch.records[4].data)), std::string::npos) << errors;
  EXPECT_EQ(errors.find(base64::Encode(batch.records[0].data)), std::string::npos) << errors;
  EXPECT_NE(errors.find("\"errorCode\":\"Warehouse.DataError\""), std::string::npos) << errors;
  EXPECT_NE(errors.find("bad row four"), std::string::npos) << errors;
  EXPECT_NE(errors.find("\"attemptEndingTimestamp\":1700000100000"), std::string::npos) << errors;
}

TEST_F(WarehouseSinkTest, RejectsThatCouldNotBeWrittenAreWrittenOnRetryWithoutLoadingAgain) {
  auto loader = std::make_unique<FakeLoader>();
  FakeLoader* fake = loader.get();
  loader->result.rows_loaded = 1;
  loader->result.rejected = {{0, "bad"}};
  FailingStore errors(store_.get(), 1);
  auto builder = Builder();
  ASSERT_NE(builder, nullptr);
  const Batch batch = MakeBatch(0, 2);
  auto built = builder->Build(batch);
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  auto sink = Sink(&errors, std::move(loader));
  Status first = sink->Deliver(batch, *built);
  EXPECT_EQ(first.code(), StatusCode::kUnavailable) << first.ToString();
  EXPECT_TRUE(sink->IsRetryable(first));
  ASSERT_TRUE(sink->Deliver(batch, *built).ok());
  EXPECT_EQ(fake->loads, 1) << "the committed load is not repeated";
  EXPECT_EQ(store_->List("errors/warehouse-failed/")->size(), 1u);
}

TEST_F(WarehouseSinkTest, ALoaderErrorIsReturnedAsIs) {
  auto loader = std::make_unique<FakeLoader>();
  loader->error = Status::FailedPrecondition("warehouse orders: relation does not exist");
  auto builder = Builder();
  ASSERT_NE(builder, nullptr);
  const Batch batch = MakeBatch(0, 2);
  auto built = builder->Build(batch);
  ASSERT_TRUE(built.ok());
  auto sink = Sink(store_.get(), std::move(loader));
  Status st = sink->Deliver(batch, *built);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(sink->IsRetryable(st));
}

TEST_F(WarehouseSinkTest, ABatchWithoutRowsLoadsNothing) {
  auto loader = std::make_unique<FakeLoader>();
  FakeLoader* fake = loader.get();
  auto sink = Sink(store_.get(), std::move(loader));
  BuiltBatch built;
  built.rows = transform::RowSet();
  ASSERT_TRUE(sink->Deliver(MakeBatch(0, 1), built).ok());
  EXPECT_EQ(fake->loads, 0);
}

TEST_F(WarehouseSinkTest, RedshiftFailsABatchWithSeveralStagedObjects) {
  // (config/ refuses redshift with MetadataExtraction; partition keys can still split a batch.)
  auto builder = Builder();
  ASSERT_NE(builder, nullptr);
  const Batch batch = MakeBatch(0, 2);
  auto built = builder->Build(batch);
  ASSERT_TRUE(built.ok());
  warehouse_.engine = warehouse::Engine::kRedshift;
  warehouse_.redshift.iam_role = "arn:aws:iam::1:role/r";
  auto loader = std::make_unique<FakeLoader>();
  FakeLoader* fake = loader.get();
  auto sink = Sink(store_.get(), std::move(loader));
  Status st = sink->Deliver(batch, *built);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  EXPECT_NE(st.message().find("one staged object per batch"), std::string::npos) << st.ToString();
  EXPECT_EQ(fake->loads, 0);
}

TEST_F(WarehouseSinkTest, DynamicPartitioningWithAWarehouseBuildsRows) {
  EXPECT_TRUE(ValidateProcessing(stream_).ok());
  EXPECT_NE(Builder(), nullptr) << "no longer refused";
}

}  // namespace
}  // namespace sluice::pipeline
