#include "pipeline/warehouse_sink.h"

#include <spdlog/spdlog.h>

#include <set>

#include "pipeline/metrics.h"

namespace sluice::pipeline {
WarehouseSink::WarehouseSink(const config::StreamConfig& stream, warehouse::WarehouseConfig config,
                             KeyMaker keys, objectstore::ObjectStore* errors,
                             secrets::Resolver* resolver, const Clock* clock,
                             std::unique_ptr<warehouse::Loader> loader)
    : stream_(stream.name),
      config_(std::move(config)),
      errors_(errors),
      resolver_(resolver),
      clock_(clock),
      error_output_(std::move(keys), errors),
      loader_(std::move(loader)) {}

bool WarehouseSink::IsRetryable(const Status& status) const {
  return warehouse::IsRetryable(status);
}

Status WarehouseSink::Deliver(const Batch& batch, const BuiltBatch& built) {
  Status st = Load(batch, built);
  if (!st.ok()) {
    Metrics()
        .delivery_to_redshift_failures
        .With({stream_, std::to_string(batch.id.partition), warehouse::EngineName(config_.engine)})
        .Inc();
  }
  if (st.ok() || resolver_ == nullptr) return st;
  return Status(st.code(), resolver_->redactor().Redact(st.message()));
}

Status WarehouseSink::Load(const Batch& batch, const BuiltBatch& built) {
  const std::string id = batch.id.ToString();
  if (pending_rejects_ && pending_rejects_->first == id) {
    SLUICE_RETURN_IF_ERROR(
        errors_->Put(pending_rejects_->second.key, pending_rejects_->second.data));
    pending_rejects_.reset();
    return Status::Ok();
  }
  if (!loader_) {
    warehouse::LoaderOptions lo;
    lo.resolver = resolver_;
    SLUICE_ASSIGN_OR_RETURN(loader_, warehouse::OpenLoader(config_, lo));
  }
  if (!built.rows || built.rows->empty()) return Status::Ok();
  warehouse::LoadBatch lb;
  lb.batch_id = id;
  size_t staged = 0;
  for (const auto& o : built.outputs) {
    if (o.kind != OutputKind::kStaged) continue;
    lb.staged_url = o.store->Describe() + "/" + o.key;
    ++staged;
  }
  if (config_.engine == warehouse::Engine::kRedshift && staged > 1) {
    return Status::FailedPrecondition(
        "batch " + id + ": redshift loads one staged object per batch; this batch has " +
        std::to_string(staged) + " (one per set of partition keys)");
  }
  lb.rows = built.rows->Project(config_.columns);
  SLUICE_ASSIGN_OR_RETURN(warehouse::LoadResult loaded, loader_->Load(lb));
  rows_loaded_ += loaded.rows_loaded;
  const std::vector<std::string> labels{stream_, std::to_string(batch.id.partition),
                                        warehouse::EngineName(config_.engine)};
  if (loaded.outcome == warehouse::LoadOutcome::kSkipped) {
    Metrics().warehouse_ledger_skips.With(labels).Inc();
  } else {
    Metrics().delivery_to_redshift_success.With(labels).Inc();
    Metrics().delivery_to_redshift_records.With(labels).Inc(loaded.rows_loaded);
    uint64_t bytes = 0;
    for (const auto& o : built.outputs) {
      if (o.kind == OutputKind::kStaged) bytes += o.data.size();
    }
    Metrics().delivery_to_redshift_bytes.With(labels).Inc(bytes);
  }
  if (loaded.outcome == warehouse::LoadOutcome::kSkipped) {
    spdlog::info("stream {}: batch {} is already in the warehouse ledger; skipped", stream_, id);
    return Status::Ok();
  }
  if (loaded.rejected.empty()) return Status::Ok();
  // Rows rejected for their data: one warehouse-failed error record per source record.
  rows_rejected_ += loaded.rejected.size();
  std::string records;
  const int64_t now_ms = clock_->NowMs();
  std::set<uint32_t> done;
  for (const auto& r : loaded.rejected) {
    if (r.row_index >= lb.rows.row_count()) continue;
    const uint32_t rec = lb.rows.source_record(r.row_index);
    if (rec >= batch.records.size() || !done.insert(rec).second) continue;
    ErrorOutputWriter::AppendRecord(batch.records[rec], {1, "Warehouse.DataError", r.error, now_ms},
                                    records);
  }
  SLUICE_ASSIGN_OR_RETURN(
      OutputObject out,
      error_output_.Object(batch, ErrorOutputType::kWarehouseFailed, std::move(records)));
  spdlog::warn("stream {}: batch {}: {} row(s) rejected by the warehouse went to error output",
               stream_, id, loaded.rejected.size());
  Status st = errors_->Put(out.key, out.data);
  if (!st.ok()) {
    pending_rejects_.emplace(id, std::move(out));
    return st;
  }
  return Status::Ok();
}

}  // namespace sluice::pipeline
