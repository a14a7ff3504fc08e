// The SQL a Redshift load runs, generated apart from any connection so that it can be checked
// against golden text and (bar the COPY from S3) executed on PostgreSQL 15, which accepts the
// same statements.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "warehouse/config.h"
#include "warehouse/loader.h"

namespace sluice::warehouse {

inline constexpr const char* kStagingTable = "sluice_staging";
inline constexpr const char* kDedupTable = "sluice_dedup";

// One load, in order, all inside BEGIN ... COMMIT issued by the caller:
//   lock            LOCK the ledger (Redshift does not enforce primary keys, so concurrent
//                   loaders of one batch are serialized by the lock instead)
//   ledger_check    returns one row if the batch was loaded already -> ROLLBACK, skip
//   statements      create staging, COPY from S3, de-duplicate, append/MERGE, ledger insert,
//                   drop the temp tables (explicitly: Redshift has no ON COMMIT DROP)
struct RedshiftLoadSql {
  std::string lock;
  std::string ledger_check;
  std::vector<std::string> statements;
  size_t copy_index = 0;   // statements[copy_index] is the COPY from S3
  size_t write_index = 0;  // its affected-row count is the number of rows loaded
};

// REQUIRES: Validate(config) is OK; batch.staged_url is an s3:// URL. Credentials must already
// be resolved (they appear in the COPY text; log it only through the redactor).
Result<RedshiftLoadSql> BuildRedshiftLoadSql(const WarehouseConfig& config, const LoadBatch& batch);

}  // namespace sluice::warehouse
