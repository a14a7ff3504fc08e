// WarehouseSink: loads each delivered batch's Ok rows into the stream's warehouse table, exactly
// once (the loader records the batch id in its ledger in the same transaction), after the staged
// objects are durable and before the checkpoint moves (design.md §5.5).
//
// Rows come from the batch's BuiltBatch::rows (the TransformBuilder's typed row set, built with
// collect_rows; with dynamic partitioning, every partition's rows), projected onto the target's
// columns by name, in arrival order. Rows the database rejects for their data (isolated by
// bisection) go to error output as `warehouse-failed` error records, while the rest of the
// batch loads. Redshift COPYs the batch's one staged object; a batch with several (partition
// keys) fails as not loadable and goes to error output.
// Thread safety: one sink per delivery worker; called from the worker's thread only.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "pipeline/delivery_worker.h"
#include "secrets/resolver.h"
#include "warehouse/config.h"
#include "warehouse/loader.h"

namespace sluice::pipeline {

class WarehouseSink : public BatchSink {
 public:
  // `config` is the stream's (config::StreamConfig::warehouse, validated by config/); `errors`
  // receives warehouse-failed records (keys from `keys`); `resolver` resolves
  // ${secret:...}, and every error this sink returns is redacted with its redactor, because the
  // message ends up in error records in the bucket; `clock` stamps those records. `loader`
  // (tests): use it instead of opening one from `config`.
  WarehouseSink(const config::StreamConfig& stream, warehouse::WarehouseConfig config,
                KeyMaker keys, objectstore::ObjectStore* errors, secrets::Resolver* resolver,
                const Clock* clock = &Clock::System(),
                std::unique_ptr<warehouse::Loader> loader = nullptr);

  // REQUIRES: built.rows is set (the builder collects rows) unless the batch has no rows.
  Status Deliver(const Batch& batch, const BuiltBatch& built) override;
  uint32_t RetryDurationS() const override { return config_.retry_duration_s; }
  bool IsRetryable(const Status& status) const override;

  uint64_t rows_loaded() const { return rows_loaded_; }
  uint64_t rows_rejected() const { return rows_rejected_; }

 private:
  Status Load(const Batch& batch, const BuiltBatch& built);

  std::string stream_;
  warehouse::WarehouseConfig config_;
  objectstore::ObjectStore* errors_;
  secrets::Resolver* resolver_;
  const Clock* clock_;
  ErrorOutputWriter error_output_;             // warehouse-failed records
  std::unique_ptr<warehouse::Loader> loader_;  // opened lazily (the database may be down at start)
  // Error output of rejected rows that could not be written yet, for the batch it belongs to:
  // the retry of Deliver writes it instead of loading again (the load is committed).
  std::optional<std::pair<std::string, OutputObject>> pending_rejects_;
  uint64_t rows_loaded_ = 0;
  uint64_t rows_rejected_ = 0;
};

}  // namespace sluice::pipeline
