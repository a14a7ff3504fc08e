// What a batch produces: its output objects, what kind each is, and why an error object's
// records failed (the value of !{firehose:error-output-type} in its key).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "objectstore/object_store.h"

namespace sluice::pipeline {

// Why the records of an error object failed; ToString gives Firehose's name, which
// !{firehose:error-output-type} takes in the error prefix.
enum class ErrorOutputType {
  kProcessingFailed,         // "processing-failed": a processor (transform, Lambda) failed it
  kPartitioningFailed,       // "partitioning-failed": its partition keys could not be evaluated
  kActivePartitionExceeded,  // "activePartitionExceeded": past max_active_partitions in a batch
  kDeliveryFailed,           // "delivery-failed": the object store failed for the retry duration
  kWarehouseFailed,          // "warehouse-failed": the warehouse refused or failed to load it
};
std::string_view ToString(ErrorOutputType type);

enum class OutputKind {
  kStaged,  // the delivered records (formatted, compressed)
  kRaw,     // the raw backup: every source record as received (S3BackupMode Enabled)
  kErrors,  // Firehose error records (see ErrorOutputWriter)
};
std::string_view ToString(OutputKind kind);

// One object a batch produces.
struct OutputObject {
  objectstore::ObjectStore* store = nullptr;  // not owned
  std::string key;
  std::string data;
  OutputKind kind = OutputKind::kStaged;
  std::optional<ErrorOutputType> error_type;  // set iff kind == kErrors
};

}  // namespace sluice::pipeline
