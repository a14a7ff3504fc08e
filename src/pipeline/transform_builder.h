// TransformBuilder: the batch builder of a stream with processors, a row format, compression, a
// raw backup or error output (issue 3). For one batch it produces:
//   - staged objects: the formatted Ok rows, one object per group of partition keys, compressed;
//   - a raw backup object with every source record as received (S3BackupMode Enabled);
//   - a processing-failed error object: one Firehose error record (JSON line) per failed record;
//   - optionally (collect_rows), the Ok rows as a typed row set, for a warehouse.
// Dropped records go nowhere. Deterministic per batch (keys always; bytes except the
// attemptEndingTimestamp of error records), so redelivery rewrites the same keys.
#pragma once

#include <memory>
#include <optional>

#include "compress/compress.h"
#include "jq/metadata_extractor.h"
#include "observe/metrics.h"
#include "pipeline/delivery_worker.h"
#include "transform/pipeline.h"

namespace sluice::pipeline {

struct TransformStores {
  objectstore::ObjectStore* staged = nullptr;  // required
  objectstore::ObjectStore* raw = nullptr;     // null: no raw backup
  objectstore::ObjectStore* errors = nullptr;  // where error output goes (default: staged)
};

// Counters of record outcomes, for metrics and tests.
struct TransformStats {
  std::atomic<uint64_t> ok{0};
  std::atomic<uint64_t> dropped{0};
  std::atomic<uint64_t> failed{0};
};

// Builds (and discards) the stream's processor chain, formatter and compression: every error a
// stream's processing configuration can have, reported before the stream starts.
Status ValidateProcessing(const config::StreamConfig& stream);

class TransformBuilder : public BatchBuilder {
 public:
  // `collect_rows`: Build also returns the batch's Ok rows (BuiltBatch::rows) for a warehouse
  // sink: with dynamic partitioning, the rows of every partition, in arrival order.
  static Result<std::unique_ptr<TransformBuilder>> Create(const config::StreamConfig& stream,
                                                          TransformStores stores,
                                                          transform::ChainOptions options,
                                                          bool collect_rows = false);
  Result<BuiltBatch> Build(const Batch& batch) override;
  const TransformStats& stats() const { return stats_; }

 private:
  TransformBuilder(KeyMaker keys, TransformStores stores, compress::Format compression,
                   std::unique_ptr<transform::Chain> chain, bool raw_enabled)
      : BatchBuilder(keys, stores.errors),
        keys_(std::move(keys)),
        stores_(stores),
        compression_(compression),
        chain_(std::move(chain)),
        raw_enabled_(raw_enabled) {}

  KeyMaker keys_;
  TransformStores stores_;
  compress::Format compression_;
  std::unique_ptr<transform::Chain> chain_;
  bool raw_enabled_;
  bool collect_rows_ = false;
  std::unique_ptr<jq::MetadataExtractor> extractor_;  // dynamic partitioning, if configured
  size_t max_active_partitions_ = 500;
  const Clock* clock_ = &Clock::System();
  TransformStats stats_;
  // Metric series of the stream (pipeline/metrics.h), set by Create.
  struct MetricHandles {
    explicit MetricHandles(const std::string& stream);
    observe::Histogram& duration;
    observe::Counter &success, &ok_records, &ok_bytes, &failed_records, &dropped_records;
    observe::Gauge& partitions;
    observe::Counter& partitions_exceeded;
  };
  std::optional<MetricHandles> metrics_;
};

}  // namespace sluice::pipeline
