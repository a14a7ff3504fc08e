// The loader contract, run against every engine that can execute it (SQLite in-process,
// PostgreSQL on a throwaway cluster). Each engine's test binary provides a Backend and
// instantiates the suite.
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "warehouse/config.h"
#include "warehouse/csv.h"
#include "warehouse/loader.h"

namespace sluice::warehouse {

class Backend {
 public:
  virtual ~Backend() = default;
  // A config for a fresh, unique table `name` (engine, dsn, table set; the rest default).
  virtual WarehouseConfig Config(const std::string& name) = 0;
  // First column of the first row of `sql` ("" for NULL / no row); fails the test on error.
  virtual std::string Query(const std::string& sql) = 0;
  // The SQL type for a CHECK-constrained column in `create table` statements.
  virtual std::string Exec(const std::string& sql) { return Query(sql); }
};

using BackendFactory = std::unique_ptr<Backend> (*)();

// Opens `loaders->size()` loaders of `config` into `loaders` and runs each one's first Load at
// once, each on its own thread, with `batch(i)` (as the shards of a stream start together);
// returns each Load's status.
inline std::vector<Status> FirstLoadsAtOnce(const WarehouseConfig& config,
                                            std::vector<std::unique_ptr<Loader>>& loaders,
                                            const std::function<LoadBatch(size_t)>& batch) {
  for (auto& loader : loaders) {
    auto opened = OpenLoader(config);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    if (!opened.ok()) return {opened.status()};
    loader = std::move(opened).value();
  }
  std::vector<Status> first(loaders.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < loaders.size(); ++i) {
    threads.emplace_back([&, i] { first[i] = loaders[i]->Load(batch(i)).status(); });
  }
  for (auto& t : threads) t.join();
  return first;
}

class LoaderSemanticsTest : public ::testing::TestWithParam<BackendFactory> {
 protected:
  void SetUp() override { backend_ = GetParam()(); }

  static std::vector<Column> OrderColumns() {
    return {*MakeColumn("id", "bigint"), *MakeColumn("name", "text"),
            *MakeColumn("amount", "double"), *MakeColumn("ts", "bigint")};
  }
  static LoadBatch Batch(const std::string& id, std::string csv) {
    auto rows = RowSetFromCsv(OrderColumns(), csv);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return LoadBatch{id, rows.ok() ? std::move(rows).value() : transform::RowSet(), ""};
  }
  std::unique_ptr<Loader> Open(const WarehouseConfig& config) {
    auto loader = OpenLoader(config);
    EXPECT_TRUE(loader.ok()) << loader.status().ToString();
    return loader.ok() ? std::move(loader).value() : nullptr;
  }
  LoadResult MustLoad(Loader& loader, const LoadBatch& batch) {
    auto r = loader.Load(batch);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : LoadResult{};
  }
  std::string Count(const std::string& table, const std::string& where = "") {
    return backend_->Query("SELECT count(*) FROM " + table +
                           (where.empty() ? "" : " WHERE " + where));
  }

