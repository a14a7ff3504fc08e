// The warehouse seam: loads delivered batches into a table exactly once.
//
// A batch is loaded in one database transaction together with a row in the ledger table
// `sluice_load_ledger` (batch_id primary key), in the target's schema. A batch id that is in
// the ledger already is skipped, so a batch redelivered after a crash or a retry is applied
// exactly once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "transform/row_set.h"
#include "warehouse/config.h"

namespace sluice::secrets {
class Resolver;
}

namespace sluice::warehouse {

// One delivered batch: its rows (transform/row_set.h), whose columns are the target's columns in
// order, with the types the target declares; rows are in arrival order (row i arrived no later
// than row i+1). A null value is NULL; an empty kString value is the empty string. Each engine
// converts a value's text to its column's type (PostgreSQL through COPY CSV, SQLite by binding
// typed values); a value that does not convert rejects its row.
struct LoadBatch {
  std::string batch_id;  // "<stream>/<partition>/<first offset>-<last offset>"; stable
  transform::RowSet rows;
  std::string staged_url;  // redshift: "s3://bucket/key" of the staged object holding the rows
  const std::vector<Column>& columns() const { return rows.columns(); }
};

struct RejectedRow {
  size_t row_index = 0;  // 0-based position in LoadBatch::rows
  std::string error;     // the database's error text (redacted)
};

enum class LoadOutcome { kLoaded, kSkipped };

// The result of a committed load.
struct LoadResult {
  LoadOutcome outcome = LoadOutcome::kLoaded;
  // Rows written to the target (after in-batch de-duplication). For kSkipped: the count the
  // ledger recorded when the batch was first loaded.
  uint64_t rows_loaded = 0;
  // Rows that failed a data check (type, constraint) and were left out; the rest of the batch
  // was committed. The pipeline sends these to the error output. Empty for kSkipped.
  std::vector<RejectedRow> rejected;
};

// Steps between which a test may inject faults (kill the server, cancel the backend).
enum class LoadStep { kStaged, kBeforeCommit };

struct LoaderOptions {
  // Resolves ${secret:...} in the DSN and in Redshift credentials; its redactor masks them in
  // every error text. Null: a private resolver with the system clock is used.
  secrets::Resolver* resolver = nullptr;
  // Test seam: called on the loading thread between steps of a load.
  std::function<void(LoadStep)> step_hook_for_test;
};

// Thread safety: Load may be called from several threads at once (postgres/redshift use a
// small connection pool; sqlite serializes).
class Loader {
 public:
  virtual ~Loader() = default;

  // Loads `batch`. A non-OK status means nothing of the batch was committed; IsRetryable()
  // tells whether to retry it (connection lost, server restart, serialization failure,
  // deadlock, lock timeout, admin shutdown, statement timeout) or to give up (bad config,
  // missing table, a Redshift data error without row isolation).
  virtual Result<LoadResult> Load(const LoadBatch& batch) = 0;
};

// Connects, creates the ledger (and the target table when config.create_table), creates or
// replaces config.views. Errors are redacted.
Result<std::unique_ptr<Loader>> OpenLoader(const WarehouseConfig& config,
                                           LoaderOptions options = {});

// True for a failed Load that may succeed if retried (StatusCode kUnavailable).
bool IsRetryable(const Status& status);

}  // namespace sluice::warehouse
