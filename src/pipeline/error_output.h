// ErrorOutputWriter: the one producer of Firehose error output. Every error record (one JSON line
// per failed source record, the format of transform/error_record.h) and every error object
// (under the error prefix, with !{firehose:error-output-type}) of a delivery stream comes from
// here: processing-failed, partitioning-failed and activePartitionExceeded records of the
// TransformBuilder, delivery-failed batches of the DeliveryWorker, warehouse-failed rows and
// batches of the WarehouseSink.
// Thread safety: const methods only; safe to share.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "journal/journal.h"
#include "objectstore/object_store.h"
#include "pipeline/object_key.h"
#include "pipeline/output.h"
#include "transform/pipeline.h"

namespace sluice::pipeline {

struct Batch;

// The fields of an error record that are not the source record's own.
struct ErrorDetail {
  uint32_t attempts = 1;
  std::string_view code;     // errorCode, "<Destination>.<Problem>" (S3.AccessDenied)
  std::string_view message;  // errorMessage
  int64_t attempt_ending_ms = 0;
  std::string_view lambda_arn;  // omitted when empty
};

// The errorCode for a batch whose delivery failed with `cause`, in Firehose's
// "<Destination>.<Problem>" style: S3.* for delivery-failed, Warehouse.* otherwise.
std::string ErrorCodeFor(ErrorOutputType type, const Status& cause);

class ErrorOutputWriter {
 public:
  // `store`: where error objects go (not owned).
  ErrorOutputWriter(KeyMaker keys, objectstore::ObjectStore* store)
      : keys_(std::move(keys)), store_(store) {}

  // Appends the error record of `source` and a trailing '\n'.
  static void AppendRecord(const journal::StoredRecord& source, const ErrorDetail& detail,
                           std::string& out);
  // Appends the error records of every ProcessingFailed record of a processed batch, in batch
  // order (each with its own outcome's code, message, attempts and Lambda ARN). Returns how many.
  static size_t AppendProcessingFailures(const std::vector<transform::SourceRecord>& sources,
                                         const transform::BatchResult& result, std::string& out);

  // The error object of `type` for `batch` holding `records` (error records, as appended above).
  Result<OutputObject> Object(const Batch& batch, ErrorOutputType type, std::string records) const;
  // The error object of `type` with one record per source record of `batch`, all with `detail`.
  Result<OutputObject> ForBatch(const Batch& batch, ErrorOutputType type,
                                const ErrorDetail& detail) const;

  objectstore::ObjectStore* store() const { return store_; }

 private:
  KeyMaker keys_;
  objectstore::ObjectStore* store_;
};

}  // namespace sluice::pipeline