  std::unique_ptr<Backend> backend_;
};

TEST_P(LoaderSemanticsTest, AppendLoadsEveryRowAndKeepsNullApartFromEmpty) {
  WarehouseConfig config = backend_->Config("append_rows");
  config.create_table = true;
  auto loader = Open(config);
  ASSERT_NE(loader, nullptr);
  LoadResult r = MustLoad(*loader, Batch("s/0/0-2", "1,alice,1.5,10\n2,,2.5,11\n3,\"\",,12\n"));
  EXPECT_EQ(r.outcome, LoadOutcome::kLoaded);
  EXPECT_EQ(r.rows_loaded, 3u);
  EXPECT_TRUE(r.rejected.empty());
  EXPECT_EQ(Count(config.table), "3");
  EXPECT_EQ(Count(config.table, "name IS NULL"), "1");
  EXPECT_EQ(Count(config.table, "name = ''"), "1");
  EXPECT_EQ(Count(config.table, "amount IS NULL"), "1");
  EXPECT_EQ(backend_->Query("SELECT name FROM " + config.table + " WHERE id = 1"), "alice");
}

TEST_P(LoaderSemanticsTest, QuotedFieldsMayHoldCommasQuotesAndNewlines) {
  WarehouseConfig config = backend_->Config("quoted");
  config.create_table = true;
  auto loader = Open(config);
  ASSERT_NE(loader, nullptr);
  LoadResult r = MustLoad(*loader, Batch("s/0/0-1", "1,\"a,\"\"b\"\"\nc\",1,1\r\n2,x,2,2"));
  EXPECT_EQ(r.rows_loaded, 2u);
  EXPECT_EQ(backend_->Query("SELECT name FROM " + config.table + " WHERE id = 1"), "a,\"b\"\nc");
}

TEST_P(LoaderSemanticsTest, MergeKeepsTheLastRowPerKeyInArrivalOrder) {
  WarehouseConfig config = backend_->Config("merge_last");
  config.create_table = true;
  config.mode = LoadMode::kMerge;
  config.key = {"id"};
  auto loader = Open(config);
  ASSERT_NE(loader, nullptr);
  LoadResult r = MustLoad(*loader, Batch("s/0/0-2", "1,first,1,1\n2,b,2,1\n1,last,3,1\n"));
  EXPECT_EQ(r.rows_loaded, 2u);
  EXPECT_EQ(Count(config.table), "2");
  EXPECT_EQ(backend_->Query("SELECT name FROM " + config.table + " WHERE id = 1"), "last");

  r = MustLoad(*loader, Batch("s/0/3-4", "2,updated,9,2\n3,new,1,2\n"));
  EXPECT_EQ(r.rows_loaded, 2u);
  EXPECT_EQ(Count(config.table), "3");
  EXPECT_EQ(backend_->Query("SELECT name FROM " + config.table + " WHERE id = 2"), "updated");
  EXPECT_EQ(backend_->Query("SELECT name FROM " + config.table + " WHERE id = 1"), "last");
}

TEST_P(LoaderSemanticsTest, MergeWithOrderByKeepsTheGreatestOrderValue) {
  WarehouseConfig config = backend_->Config("merge_order");
  config.create_table = true;
  config.mode = LoadMode::kMerge;
  config.key = {"id"};
  config.order_by = "ts";
  auto loader = Open(config);
  ASSERT_NE(loader, nullptr);
  MustLoad(*loader, Batch("s/0/0-2", "1,newest,1,30\n1,oldest,1,10\n1,middle,1,20\n"));
  EXPECT_EQ(backend_->Query("SELECT name FROM " + config.table + " WHERE id = 1"), "newest");
}

TEST_P(LoaderSemanticsTest, AppendWithKeyDeduplicatesWithinTheBatchOnly) {
  WarehouseConfig config = backend_->Config("append_key");
  config.create_table = true;
  config.key = {"id"};
  auto loader = Open(config);
  ASSERT_NE(loader, nullptr);
  EXPECT_EQ(MustLoad(*loader, Batch("s/0/0-1", "1,a,1,1\n1,b,1,1\n")).rows_loaded, 1u);
  EXPECT_EQ(MustLoad(*loader, Batch("s/0/2-2", "1,c,1,1\n")).rows_loaded, 1u);
  EXPECT_EQ(Count(config.table), "2");
  EXPECT_EQ(Count(config.table, "name = 'a'"), "0");
}

TEST_P(LoaderSemanticsTest, TheSameBatchLoadedTwiceIsSkippedTheSecondTime) {
  WarehouseConfig config = backend_->Config("twice");
  config.create_table = true;
  auto loader = Open(config);
  ASSERT_NE(loader, nullptr);
  const LoadBatch batch = Batch("orders/0/100-101", "1,a,1,1\n2,b,2,2\n");
  EXPECT_EQ(MustLoad(*loader, batch).outcome, LoadOutcome::kLoaded);
  LoadResult again = MustLoad(*loader, batch);
  EXPECT_EQ(again.outcome, LoadOutcome::kSkipped);
  EXPECT_EQ(again.rows_loaded, 2u);
  EXPECT_EQ(Count(config.table), "2");
  // A second loader (e.g. after a process restart) sees the same ledger.
  auto reopened = Open(config);
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(MustLoad(*reopened, batch).outcome, LoadOutcome::kSkipped);
  EXPECT_EQ(Count(config.table), "2");
  EXPECT_EQ(backend_->Query("SELECT rows FROM sluice_load_ledger WHERE batch_id = "
                            "'orders/0/100-101'"),
            "2");
}

TEST_P(LoaderSemanticsTest, PoisonRowsAreIsolatedWhileTheOthersLoad) {
  WarehouseConfig config = backend_->Config("poison");
  backend_->Exec("CREATE TABLE " + config.table +
                 " (id bigint, name text, amount double precision CHECK (amount >= 0), ts bigint)");
  auto loader = Open(config);
  ASSERT_NE(loader, nullptr);
  std::string csv;
  for (int i = 0; i < 10; ++i) {
    if (i == 3) {
      csv += "3,negative,-5,1\n";
    } else if (i == 7) {
      csv += "seven,not-a-number,1,1\n";
    } else {
      csv += std::to_string(i) + ",ok,1,1\n";
    }
  }
  auto r = loader->Load(Batch("s/0/0-9", csv));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rows_loaded, 8u);
  ASSERT_EQ(r->rejected.size(), 2u);
  EXPECT_EQ(r->rejected[0].row_index, 3u);
  std::string error = r->rejected[0].error;
  for (char& c : error) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_NE(error.find("check constraint"), std::string::npos) << error;
  EXPECT_EQ(r->rejected[1].row_index, 7u);
  EXPECT_NE(r->rejected[1].error.find("seven"), std::string::npos) << r->rejected[1].error;
  EXPECT_EQ(Count(config.table), "8");
  EXPECT_EQ(Count(config.table, "amount < 0"), "0");
  EXPECT_EQ(backend_->Query("SELECT rejected FROM sluice_load_ledger WHERE batch_id = 's/0/0-9'"),
            "2");
}

TEST_P(LoaderSemanticsTest, ViewsAreCreatedOrReplacedAtOpen) {
  WarehouseConfig config = backend_->Config("viewed");
  config.create_table = true;
  config.columns = OrderColumns();
  config.views = {{"big_orders", "SELECT id FROM " + config.table + " WHERE amount > 10"}};
  auto loader = Open(config);
  ASSERT_NE(loader, nullptr);
  MustLoad(*loader, Batch("s/0/0-1", "1,a,5,1\n2,b,50,1\n"));
  EXPECT_EQ(backend_->Query("SELECT count(*) FROM big_orders"), "1");
  config.views = {{"big_orders", "SELECT id FROM " + config.table + " WHERE amount > 1"}};
  auto replaced = Open(config);
  ASSERT_NE(replaced, nullptr);
  EXPECT_EQ(backend_->Query("SELECT count(*) FROM big_orders"), "2");
}

TEST_P(LoaderSemanticsTest, MergeWithoutKeyIsRejectedAtOpen) {
  WarehouseConfig config = backend_->Config("nokey");
  config.mode = LoadMode::kMerge;
  auto loader = OpenLoader(config);
  ASSERT_FALSE(loader.ok());
  EXPECT_EQ(loader.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(IsRetryable(loader.status()));
}

}  // namespace sluice::warehouse
