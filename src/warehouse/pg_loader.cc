// PostgreSQL flow for one batch, in one transaction on one pooled connection:
//   BEGIN; SELECT ledger (skip if present);
//   [keyed] CREATE TEMP TABLE sluice_staging ON COMMIT DROP AS SELECT <cols> FROM target
//           WITH NO DATA; ADD COLUMN sluice_ord bigserial (arrival order)
//   SAVEPOINT; COPY <staging or target> FROM STDIN (FORMAT csv) of the row set (warehouse/csv.h);
//   [keyed] INSERT INTO target SELECT DISTINCT ON (key) ... [ON CONFLICT (key) DO UPDATE];
//           TRUNCATE staging; RELEASE
//   on a data error: ROLLBACK TO SAVEPOINT and bisect the rows, loading every good slice
//   INSERT ledger; COMMIT
// The temp table is created inside the transaction with ON COMMIT DROP, so commit, rollback
// and a lost session all remove it. Append without a key skips the staging table and COPYs
// straight into the target: the ledger row in the same transaction keeps it exactly once.
#include "warehouse/pg_loader.h"

#include <libpq-fe.h>

#include <atomic>
#include <vector>

#include "common/mutex.h"
#include "warehouse/csv.h"
#include "warehouse/redshift_sql.h"
#include "warehouse/sql.h"

