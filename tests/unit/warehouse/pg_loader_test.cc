// PostgreSQL loader against a real PostgreSQL 15 started by the fixture (label: integration).
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "secrets/resolver.h"
#include "testutil/warehouse_pg.h"
#include "unit/warehouse/loader_semantics.h"
#include "warehouse/redshift_sql.h"
#include "warehouse/sql.h"

namespace sluice::warehouse {
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

// Each backend gets its own schema so tests never see each other's tables or ledgers; the
// search_path makes the unqualified names in the shared suite resolve to it.
class PgBackend : public Backend {
 public:
  PgBackend() {
    static std::atomic<int> counter{0};
    schema_ = "t" + std::to_string(counter++);
    Query("CREATE SCHEMA " + schema_);
  }

  WarehouseConfig Config(const std::string& name) override {
    WarehouseConfig config;
    config.engine = Engine::kPostgres;
    config.dsn = g_pg->Dsn() + " options='-c search_path=" + schema_ + "'";
    config.table = schema_ + "." + name;
    return config;
  }

  std::string Query(const std::string& sql) override {
    EXPECT_NE(g_pg, nullptr) << "PostgreSQL did not start";
    if (g_pg == nullptr) return "";
    auto out = g_pg->Query("SET search_path = " + schema_ + "; " + sql);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? *out : "";
  }

  const std::string& schema() const { return schema_; }

 private:
  std::string schema_;
};

std::unique_ptr<Backend> MakePg() {
  return std::make_unique<PgBackend>();
}

INSTANTIATE_TEST_SUITE_P(Postgres, LoaderSemanticsTest, ::testing::Values(&MakePg));

class PgLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(g_pg, nullptr) << "PostgreSQL did not start";
    ASSERT_EQ(*g_pg->TempTableCount(), 0);
  }
  // No staging table survives any path: checked after each test.
  void TearDown() override {
    if (g_pg == nullptr) return;
    auto temp = g_pg->TempTableCount();
    ASSERT_TRUE(temp.ok()) << temp.status().ToString();
    EXPECT_EQ(*temp, 0) << "a temporary staging table was left behind";
  }
  WarehouseConfig KeyedConfig(const std::string& name) {
    WarehouseConfig config = backend_.Config(name);
    config.create_table = true;
    config.mode = LoadMode::kMerge;
    config.key = {"id"};
    config.columns = Columns();
    return config;
  }
  static std::vector<Column> Columns() {
    return {*MakeColumn("id", "bigint"), *MakeColumn("v", "text")};
  }
  static LoadBatch Batch(const std::string& id, std::string csv) {
    auto rows = RowSetFromCsv(Columns(), csv);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return LoadBatch{id, rows.ok() ? std::move(rows).value() : transform::RowSet(), ""};
  }

  PgBackend backend_;
};

