// SQLite flow for one batch, serialized by a mutex on one connection:
//   BEGIN IMMEDIATE; SELECT ledger (skip if present); convert every row set value to its
//   column's type (no CSV in between);
//   de-duplicate by key in memory (greatest order_by, then last arrival wins);
//   INSERT each row (ON CONFLICT (key) DO UPDATE in merge mode) - a row that violates a
//   constraint fails only its own statement and is reported, the others stay;
//   INSERT ledger; COMMIT.
// Tables are STRICT, so a value of the wrong type is rejected like in PostgreSQL.
#include "warehouse/sqlite_loader.h"

#include <sqlite3.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <optional>

#include "common/mutex.h"
#include "warehouse/sql.h"

namespace sluice::warehouse {
namespace {

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;
struct DbDeleter {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, DbDeleter>;

// A converted value: NULL, an integer, a double or text (a view into the row set's text).
struct Value {
  enum Kind { kNull, kInt, kReal, kText } kind = kNull;
  int64_t i = 0;
  double d = 0;
  std::string_view s;
};

// Converts row set value `text` to `column`'s SQLite representation. `scratch` holds a
// NUL-terminated copy for strtoll/strtod (reused: no allocation per value once grown).
Result<Value> Convert(const Column& column, transform::ValueKind kind, std::string_view text,
                      std::string& scratch) {
  Value v;
  if (kind == transform::ValueKind::kNull) return v;
  auto bad = [&](const char* what) {
    return Status::InvalidArgument("column " + column.name + ": invalid " + what + " '" +
                                   std::string(text) + "'");
  };
  switch (column.type) {
    case ColumnType::kBigint:
    case ColumnType::kInteger: {
      scratch.assign(text);
      char* end = nullptr;
      errno = 0;
      const long long n = std::strtoll(scratch.c_str(), &end, 10);
      if (text.empty() || *end != '\0' || errno == ERANGE) return bad("integer");
      if (column.type == ColumnType::kInteger && (n < INT32_MIN || n > INT32_MAX)) {
        return bad("integer (out of range)");
      }
      v.kind = Value::kInt;
      v.i = n;
      return v;
    }
    case ColumnType::kDouble: {
      scratch.assign(text);
      char* end = nullptr;
      v.d = std::strtod(scratch.c_str(), &end);
      if (text.empty() || *end != '\0') return bad("double");
      v.kind = Value::kReal;
      return v;
    }
    case ColumnType::kBoolean: {
      auto is = [&](std::string_view word) {
        if (text.size() != word.size()) return false;
        for (size_t k = 0; k < text.size(); ++k) {
          if (std::tolower(static_cast<unsigned char>(text[k])) != word[k]) return false;
        }
        return true;
      };
      if (is("true") || is("t") || is("1") || is("yes")) {
        v.i = 1;
      } else if (is("false") || is("f") || is("0") || is("no")) {
        v.i = 0;
      } else {
        return bad("boolean");
      }
      v.kind = Value::kInt;
      return v;
    }
    case ColumnType::kNumeric: {
      scratch.assign(text);
      char* end = nullptr;
      std::strtod(scratch.c_str(), &end);
      if (text.empty() || *end != '\0') return bad("numeric");
      break;
    }
    default: break;
  }
  v.kind = Value::kText;
  v.s = text;
  return v;
}

// Orders values of one column: NULL first, numbers numerically, text bytewise.
int Compare(const Value& a, const Value& b) {
  if (a.kind == Value::kNull || b.kind == Value::kNull) {
    return static_cast<int>(a.kind != Value::kNull) - static_cast<int>(b.kind != Value::kNull);
  }
  if (a.kind == Value::kText || b.kind == Value::kText) return a.s.compare(b.s);
  const double x = a.kind == Value::kInt ? static_cast<double>(a.i) : a.d;
  const double y = b.kind == Value::kInt ? static_cast<double>(b.i) : b.d;
  return x < y ? -1 : (x > y ? 1 : 0);
}

// `row` points at the row's first value.
std::string KeyOf(const Value* row, const std::vector<size_t>& key_idx) {
  std::string key;
  for (size_t k : key_idx) {
    const Value& v = row[k];
    key += static_cast<char>('0' + v.kind);
    if (v.kind == Value::kInt) {
      key += std::to_string(v.i);
    } else if (v.kind == Value::kReal) {
      key += std::to_string(v.d);
    } else {
      key += v.s;
    }
    key += '\x1f';
    key += std::to_string(v.s.size());
    key += '\x1e';
  }
  return key;
}

class SqliteLoader : public Loader {
 public:
  SqliteLoader(WarehouseConfig config, LoaderOptions options, const secrets::Redactor* redactor,
               TableName table)
      : config_(std::move(config)),
        options_(std::move(options)),
        redactor_(redactor),
        table_(std::move(table)) {}