namespace sluice::warehouse {
namespace {

// The advisory lock every Sluice loader holds while it creates tables and views (any constant;
// this one spells "sluiceDD").
constexpr int64_t kDdlLockKey = 0x736c756963654444;

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;
struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using PgConn = std::unique_ptr<PGconn, ConnDeleter>;

enum class FailureKind { kRetryable, kData, kPermanent };

// A failed statement, classified.
struct PgFailure {
  FailureKind kind = FailureKind::kPermanent;
  std::string sqlstate;
  std::string message;  // redacted
};

bool IsRetryableSqlState(const std::string& s) {
  if (s.empty()) return true;  // no server answer: the connection broke
  const std::string cls = s.substr(0, 2);
  return cls == "08" || cls == "53" || cls == "57" || cls == "58" || s == "40001" || s == "40P01" ||
         s == "55P03" || s == "55006" || s == "25P03";
}

bool IsDataSqlState(const std::string& s) {
  const std::string cls = s.substr(0, 2);
  return cls == "22" || cls == "23" || s == "42804";
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

class PgLoader : public Loader {
 public:
  PgLoader(WarehouseConfig config, LoaderOptions options, const secrets::Redactor* redactor,
           TableName table)
      : config_(std::move(config)),
        options_(std::move(options)),
        redactor_(redactor),
        table_(std::move(table)) {}

  Status Init() {
    SLUICE_ASSIGN_OR_RETURN(PgConn conn, Acquire());
    if (config_.create_table && !table_.schema.empty()) {
      // CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even when the schema exists.
      PgFailure f;
      PgResult res;
      if (!Exec(conn.get(),
                "SELECT 1 FROM pg_namespace WHERE nspname = " + QuoteLiteral(table_.schema), &f,
                &res)) {
        return ToStatus(f, "warehouse " + config_.table);
      }
      if (PQntuples(res.get()) == 0) {
        SLUICE_RETURN_IF_ERROR(
            ExecStatus(conn.get(), "CREATE SCHEMA IF NOT EXISTS " + QuoteIdent(table_.schema)));
      }
    }
    SLUICE_RETURN_IF_ERROR(ExecStatus(conn.get(), CreateLedgerSql(config_.engine, table_)));
    if (!config_.create_table || !config_.columns.empty()) {
      SLUICE_RETURN_IF_ERROR(EnsureTable(conn.get(), config_.columns));
    }
    Release(std::move(conn), true);
    return Status::Ok();
  }

  Result<LoadResult> Load(const LoadBatch& batch) override {
    if (batch.columns().empty()) {
      return Status::InvalidArgument("batch " + batch.batch_id + ": no columns");
    }
    SLUICE_ASSIGN_OR_RETURN(PgConn conn, Acquire());
    // A pooled connection may have died while idle (server restart): reconnect once.
    PgResult begin(PQexec(conn.get(), "BEGIN"));
    if (PQstatus(conn.get()) != CONNECTION_OK) {
      PQreset(conn.get());
      begin.reset(PQexec(conn.get(), "BEGIN"));
    }
    if (PQresultStatus(begin.get()) != PGRES_COMMAND_OK) {
      const PgFailure f = Classify(conn.get(), begin.get());
      Release(std::move(conn), false);
      return ToStatus(f, "batch " + batch.batch_id + ": BEGIN");
    }
    PgFailure failure;
    Result<LoadResult> result = config_.engine == Engine::kRedshift
                                    ? LoadRedshift(conn.get(), batch, &failure)
                                    : LoadPostgres(conn.get(), batch, &failure);
    if (result.ok()) {
      Release(std::move(conn), true);
      return result;
    }
    // Nothing of the batch is committed: roll back if the session is still there.
    bool healthy = PQstatus(conn.get()) == CONNECTION_OK;
    if (healthy) {
      PgResult rb(PQexec(conn.get(), "ROLLBACK"));
      healthy = PQresultStatus(rb.get()) == PGRES_COMMAND_OK;
    }
    Release(std::move(conn), healthy);
    return result;
  }

 private:
  // ---- statements ----

  PgFailure Classify(PGconn* conn, const PGresult* res) const {
    PgFailure f;
    const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    f.sqlstate = state ? state : "";
    std::string text;
    if (res && PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)) {
      text = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
      if (const char* detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL)) {
        text += " (" + std::string(detail) + ")";
      }
    } else {
      text = Trim(PQerrorMessage(conn));
    }
    if (!f.sqlstate.empty()) text += " [SQLSTATE " + f.sqlstate + "]";
    f.message = redactor_->Redact(text);
    // Two loaders creating one table at once (CREATE TABLE IF NOT EXISTS from two shards' first
    // batches) collide in PostgreSQL's catalog: a unique violation on a system index (pg_type,
    // pg_class) or duplicate_table. The other creator won; trying again finds the table.
    const char* constraint = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : nullptr;
    const bool catalog_race = f.sqlstate == "42P07" || f.sqlstate == "42710" ||
                              (f.sqlstate == "23505" && constraint != nullptr &&
                               std::string_view(constraint).rfind("pg_", 0) == 0);
    if (PQstatus(conn) != CONNECTION_OK || IsRetryableSqlState(f.sqlstate) || catalog_race) {
      f.kind = FailureKind::kRetryable;
    } else if (IsDataSqlState(f.sqlstate)) {
      f.kind = FailureKind::kData;
    } else {
      f.kind = FailureKind::kPermanent;
    }
    return f;
  }

  static Status ToStatus(const PgFailure& f, const std::string& context) {
    const StatusCode code = f.kind == FailureKind::kRetryable ? StatusCode::kUnavailable
                            : f.kind == FailureKind::kData    ? StatusCode::kInvalidArgument
                                                              : StatusCode::kFailedPrecondition;
    return Status(code, context + ": " + f.message);
  }

  // Runs `sql`; on failure fills *failure and returns false.
  bool Exec(PGconn* conn, const std::string& sql, PgFailure* failure, PgResult* out = nullptr) {
    PgResult res(PQexec(conn, sql.c_str()));
    const ExecStatusType st = PQresultStatus(res.get());
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      *failure = Classify(conn, res.get());
      return false;
    }
    if (out) *out = std::move(res);
    return true;
  }

  Status ExecStatus(PGconn* conn, const std::string& sql) {
    PgFailure f;
    if (Exec(conn, sql, &f)) return Status::Ok();
    return ToStatus(f, "warehouse " + config_.table);
  }