TEST_F(PgLoaderTest, StagingTableIsGoneAfterSuccessSkipAndDataError) {
  WarehouseConfig config = KeyedConfig("paths");
  backend_.Query("CREATE TABLE paths (id bigint PRIMARY KEY, v text CHECK (v <> 'bad'))");
  auto loader = OpenLoader(config);
  ASSERT_TRUE(loader.ok()) << loader.status().ToString();
  ASSERT_TRUE((*loader)->Load(Batch("b/0/0-1", "1,a\n2,b\n")).ok());
  EXPECT_EQ(*g_pg->TempTableCount(), 0);
  ASSERT_EQ((*loader)->Load(Batch("b/0/0-1", "1,a\n2,b\n"))->outcome, LoadOutcome::kSkipped);
  EXPECT_EQ(*g_pg->TempTableCount(), 0);
  auto r = (*loader)->Load(Batch("b/0/2-3", "3,bad\n4,ok\n"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rejected.size(), 1u);
  EXPECT_EQ(*g_pg->TempTableCount(), 0);
}

TEST_F(PgLoaderTest, StagingTableIsGoneWhenTheSessionIsKilledMidLoad) {
  WarehouseConfig config = KeyedConfig("killed");
  LoaderOptions options;
  options.step_hook_for_test = [&](LoadStep step) {
    if (step != LoadStep::kStaged) return;
    ASSERT_TRUE(g_pg->Query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                            "application_name = 'sluice'")
                    .ok());
  };
  auto loader = OpenLoader(config, options);
  ASSERT_TRUE(loader.ok()) << loader.status().ToString();
  auto r = (*loader)->Load(Batch("k/0/0-0", "1,a\n"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(IsRetryable(r.status())) << r.status().ToString();
  EXPECT_EQ(backend_.Query("SELECT count(*) FROM killed"), "0");
}

TEST_F(PgLoaderTest, ServerKilledBetweenCopyAndCommitCommitsNothingAndReloadLoadsOnce) {
  WarehouseConfig config = KeyedConfig("crash");
  bool crash = true;
  LoaderOptions options;
  options.step_hook_for_test = [&](LoadStep step) {
    if (step != LoadStep::kStaged || !crash) return;
    crash = false;
    ASSERT_TRUE(g_pg->Stop(/*immediate=*/true).ok());
  };
  auto loader = OpenLoader(config, options);
  ASSERT_TRUE(loader.ok()) << loader.status().ToString();
  const LoadBatch batch = Batch("c/0/0-2", "1,a\n2,b\n3,c\n");
  auto r = (*loader)->Load(batch);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(IsRetryable(r.status())) << r.status().ToString();

  // While the server is down, retries stay retryable.
  auto down = (*loader)->Load(batch);
  ASSERT_FALSE(down.ok());
  EXPECT_TRUE(IsRetryable(down.status())) << down.status().ToString();

  ASSERT_TRUE(g_pg->StartServer().ok());
  EXPECT_EQ(backend_.Query("SELECT count(*) FROM crash"), "0");
  EXPECT_EQ(backend_.Query("SELECT count(*) FROM sluice_load_ledger"), "0");
  auto reload = (*loader)->Load(batch);
  ASSERT_TRUE(reload.ok()) << reload.status().ToString();
  EXPECT_EQ(reload->outcome, LoadOutcome::kLoaded);
  EXPECT_EQ(reload->rows_loaded, 3u);
  EXPECT_EQ((*loader)->Load(batch)->outcome, LoadOutcome::kSkipped);
  EXPECT_EQ(backend_.Query("SELECT count(*) FROM crash"), "3");
}

TEST_F(PgLoaderTest, ServerRestartedMidLoadGivesARetryableErrorThenSuccess) {
  WarehouseConfig config = backend_.Config("restart");
  config.create_table = true;
  config.columns = Columns();
  bool restart = true;
  LoaderOptions options;
  options.step_hook_for_test = [&](LoadStep step) {
    if (step != LoadStep::kBeforeCommit || !restart) return;
    restart = false;
    ASSERT_TRUE(g_pg->Stop(/*immediate=*/false).ok());
    ASSERT_TRUE(g_pg->StartServer().ok());
  };
  auto loader = OpenLoader(config, options);
  ASSERT_TRUE(loader.ok()) << loader.status().ToString();
  const LoadBatch batch = Batch("r/0/0-1", "1,a\n2,b\n");
  auto r = (*loader)->Load(batch);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(IsRetryable(r.status())) << r.status().ToString();
  auto retry = (*loader)->Load(batch);
  ASSERT_TRUE(retry.ok()) << retry.status().ToString();
  EXPECT_EQ(retry->rows_loaded, 2u);
  EXPECT_EQ(backend_.Query("SELECT count(*) FROM restart"), "2");
}

TEST_F(PgLoaderTest, LockTimeoutIsRetryable) {
  WarehouseConfig config = KeyedConfig("locked");
  config.statement_timeout_ms = 200;
  auto loader = OpenLoader(config);
  ASSERT_TRUE(loader.ok()) << loader.status().ToString();
  PGconn* holder = PQconnectdb(g_pg->Dsn().c_str());
  ASSERT_EQ(PQstatus(holder), CONNECTION_OK);
  PQclear(PQexec(holder, ("BEGIN; LOCK TABLE " + backend_.schema() + ".locked").c_str()));
  auto r = (*loader)->Load(Batch("l/0/0-0", "1,a\n"));
  PQfinish(holder);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(IsRetryable(r.status())) << r.status().ToString();
  EXPECT_NE(r.status().message().find("57014"), std::string::npos) << r.status().message();
  EXPECT_TRUE((*loader)->Load(Batch("l/0/0-0", "1,a\n")).ok());
}

// Loaders of several shards create one table at their first batch, at once: PostgreSQL's
// catalog makes all but one CREATE TABLE IF NOT EXISTS fail (a unique violation on pg_type).
// That must be retryable, never a data error that sends the batch to error output.
TEST_F(PgLoaderTest, ConcurrentFirstLoadsCreatingOneTableAreRetryableAndAllLoad) {
  for (int round = 0; round < 5; ++round) {
    WarehouseConfig config = backend_.Config("raced_" + std::to_string(round));
    config.create_table = true;  // columns come from the first batch
    auto batch = [&](size_t i) {
      return Batch("r" + std::to_string(round) + "/" + std::to_string(i) + "/0-0",
                   std::to_string(i) + ",x\n");
    };
    std::vector<std::unique_ptr<Loader>> loaders(6);
    std::vector<Status> first = FirstLoadsAtOnce(config, loaders, batch);
    ASSERT_EQ(first.size(), loaders.size());
    for (size_t i = 0; i < loaders.size(); ++i) {
      if (first[i].ok()) continue;
      EXPECT_TRUE(IsRetryable(first[i])) << first[i].ToString();
      auto again = loaders[i]->Load(batch(i));
      EXPECT_TRUE(again.ok()) << again.status().ToString();
    }
    EXPECT_EQ(backend_.Query("SELECT count(*) FROM raced_" + std::to_string(round)), "6");
  }
}

// Each shard's loader creates the table and its views on its first batch; the first loads of
// several shards at once all succeed (the DDL is serialized, not raced).
TEST_F(PgLoaderTest, ConcurrentFirstLoadsCreatingATableAndViewsAllSucceed) {
  for (int round = 0; round < 5; ++round) {
    const std::string table = "viewed_" + std::to_string(round);
    WarehouseConfig config = backend_.Config(table);
    config.create_table = true;
    config.views["by_v_" + std::to_string(round)] =
        "SELECT v, count(*) AS n FROM " + table + " GROUP BY v";
    std::vector<std::unique_ptr<Loader>> loaders(6);
    for (const Status& s : FirstLoadsAtOnce(config, loaders, [&](size_t i) {
           return Batch("v" + std::to_string(round) + "/" + std::to_string(i) + "/0-0",
                        std::to_string(i) + ",x\n");
         })) {
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    EXPECT_EQ(backend_.Query("SELECT n FROM by_v_" + std::to_string(round)), "6");
  }
}

TEST_F(PgLoaderTest, MissingTableIsNotRetryable) {
  WarehouseConfig config = backend_.Config("absent");
  auto loader = OpenLoader(config);
  ASSERT_TRUE(loader.ok()) << loader.status().ToString();
  auto r = (*loader)->Load(Batch("m/0/0-0", "1,a\n"));
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(IsRetryable(r.status()));
  EXPECT_NE(r.status().message().find("42P01"), std::string::npos) << r.status().message();
}

class PgSecretsTest : public PgLoaderTest {
 protected:
  void SetUp() override {
    PgLoaderTest::SetUp();
    dir_ =
        std::filesystem::temp_directory_path() / ("sluice-wh-secret-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    backend_.Query(
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'loader_user') THEN "
        "CREATE ROLE loader_user LOGIN PASSWORD '" +
        std::string(kPassword) + "'; END IF; END $$");
    backend_.Query("GRANT ALL ON SCHEMA " + backend_.schema() + " TO loader_user");
  }
  void TearDown() override {
    std::filesystem::remove_all(dir_);
    PgLoaderTest::TearDown();
  }
  std::string WriteSecret(const std::string& value) {
    std::string path = (dir_ / "pw").string();
    std::ofstream(path) << value << "\n";
    return path;
  }
  WarehouseConfig UserConfig(const std::string& name, const std::string& password_ref) {
    WarehouseConfig config;
    config.engine = Engine::kPostgres;
    config.dsn = g_pg->TcpDsn("loader_user") + " password=" + password_ref;
    config.table = backend_.schema() + "." + name;
    config.create_table = true;
    return config;
  }

  static constexpr const char* kPassword = "Zq7-file-secret-value";
  std::filesystem::path dir_;
  secrets::Redactor redactor_;
  ManualClock clock_;
};

TEST_F(PgSecretsTest, FileSecretInTheDsnConnectsAndLoads) {
  const std::string path = WriteSecret(kPassword);
  auto loader = OpenLoader(UserConfig("via_file", "${secret:file:" + path + "}"));
  ASSERT_TRUE(loader.ok()) << loader.status().ToString();
  auto r = (*loader)->Load(Batch("f/0/0-0", "1,a\n"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(backend_.Query("SELECT count(*) FROM via_file"), "1");
}

TEST_F(PgSecretsTest, ExecSecretInTheDsnConnectsAndLoads) {
  const std::string path = WriteSecret(kPassword);
  secrets::Resolver resolver(&redactor_, &clock_);
  LoaderOptions options;
  options.resolver = &resolver;
  auto loader = OpenLoader(UserConfig("via_exec", "${secret:exec:cat " + path + "}"), options);
  ASSERT_TRUE(loader.ok()) << loader.status().ToString();
  EXPECT_TRUE((*loader)->Load(Batch("e/0/0-0", "1,a\n")).ok());
  EXPECT_EQ(redactor_.Redact(std::string("pw ") + kPassword), "pw ****");
}

TEST_F(PgSecretsTest, AWrongSecretNeverAppearsInTheError) {
  const std::string wrong = "Wr0ng-exec-secret-value";
  secrets::Resolver resolver(&redactor_, &clock_);
  LoaderOptions options;
  options.resolver = &resolver;
  auto loader = OpenLoader(UserConfig("wrong", "${secret:exec:echo " + wrong + "}"), options);
  ASSERT_FALSE(loader.ok());
  EXPECT_TRUE(IsRetryable(loader.status()));
  const std::string message = loader.status().ToString();
  EXPECT_EQ(message.find(wrong), std::string::npos) << message;
  EXPECT_NE(message.find("password authentication failed"), std::string::npos) << message;
  EXPECT_NE(message.find("password=****"), std::string::npos) << message;
}

TEST_F(PgSecretsTest, APlainPasswordInTheDsnIsRedactedToo) {
  auto loader = OpenLoader(UserConfig("plain", "Plain-wrong-pw-123"));
  ASSERT_FALSE(loader.ok());
  EXPECT_EQ(loader.status().message().find("Plain-wrong-pw-123"), std::string::npos)
      << loader.status().message();
  EXPECT_EQ(secrets::RedactDsn(g_pg->TcpDsn("u") + " password=" + kPassword).find(kPassword),
            std::string::npos);
}

// The Redshift statements, bar the COPY from S3 (replaced by COPY FROM STDIN), run on
// PostgreSQL 15, which has MERGE: the generated merge/dedupe/ledger SQL is executable.
TEST_F(PgLoaderTest, RedshiftStatementsMergeCorrectlyOnPostgres) {
  WarehouseConfig config;
  config.engine = Engine::kRedshift;
  config.table = backend_.schema() + ".rs";
  config.mode = LoadMode::kMerge;
  config.key = {"id"};
  config.order_by = "ts";
  config.redshift.iam_role = "arn:aws:iam::1:role/r";
  backend_.Query("CREATE TABLE rs (id bigint, v text, ts bigint)");
  backend_.Query(CreateLedgerSql(Engine::kPostgres, *ParseTableName(config.table)));
  backend_.Query("INSERT INTO rs VALUES (1, 'old', 0), (9, 'untouched', 0)");
  LoadBatch batch{"rs/0/0-2",
                  *RowSetFromCsv({*MakeColumn("id", "bigint"), *MakeColumn("v", "text"),
                                  *MakeColumn("ts", "bigint")},
                                 "1,newest,3\n1,older,2\n2,fresh,1\n"),
                  "s3://b/k"};
  std::string csv;
  EncodeCsv(batch.rows, csv);
  auto sql = BuildRedshiftLoadSql(config, batch);
  ASSERT_TRUE(sql.ok()) << sql.status().ToString();

  PGconn* conn = PQconnectdb(g_pg->Dsn().c_str());
  ASSERT_EQ(PQstatus(conn), CONNECTION_OK);
  auto exec = [&](const std::string& s) {
    PGresult* res = PQexec(conn, s.c_str());
    const ExecStatusType st = PQresultStatus(res);
    EXPECT_TRUE(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        << s << ": " << PQresultErrorMessage(res);
    std::string rows = st == PGRES_TUPLES_OK ? std::to_string(PQntuples(res)) : PQcmdTuples(res);
    PQclear(res);
    return rows;
  };
  exec("BEGIN");
  exec(sql->lock);
  EXPECT_EQ(exec(sql->ledger_check), "0");
  for (size_t i = 0; i < sql->statements.size(); ++i) {
    if (i != sql->copy_index) {
      const std::string rows = exec(sql->statements[i]);
      if (i == sql->write_index) {
        EXPECT_EQ(rows, "2");
      }
      continue;
    }
    PQclear(PQexec(conn, "COPY sluice_staging (id, v, ts) FROM STDIN (FORMAT csv)"));
    ASSERT_EQ(PQputCopyData(conn, csv.data(), static_cast<int>(csv.size())), 1);
    ASSERT_EQ(PQputCopyEnd(conn, nullptr), 1);
    PGresult* res = PQgetResult(conn);
    EXPECT_EQ(PQresultStatus(res), PGRES_COMMAND_OK) << PQresultErrorMessage(res);
    PQclear(res);
    PQclear(PQgetResult(conn));
  }
  exec("COMMIT");
  EXPECT_EQ(exec(sql->ledger_check), "1");
  PQfinish(conn);
  EXPECT_EQ(backend_.Query("SELECT v FROM rs WHERE id = 1"), "newest");
  EXPECT_EQ(backend_.Query("SELECT v FROM rs WHERE id = 2"), "fresh");
  EXPECT_EQ(backend_.Query("SELECT v FROM rs WHERE id = 9"), "untouched");
  EXPECT_EQ(backend_.Query("SELECT rows FROM sluice_load_ledger WHERE batch_id = 'rs/0/0-2'"), "2");
}

}  // namespace
}  // namespace sluice::warehouse
