#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <vector>

#include "unit/warehouse/loader_semantics.h"

namespace sluice::warehouse {
namespace {

class SqliteBackend : public Backend {
 public:
  SqliteBackend() {
    static std::atomic<int> counter{0};
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-wh-sqlite-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "warehouse.db").string();
  }
  ~SqliteBackend() override { std::filesystem::remove_all(dir_); }

  WarehouseConfig Config(const std::string& name) override {
    WarehouseConfig config;
    config.engine = Engine::kSqlite;
    config.dsn = path_;
    config.table = name;
    return config;
  }

  std::string Query(const std::string& sql) override {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
    } else {
      const int rc = sqlite3_step(st);
      if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
      } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
      }
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
  }

  std::string Exec(const std::string& sql) override {
    // SQLite has no "double precision" in STRICT tables; plain tables accept it.
    return Query(sql);
  }

  std::string path() const { return path_; }

 private:
  std::filesystem::path dir_;
  std::string path_;
};

std::unique_ptr<Backend> MakeSqlite() {
  return std::make_unique<SqliteBackend>();
}

INSTANTIATE_TEST_SUITE_P(Sqlite, LoaderSemanticsTest, ::testing::Values(&MakeSqlite));

TEST(SqliteLoaderTest, DatabaseIsInWalMode) {
  SqliteBackend backend;
  WarehouseConfig config = backend.Config("t");
  config.create_table = true;
  auto loader = OpenLoader(config);
  ASSERT_TRUE(loader.ok()) << loader.status().ToString();
  EXPECT_EQ(backend.Query("PRAGMA journal_mode"), "wal");
}

TEST(SqliteLoaderTest, RowsAndLedgerBecomeVisibleTogetherAtCommit) {
  SqliteBackend backend;
  WarehouseConfig config = backend.Config("t");
  config.create_table = true;
  config.columns = {*MakeColumn("id", "bigint")};
  std::string rows_before_commit;
  std::string ledger_before_commit;
  LoaderOptions options;
  options.step_hook_for_test = [&](LoadStep step) {
    if (step != LoadStep::kBeforeCommit) return;
    rows_before_commit = backend.Query("SELECT count(*) FROM t");
    ledger_before_commit = backend.Query("SELECT count(*) FROM sluice_load_ledger");
  };
  auto loader = OpenLoader(config, options);
  ASSERT_TRUE(loader.ok()) << loader.status().ToString();
  LoadBatch batch{"s/0/0-1", *RowSetFromCsv({*MakeColumn("id", "bigint")}, "1\n2\n"), ""};
  auto r = (*loader)->Load(batch);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(rows_before_commit, "0");
  EXPECT_EQ(ledger_before_commit, "0");
  EXPECT_EQ(backend.Query("SELECT count(*) FROM t"), "2");
  EXPECT_EQ(backend.Query("SELECT count(*) FROM sluice_load_ledger"), "1");
}

TEST(SqliteLoaderTest, TypeErrorsAreRejectedPerRow) {
  SqliteBackend backend;
  WarehouseConfig config = backend.Config("t");
  config.create_table = true;
  auto loader = OpenLoader(config);
  ASSERT_TRUE(loader.ok()) << loader.status().ToString();
  const std::vector<Column> columns = {*MakeColumn("n", "integer"), *MakeColumn("b", "boolean")};
  LoadBatch batch{"s/0/0-2", *RowSetFromCsv(columns, "1,true\n99999999999,f\n2,maybe\n"), ""};
  auto r = (*loader)->Load(batch);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rows_loaded, 1u);
  ASSERT_EQ(r->rejected.size(), 2u);
  EXPECT_EQ(r->rejected[0].row_index, 1u);
  EXPECT_EQ(r->rejected[1].row_index, 2u);
  // A row set cannot be ragged: a CSV row with too few fields fails where the CSV is read.
  auto ragged = RowSetFromCsv(columns, "1,true\n3\n");
  ASSERT_FALSE(ragged.ok());
  EXPECT_EQ(ragged.status().message(), "row 1: expected 2 fields, got 1");
}

// Each shard's loader opens the same database and creates the table and its views on its
// first batch; the first loads of several shards at once all succeed.
TEST(SqliteLoaderTest, ConcurrentFirstLoadsCreatingATableAndViewsAllSucceed) {
  const std::vector<Column> columns = {*MakeColumn("id", "bigint"), *MakeColumn("v", "text")};
  for (int round = 0; round < 10; ++round) {
    SqliteBackend backend;
    WarehouseConfig config = backend.Config("t");
    config.create_table = true;
    config.views["by_v"] = "SELECT v, count(*) AS n FROM t GROUP BY v";
    std::vector<std::unique_ptr<Loader>> loaders(4);
    for (const Status& s : FirstLoadsAtOnce(config, loaders, [&](size_t i) {
           return LoadBatch{"s/" + std::to_string(i) + "/0-0",
                            *RowSetFromCsv(columns, std::to_string(i) + ",x\n"), ""};
         })) {
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    EXPECT_EQ(backend.Query("SELECT n FROM by_v"), "4");
  }
}

}  // namespace
}  // namespace sluice::warehouse