  // COPY <dest> FROM STDIN with `data`; returns the copied row count.
  bool Copy(PGconn* conn, const std::string& copy_sql, std::string_view data, PgFailure* failure,
            uint64_t* rows) {
    PgResult res(PQexec(conn, copy_sql.c_str()));
    if (PQresultStatus(res.get()) != PGRES_COPY_IN) {
      *failure = Classify(conn, res.get());
      return false;
    }
    constexpr size_t kChunk = 1 << 20;
    for (size_t off = 0; off < data.size(); off += kChunk) {
      const size_t n = std::min(kChunk, data.size() - off);
      if (PQputCopyData(conn, data.data() + off, static_cast<int>(n)) != 1) break;
    }
    PQputCopyEnd(conn, nullptr);
    bool ok = true;
    while (PGresult* r = PQgetResult(conn)) {
      PgResult end(r);
      if (PQresultStatus(r) != PGRES_COMMAND_OK && ok) {
        *failure = Classify(conn, r);
        ok = false;
      } else if (ok) {
        *rows = std::strtoull(PQcmdTuples(r), nullptr, 10);
      }
      if (PQstatus(conn) != CONNECTION_OK) break;
    }
    if (ok && PQstatus(conn) != CONNECTION_OK) {
      *failure = Classify(conn, nullptr);
      ok = false;
    }
    return ok;
  }

  // ---- connections ----

