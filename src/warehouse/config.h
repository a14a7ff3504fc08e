// Configuration of a warehouse destination: one target table in one database.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "transform/row_set.h"

namespace sluice::warehouse {

// One column type for sluice: the transform's (the schema processor converts to it, the row set
// carries it).
using ColumnType = transform::ColumnType;
using Column = transform::Column;

// "text", "bigint", "integer", "double", "boolean", "timestamp", "date", "numeric(p,s)",
// "numeric", "json".
Result<Column> MakeColumn(const std::string& name, const std::string& type);
// The type text MakeColumn reads back: "bigint", "numeric(12,2)", "numeric", ...
std::string ColumnTypeName(const Column& column);

// The ledger table's unqualified name.
inline constexpr const char* kLedgerTable = "sluice_load_ledger";

enum class Engine { kPostgres, kRedshift, kSqlite };
enum class LoadMode { kAppend, kMerge };

// Credentials Redshift uses to read the staged object. Exactly one of iam_role or the
// access key pair must be set.
struct RedshiftAuth {
  std::string iam_role;  // "arn:aws:iam::123456789012:role/RedshiftCopy"
  std::string access_key_id;
  std::string secret_access_key;  // may hold a ${secret:...} reference until resolved
  std::string session_token;
  std::string region;  // optional REGION clause
};

struct WarehouseConfig {
  static constexpr uint32_t kDefaultRetryDurationS = 3600;  // Firehose RetryOptions default
  static constexpr uint32_t kMaxRetryDurationS = 7200;

  Engine engine = Engine::kSqlite;
  // postgres/redshift: a libpq key=value or postgresql:// DSN; sqlite: a file path or a
  // "file:" URI. May contain ${secret:...} references (resolved by OpenLoader).
  std::string dsn;
  std::string table;  // "schema.table" or "table"
  LoadMode mode = LoadMode::kAppend;
  // Key columns. merge requires them; with append they de-duplicate within a batch only.
  std::vector<std::string> key;
  // Optional: among rows of one batch with the same key, the one with the greatest value of
  // this column wins (ties and no order_by: the last one in arrival order wins).
  std::string order_by;
  bool create_table = false;  // create the target (and schema) if missing
  // The target's columns (from the stream's schema). With create_table, the table is created
  // at open from these, or at the first load from the batch's columns when this is empty.
  std::vector<Column> columns;
  std::map<std::string, std::string> views;  // view name -> SELECT; created or replaced at open
  uint32_t statement_timeout_ms = 300'000;   // per statement; 0 disables
  uint32_t retry_duration_s = kDefaultRetryDurationS;  // used by the pipeline's retry loop
  uint32_t pool_size = 2;                              // connections (postgres/redshift)
  RedshiftAuth redshift;
  bool gzip = false;  // redshift: staged objects are gzip-compressed
};

const char* EngineName(Engine engine);
Result<Engine> ParseEngine(const std::string& name);
const char* LoadModeName(LoadMode mode);
Result<LoadMode> ParseLoadMode(const std::string& name);

// Checks the combination of fields (table set, merge has a key, redshift auth, bounds).
Status Validate(const WarehouseConfig& config);

}  // namespace sluice::warehouse