  Status Init() SLUICE_EXCLUDES(mu_) {
    // Init runs before the loader is shared: the lock is not contended.
    MutexLock lock(mu_);
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(
        config_.dsn.c_str(), &raw,
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX,
        nullptr);
    db_.reset(raw);
    if (rc != SQLITE_OK) {
      return Status::IoError("warehouse sqlite " + redactor_->Redact(config_.dsn) + ": " +
                             (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
    }
    sqlite3_busy_timeout(
        db_.get(), static_cast<int>(std::min<uint32_t>(config_.statement_timeout_ms, 60'000)));
    SLUICE_RETURN_IF_ERROR(Exec("PRAGMA journal_mode=WAL"));
    SLUICE_RETURN_IF_ERROR(Exec("PRAGMA synchronous=FULL"));
    SLUICE_RETURN_IF_ERROR(Exec(CreateLedgerSql(Engine::kSqlite, table_)));
    if (!config_.create_table || !config_.columns.empty()) {
      SLUICE_RETURN_IF_ERROR(EnsureTable(config_.columns));
    }
    return Status::Ok();
  }

  Result<LoadResult> Load(const LoadBatch& batch) SLUICE_EXCLUDES(mu_) override {
    MutexLock lock(mu_);
    const std::string context = "batch " + batch.batch_id;
    if (batch.columns().empty()) return Status::InvalidArgument(context + ": no columns");
    if (config_.create_table && !table_ready_) SLUICE_RETURN_IF_ERROR(EnsureTable(batch.columns()));
    Status begin = Exec("BEGIN IMMEDIATE");
    if (!begin.ok()) return begin.WithContext(context);
    Result<LoadResult> result = LoadInTransaction(batch, context);
    if (!result.ok() || result->outcome == LoadOutcome::kSkipped) {
      (void)Exec("ROLLBACK");
      return result;
    }
    if (options_.step_hook_for_test) options_.step_hook_for_test(LoadStep::kBeforeCommit);
    Status commit = Exec("COMMIT");
    if (!commit.ok()) {
      (void)Exec("ROLLBACK");
      return commit.WithContext(context);
    }
    return result;
  }

 private:
  Status Error(int rc, const std::string& what) const SLUICE_REQUIRES(mu_) {
    const std::string message = redactor_->Redact(what + ": " + sqlite3_errmsg(db_.get()));
    switch (rc & 0xff) {
      case SQLITE_BUSY:
      case SQLITE_LOCKED:
      case SQLITE_IOERR:
      case SQLITE_FULL:
      case SQLITE_INTERRUPT: return Status::Unavailable(message);
      case SQLITE_CONSTRAINT:
      case SQLITE_MISMATCH:
      case SQLITE_TOOBIG: return Status::InvalidArgument(message);
      default: return Status::FailedPrecondition(message);
    }
  }

  Status Exec(const std::string& sql) SLUICE_REQUIRES(mu_) {
    const int rc = sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return Error(rc, "warehouse " + config_.table);
    return Status::Ok();
  }

  Result<Stmt> Prepare(const std::string& sql) SLUICE_REQUIRES(mu_) {
    sqlite3_stmt* raw = nullptr;
    const int rc = sqlite3_prepare_v2(db_.get(), sql.c_str(), -1, &raw, nullptr);
    Stmt stmt(raw);
    if (rc != SQLITE_OK) return Error(rc, "warehouse " + config_.table);
    return stmt;
  }

  // Creates the target and (re)creates the views in one write transaction: loaders of several
  // shards open the same database at once, and DROP VIEW + CREATE VIEW from two connections
  // would otherwise interleave ("view ... already exists").
  Status EnsureTable(const std::vector<Column>& columns) SLUICE_REQUIRES(mu_) {
    if (table_ready_) return Status::Ok();
    SLUICE_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    Status status = CreateTableAndViews(columns);
    if (status.ok()) status = Exec("COMMIT");
    if (!status.ok()) {
      (void)Exec("ROLLBACK");
      return status;
    }
    table_ready_ = true;
    return Status::Ok();
  }

  Status CreateTableAndViews(const std::vector<Column>& columns) SLUICE_REQUIRES(mu_) {
    if (config_.create_table)
      SLUICE_RETURN_IF_ERROR(Exec(CreateTableSql(config_, table_, columns)));
    for (const auto& [name, select] : config_.views) {
      SLUICE_ASSIGN_OR_RETURN(TableName view, ParseTableName(name));
      SLUICE_RETURN_IF_ERROR(Exec("DROP VIEW IF EXISTS " + view.Quoted()));
      SLUICE_RETURN_IF_ERROR(Exec("CREATE VIEW " + view.Quoted() + " AS " + select));
    }
    return Status::Ok();
  }

  Result<LoadResult> LoadInTransaction(const LoadBatch& batch, const std::string& context)
      SLUICE_REQUIRES(mu_) {
    const std::string ledger = table_.Sibling(kLedgerTable);
    {
      SLUICE_ASSIGN_OR_RETURN(Stmt check,
                              Prepare("SELECT rows FROM " + ledger + " WHERE batch_id = ?"));
      sqlite3_bind_text(check.get(), 1, batch.batch_id.data(),
                        static_cast<int>(batch.batch_id.size()), SQLITE_TRANSIENT);
      const int rc = sqlite3_step(check.get());
      if (rc == SQLITE_ROW) {
        return LoadResult{
            LoadOutcome::kSkipped, static_cast<uint64_t>(sqlite3_column_int64(check.get(), 0)), {}};
      }
      if (rc != SQLITE_DONE) return Error(rc, context);
    }

    LoadResult result;
    const transform::RowSet& set = batch.rows;
    const size_t ncols = set.column_count();
    const size_t nrows = set.row_count();
    // values[r * ncols + c]; keep[r] false for a rejected (or de-duplicated) row.
    std::vector<Value> values(nrows * ncols);
    std::vector<uint8_t> keep(nrows, 1);
    std::string scratch;
    for (size_t r = 0; r < nrows; ++r) {
      for (size_t c = 0; c < ncols; ++c) {
        Result<Value> v = Convert(batch.columns()[c], set.kind(r, c), set.text(r, c), scratch);
        if (!v.ok()) {
          result.rejected.push_back({r, redactor_->Redact(v.status().message())});
          keep[r] = 0;
          break;
        }
        values[r * ncols + c] = *v;
      }
    }
    auto row_of = [&](size_t r) { return &values[r * ncols]; };

    // In-batch de-duplication: keep one row per key.
    std::vector<size_t> key_idx;
    std::optional<size_t> order_idx;
    for (size_t c = 0; c < ncols; ++c) {
      for (const std::string& k : config_.key) {
        if (k == batch.columns()[c].name) key_idx.push_back(c);
      }
      if (batch.columns()[c].name == config_.order_by) order_idx = c;
    }
    if (key_idx.size() != config_.key.size()) {
      return Status::InvalidArgument(context + ": a key column is missing from the batch");
    }
    if (!key_idx.empty()) {
      std::map<std::string, size_t> winner;
      for (size_t r = 0; r < nrows; ++r) {
        if (!keep[r]) continue;
        auto [it, inserted] = winner.emplace(KeyOf(row_of(r), key_idx), r);
        if (inserted) continue;
        const bool newer =
            !order_idx || Compare(row_of(r)[*order_idx], row_of(it->second)[*order_idx]) >= 0;
        if (newer) {
          keep[it->second] = 0;
          it->second = r;
        } else {
          keep[r] = 0;
        }
      }
    }

    std::string sql =
        "INSERT INTO " + table_.Quoted() + " (" + ColumnList(batch.columns()) + ") VALUES (";
    for (size_t c = 0; c < ncols; ++c) sql += c ? ", ?" : "?";
    sql += ")";
    if (config_.mode == LoadMode::kMerge) {
      std::string set;
      for (size_t c = 0; c < ncols; ++c) {
        if (std::find(key_idx.begin(), key_idx.end(), c) != key_idx.end()) continue;
        if (!set.empty()) set += ", ";
        set += QuoteIdent(batch.columns()[c].name) + " = excluded." +
               QuoteIdent(batch.columns()[c].name);
      }
      sql += " ON CONFLICT (" + NameList(config_.key) + ") DO ";
      sql += set.empty() ? "NOTHING" : "UPDATE SET " + set;
    }
    SLUICE_ASSIGN_OR_RETURN(Stmt insert, Prepare(sql));
    for (size_t r = 0; r < nrows; ++r) {
      if (!keep[r]) continue;
      sqlite3_stmt* st = insert.get();
      sqlite3_reset(st);
      for (size_t c = 0; c < ncols; ++c) {
        const Value& v = row_of(r)[c];
        const int i = static_cast<int>(c) + 1;
        switch (v.kind) {
          case Value::kNull: sqlite3_bind_null(st, i); break;
          case Value::kInt: sqlite3_bind_int64(st, i, v.i); break;
          case Value::kReal: sqlite3_bind_double(st, i, v.d); break;
          case Value::kText:
            sqlite3_bind_text(st, i, v.s.data(), static_cast<int>(v.s.size()), SQLITE_STATIC);
            break;
        }
      }
      const int rc = sqlite3_step(st);
      if (rc == SQLITE_DONE) {
        result.rows_loaded += static_cast<uint64_t>(sqlite3_changes(db_.get()));
        continue;
      }
      Status error = Error(rc, "row " + std::to_string(r));
      sqlite3_reset(st);
      if (error.code() != StatusCode::kInvalidArgument) return error.WithContext(context);
      result.rejected.push_back({r, error.message()});
    }
    insert.reset();
    std::sort(result.rejected.begin(), result.rejected.end(),
              [](const RejectedRow& a, const RejectedRow& b) { return a.row_index < b.row_index; });
    if (options_.step_hook_for_test) options_.step_hook_for_test(LoadStep::kStaged);

    SLUICE_ASSIGN_OR_RETURN(Stmt record, Prepare("INSERT INTO " + ledger +
                                                 " (batch_id, table_name, rows, rejected) "
                                                 "VALUES (?, ?, ?, ?)"));
    sqlite3_bind_text(record.get(), 1, batch.batch_id.data(),
                      static_cast<int>(batch.batch_id.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(record.get(), 2, config_.table.data(), static_cast<int>(config_.table.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_int64(record.get(), 3, static_cast<int64_t>(result.rows_loaded));
    sqlite3_bind_int64(record.get(), 4, static_cast<int64_t>(result.rejected.size()));
    const int rc = sqlite3_step(record.get());
    if (rc != SQLITE_DONE) return Error(rc, context + ": ledger");
    return result;
  }

  const WarehouseConfig config_;
  const LoaderOptions options_;
  const secrets::Redactor* redactor_;
  const TableName table_;
  mutable Mutex mu_;  // serializes Load: one SQLite connection
  Db db_ SLUICE_GUARDED_BY(mu_);
  bool table_ready_ SLUICE_GUARDED_BY(mu_) = false;
};

}  // namespace

Result<std::unique_ptr<Loader>> OpenSqliteLoader(const WarehouseConfig& config,
                                                 LoaderOptions options,
                                                 const secrets::Redactor* redactor) {
  SLUICE_ASSIGN_OR_RETURN(TableName table, ParseTableName(config.table));
  if (!table.schema.empty() && table.schema != "main") {
    // SQLite schemas are attached databases; only "main" exists here.
    table.schema.clear();
  }
  auto loader =
      std::make_unique<SqliteLoader>(config, std::move(options), redactor, std::move(table));
  SLUICE_RETURN_IF_ERROR(loader->Init());
  return std::unique_ptr<Loader>(std::move(loader));
}

}  // namespace sluice::warehouse