  Result<PgConn> Connect() {
    const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
    const char* values[] = {"10", "sluice", config_.dsn.c_str(), nullptr};
    PgConn conn(PQconnectdbParams(keys, values, 1));
    if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
      const std::string why = conn ? Trim(PQerrorMessage(conn.get())) : "out of memory";
      return Status::Unavailable("warehouse " + config_.table + ": cannot connect to " +
                                 secrets::RedactDsn(redactor_->Redact(config_.dsn)) + ": " +
                                 redactor_->Redact(why));
    }
    // Server notices ("relation already exists, skipping") are not errors; keep them off stderr.
    PQsetNoticeProcessor(
        conn.get(), [](void*, const char*) {}, nullptr);
    std::string setup = "SET statement_timeout = " + std::to_string(config_.statement_timeout_ms);
    PgFailure f;
    if (!Exec(conn.get(), setup, &f)) return ToStatus(f, "warehouse " + config_.table);
    return conn;
  }

  Result<PgConn> Acquire() SLUICE_EXCLUDES(mu_) {
    {
      MutexLock lock(mu_);
      while (idle_.empty() && open_ >= config_.pool_size) cv_.Wait(mu_);
      if (!idle_.empty()) {
        PgConn conn = std::move(idle_.back());
        idle_.pop_back();
        return conn;
      }
      ++open_;
    }
    Result<PgConn> conn = Connect();
    if (!conn.ok()) {
      MutexLock lock(mu_);
      --open_;
      cv_.NotifyOne();
    }
    return conn;
  }

  void Release(PgConn conn, bool healthy) SLUICE_EXCLUDES(mu_) {
    MutexLock lock(mu_);
    if (healthy && PQstatus(conn.get()) == CONNECTION_OK) {
      idle_.push_back(std::move(conn));
    } else {
      conn.reset();
      --open_;
    }
    cv_.NotifyOne();
  }

  // Creates the target from `columns` when configured, then the views, once per loader: at
  // Init in a transaction of its own, or at the first load inside the load's transaction.
  // Loaders of several shards start at once and each creates the same table and views; on
  // PostgreSQL they hold one transaction-scoped advisory lock so that the DDL runs one loader at
  // a time (two sessions creating one relation collide in the catalog: a unique violation on
  // pg_type, or "tuple concurrently updated"). Redshift has no advisory locks; there a collision
  // is a retryable catalog race (Classify).
  Status EnsureTable(PGconn* conn, const std::vector<Column>& columns) {
    MutexLock lock(table_mu_);
    if (table_ready_) return Status::Ok();
    const bool serialize = config_.engine == Engine::kPostgres;
    const bool own_transaction = serialize && PQtransactionStatus(conn) == PQTRANS_IDLE;
    if (own_transaction) SLUICE_RETURN_IF_ERROR(ExecStatus(conn, "BEGIN"));
    Status status = Status::Ok();
    if (serialize) {
      status =
          ExecStatus(conn, "SELECT pg_advisory_xact_lock(" + std::to_string(kDdlLockKey) + ")");
    }
    if (status.ok() && config_.create_table) {
      status = ExecStatus(conn, CreateTableSql(config_, table_, columns));
    }
    for (auto it = config_.views.begin(); status.ok() && it != config_.views.end(); ++it) {
      Result<TableName> view = ParseTableName(it->first);
      status =
          view.ok()
              ? ExecStatus(conn, "CREATE OR REPLACE VIEW " + view->Quoted() + " AS " + it->second)
              : view.status();
    }
    if (own_transaction) {
      if (status.ok()) status = ExecStatus(conn, "COMMIT");
      if (!status.ok()) PQclear(PQexec(conn, "ROLLBACK"));
    }
    SLUICE_RETURN_IF_ERROR(status);
    table_ready_ = true;
    return Status::Ok();
  }

  void Hook(LoadStep step) {
    if (options_.step_hook_for_test) options_.step_hook_for_test(step);
  }

  // Looks the batch up in the ledger. Returns true and the recorded row count if present.
  bool LedgerLookup(PGconn* conn, const std::string& sql, PgFailure* failure, bool* found,
                    uint64_t* rows) {
    PgResult res;
    if (!Exec(conn, sql, failure, &res)) return false;
    *found = PQntuples(res.get()) > 0;
    if (*found) *rows = std::strtoull(PQgetvalue(res.get(), 0, 0), nullptr, 10);
    return true;
  }

  bool Commit(PGconn* conn, PgFailure* failure) {
    Hook(LoadStep::kBeforeCommit);
    return Exec(conn, "COMMIT", failure);
  }

  // ---- postgres ----

  Result<LoadResult> LoadPostgres(PGconn* conn, const LoadBatch& batch, PgFailure* failure) {
    const std::string context = "batch " + batch.batch_id;
    auto fail = [&]() -> Status { return ToStatus(*failure, context); };
    const std::string ledger = table_.Sibling(kLedgerTable);
    bool found = false;
    uint64_t recorded = 0;
    if (!LedgerLookup(
            conn,
            "SELECT rows FROM " + ledger + " WHERE batch_id = " + QuoteLiteral(batch.batch_id),
            failure, &found, &recorded)) {
      return fail();
    }
    if (found) {
      if (!Exec(conn, "ROLLBACK", failure)) return fail();
      return LoadResult{LoadOutcome::kSkipped, recorded, {}};
    }
    if (config_.create_table && !table_ready_) {
      SLUICE_RETURN_IF_ERROR(EnsureTable(conn, batch.columns()));
    }

    const std::string cols = ColumnList(batch.columns());
    const bool keyed = !config_.key.empty();
    const std::string staging = QuoteIdent(kStagingTable);
    SliceSql slice;
    if (keyed) {
      if (!Exec(conn,
                "CREATE TEMP TABLE " + staging + " ON COMMIT DROP AS SELECT " + cols + " FROM " +
                    table_.Quoted() + " WITH NO DATA",
                failure) ||
          !Exec(conn, "ALTER TABLE " + staging + " ADD COLUMN sluice_ord bigserial", failure)) {
        return fail();
      }
      slice.copy = "COPY " + staging + " (" + cols + ") FROM STDIN (FORMAT csv)";
      std::string order = " ORDER BY " + NameList(config_.key);
      if (!config_.order_by.empty())
        order += ", " + QuoteIdent(config_.order_by) + " DESC NULLS LAST";
      order += ", sluice_ord DESC";
      slice.write = "INSERT INTO " + table_.Quoted() + " (" + cols + ") SELECT " + cols +
                    " FROM (SELECT DISTINCT ON (" + NameList(config_.key) + ") * FROM " + staging +
                    order + ") AS d";
      if (config_.mode == LoadMode::kMerge) {
        std::string set;
        for (const Column& c : batch.columns()) {
          bool is_key = false;
          for (const std::string& k : config_.key) is_key = is_key || k == c.name;
          if (is_key) continue;
          if (!set.empty()) set += ", ";
          set += QuoteIdent(c.name) + " = EXCLUDED." + QuoteIdent(c.name);
        }
        slice.write += " ON CONFLICT (" + NameList(config_.key) + ") DO ";
        slice.write += set.empty() ? "NOTHING" : "UPDATE SET " + set;
      }
      slice.clear = "TRUNCATE " + staging;
    } else {
      slice.copy = "COPY " + table_.Quoted() + " (" + cols + ") FROM STDIN (FORMAT csv)";
    }

    // The rows as COPY CSV, encoded once; a bisection sends slices of the same text.
    std::string csv;
    std::vector<size_t> row_ends;
    EncodeCsv(batch.rows, csv, &row_ends);
    LoadResult result;
    bool data_error = false;
    if (!LoadSlice(conn, slice, csv, &result.rows_loaded, failure, &data_error)) {
      if (!data_error) return fail();
      // Isolate the offending rows; every other row still loads in this transaction.
      std::vector<RowSpan> rows(row_ends.size());
      for (size_t r = 0; r < row_ends.size(); ++r) {
        rows[r] = RowSpan{r == 0 ? 0 : row_ends[r - 1], row_ends[r]};
      }
      SLUICE_RETURN_IF_ERROR(
          Bisect(conn, slice, csv, rows, 0, rows.size(), &result, failure, context));
    }
    Hook(LoadStep::kStaged);
    if (!Exec(conn,
              "INSERT INTO " + ledger + " (batch_id, table_name, rows, rejected) VALUES (" +
                  QuoteLiteral(batch.batch_id) + ", " + QuoteLiteral(config_.table) + ", " +
                  std::to_string(result.rows_loaded) + ", " +
                  std::to_string(result.rejected.size()) + ")",
              failure)) {
      if (failure->sqlstate == "23505") {
        failure->kind = FailureKind::kRetryable;  // a concurrent load of the same batch won
      }
      return fail();
    }
    if (!Commit(conn, failure)) return fail();
    return result;
  }

  struct SliceSql {
    std::string copy;   // COPY ... FROM STDIN
    std::string write;  // staging -> target (empty: COPY went to the target)
    std::string clear;  // empties the staging table
  };

  // Loads `data` under a savepoint. On failure the savepoint is rolled back (if the session is
  // alive) and *data_error tells whether the rows themselves were at fault.
  bool LoadSlice(PGconn* conn, const SliceSql& slice, std::string_view data, uint64_t* rows,
                 PgFailure* failure, bool* data_error) {
    *data_error = false;
    if (!Exec(conn, "SAVEPOINT sluice_slice", failure)) return false;
    uint64_t copied = 0;
    bool ok = Copy(conn, slice.copy, data, failure, &copied);
    uint64_t written = copied;
    if (ok && !slice.write.empty()) {
      PgResult res;
      ok = Exec(conn, slice.write, failure, &res);
      if (ok) written = std::strtoull(PQcmdTuples(res.get()), nullptr, 10);
      ok = ok && Exec(conn, slice.clear, failure);
    }
    if (ok) {
      if (!Exec(conn, "RELEASE SAVEPOINT sluice_slice", failure)) return false;
      *rows += written;
      return true;
    }
    if (failure->kind != FailureKind::kData) return false;
    PgFailure rollback_failure;
    if (!Exec(conn, "ROLLBACK TO SAVEPOINT sluice_slice", &rollback_failure)) {
      *failure = rollback_failure;
      return false;
    }
    *data_error = true;
    return false;
  }

  Status Bisect(PGconn* conn, const SliceSql& slice, const std::string& csv,
                const std::vector<RowSpan>& rows, size_t lo, size_t hi, LoadResult* result,
                PgFailure* failure, const std::string& context) {
    if (lo >= hi) return Status::Ok();
    // Rows are contiguous in `csv`, each ending with \n.
    const std::string_view data =
        std::string_view(csv).substr(rows[lo].begin, rows[hi - 1].end - rows[lo].begin);
    bool data_error = false;
    if (LoadSlice(conn, slice, data, &result->rows_loaded, failure, &data_error)) {
      return Status::Ok();
    }
    if (!data_error) return ToStatus(*failure, context);
    if (hi - lo == 1) {
      result->rejected.push_back({lo, failure->message});
      return Status::Ok();
    }
    const size_t mid = lo + (hi - lo) / 2;
    SLUICE_RETURN_IF_ERROR(Bisect(conn, slice, csv, rows, lo, mid, result, failure, context));
    return Bisect(conn, slice, csv, rows, mid, hi, result, failure, context);
  }

  // ---- redshift ----

  Result<LoadResult> LoadRedshift(PGconn* conn, const LoadBatch& batch, PgFailure* failure) {
    const std::string context = "batch " + batch.batch_id;
    auto fail = [&]() -> Status { return ToStatus(*failure, context); };
    SLUICE_ASSIGN_OR_RETURN(RedshiftLoadSql sql, BuildRedshiftLoadSql(config_, batch));
    bool found = false;
    uint64_t recorded = 0;
    if (!Exec(conn, sql.lock, failure) ||
        !LedgerLookup(conn, sql.ledger_check, failure, &found, &recorded)) {
      return fail();
    }
    if (found) {
      if (!Exec(conn, "ROLLBACK", failure)) return fail();
      return LoadResult{LoadOutcome::kSkipped, recorded, {}};
    }
    if (config_.create_table && !table_ready_) {
      SLUICE_RETURN_IF_ERROR(EnsureTable(conn, batch.columns()));
    }
    LoadResult result;
    for (size_t i = 0; i < sql.statements.size(); ++i) {
      PgResult res;
      if (!Exec(conn, sql.statements[i], failure, &res)) {
        // No row isolation on Redshift: a data error fails the whole batch (see STL_LOAD_ERRORS).
        if (failure->kind == FailureKind::kData) failure->kind = FailureKind::kPermanent;
        return fail();
      }
      if (i == sql.copy_index) Hook(LoadStep::kStaged);
      if (i == sql.write_index)
        result.rows_loaded = std::strtoull(PQcmdTuples(res.get()), nullptr, 10);
    }
    if (!Commit(conn, failure)) return fail();
    return result;
  }

  const WarehouseConfig config_;
  const LoaderOptions options_;
  const secrets::Redactor* redactor_;
  const TableName table_;

  Mutex mu_;
  CondVar cv_;
  std::vector<PgConn> idle_ SLUICE_GUARDED_BY(mu_);
  uint32_t open_ SLUICE_GUARDED_BY(mu_) = 0;  // idle + in use

  Mutex table_mu_;
  std::atomic<bool> table_ready_ = false;  // written under table_mu_
};

}  // namespace

Result<std::unique_ptr<Loader>> OpenPgLoader(const WarehouseConfig& config, LoaderOptions options,
                                             const secrets::Redactor* redactor) {
  SLUICE_ASSIGN_OR_RETURN(TableName table, ParseTableName(config.table));
  auto loader = std::make_unique<PgLoader>(config, std::move(options), redactor, std::move(table));
  SLUICE_RETURN_IF_ERROR(loader->Init());
  return std::unique_ptr<Loader>(std::move(loader));
}

}  // namespace sluice::warehouse
