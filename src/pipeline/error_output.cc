#include "pipeline/error_output.h"

#include "pipeline/delivery_worker.h"
#include "transform/error_record.h"

namespace sluice::pipeline {

std::string_view ToString(ErrorOutputType type) {
  switch (type) {
    case ErrorOutputType::kProcessingFailed: return "processing-failed";
    case ErrorOutputType::kPartitioningFailed: return "partitioning-failed";
    case ErrorOutputType::kActivePartitionExceeded: return "activePartitionExceeded";
    case ErrorOutputType::kDeliveryFailed: return "delivery-failed";
    case ErrorOutputType::kWarehouseFailed: return "warehouse-failed";
  }
  return "unknown";
}

std::string_view ToString(OutputKind kind) {
  switch (kind) {
    case OutputKind::kStaged: return "staged";
    case OutputKind::kRaw: return "raw";
    case OutputKind::kErrors: return "errors";
  }
  return "unknown";
}

std::string ErrorCodeFor(ErrorOutputType type, const Status& cause) {
  const bool store = type == ErrorOutputType::kDeliveryFailed;
  switch (cause.code()) {
    case StatusCode::kFailedPrecondition:
      return store ? "S3.AccessDenied" : "Warehouse.AccessDenied";
    case StatusCode::kNotFound: return store ? "S3.NoSuchBucket" : "Warehouse.TableNotFound";
    case StatusCode::kInvalidArgument:
      return store ? "S3.InvalidRequest" : "Warehouse.InvalidRequest";
    case StatusCode::kUnavailable:
      return store ? "S3.ServiceUnavailable" : "Warehouse.ConnectionFailed";
    default: return std::string(store ? "S3." : "Warehouse.") + StatusCodeName(cause.code());
  }
}

void ErrorOutputWriter::AppendRecord(const journal::StoredRecord& source, const ErrorDetail& detail,
                                     std::string& out) {
  transform::ErrorRecord e;
  e.attempts_made = detail.attempts;
  e.arrival_ms = source.arrival_ms;
  e.error_code = detail.code;
  e.error_message = detail.message;
  e.attempt_ending_ms = detail.attempt_ending_ms;
  e.raw_data = source.data;
  e.lambda_arn = detail.lambda_arn;
  transform::AppendErrorRecord(e, out);
}

size_t ErrorOutputWriter::AppendProcessingFailures(
    const std::vector<transform::SourceRecord>& sources, const transform::BatchResult& result,
    std::string& out) {
  return transform::AppendErrorRecords(sources, result, out);
}

Result<OutputObject> ErrorOutputWriter::Object(const Batch& batch, ErrorOutputType type,
                                               std::string records) const {
  OutputObject out;
  out.store = store_;
  out.kind = OutputKind::kErrors;
  out.error_type = type;
  SLUICE_ASSIGN_OR_RETURN(out.key, keys_.ErrorKey(batch.id, batch.version, batch.oldest_ms, type));
  out.data = std::move(records);
  return out;
}

Result<OutputObject> ErrorOutputWriter::ForBatch(const Batch& batch, ErrorOutputType type,
                                                 const ErrorDetail& detail) const {
  std::string records;
  for (const auto& r : batch.records) AppendRecord(r, detail, records);
  return Object(batch, type, std::move(records));
}

}  // namespace sluice::pipeline
