// The typed configuration of a delivery stream, whether it came from the YAML config file or
// from the Firehose CreateDeliveryStream API. Defaults and bounds live here, in one place.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "compress/compress.h"
#include "transform/format.h"
#include "transform/processor_spec.h"
#include "warehouse/config.h"

namespace sluice::config {

// Firehose BufferingHints. SizeInMBs 1..128 (default 5), IntervalInSeconds 0..900 (default 300).
struct Buffering {
  static constexpr uint32_t kDefaultSizeMb = 5;
  static constexpr uint32_t kMinSizeMb = 1;
  static constexpr uint32_t kMaxSizeMb = 128;
  static constexpr uint32_t kDefaultIntervalS = 300;
  static constexpr uint32_t kMaxIntervalS = 900;
  uint32_t size_mb = kDefaultSizeMb;
  uint32_t interval_s = kDefaultIntervalS;
};

// Where objects go: a bucket URL ("file:///abs/dir", "file://./rel/dir", "s3://bucket") and a
// Firehose prefix expression (may contain !{timestamp:...}, !{firehose:...} expressions).
struct ObjectDestination {
  std::string url;
  std::string prefix;
  // S3-compatible stores only.
  std::string endpoint;
  std::string region;
  bool path_style = false;
  bool empty() const { return url.empty(); }
};

// One entry of a stream's processor chain, its parameters typed (parsed once, by the transform
// module's parameter tables, when the config is loaded or the API creates the stream).
using ProcessorSpec = transform::ProcessorSpec;

// Firehose DeliveryStreamType: where a delivery stream's records come from.
enum class SourceType : uint8_t { kDirectPut, kKinesisStreamAsSource, kMSKAsSource };
// "DirectPut", "KinesisStreamAsSource", "MSKAsSource".
const char* SourceTypeName(SourceType type);

struct StreamConfig {
  std::string name;      // [a-zA-Z0-9_.-]{1,64}
  std::string role_arn;  // RoleARN given to CreateDeliveryStream (echoed back)
  SourceType type = SourceType::kDirectPut;
  // kKinesisStreamAsSource: the Kinesis stream read (one delivery worker per shard; `partitions`
  // does not apply).
  std::string source_stream;
  uint32_t partitions = 1;  // journal partitions (delivery workers)
  Buffering buffering;
  ObjectDestination staged;         // Firehose "Prefix": the delivered objects
  ObjectDestination raw;            // S3BackupMode Enabled: source records as received
  std::string error_output_prefix;  // ErrorOutputPrefix (in the staged bucket unless errors.url)
  ObjectDestination errors;         // optional separate bucket for error output
  compress::Format compression = compress::Format::kUncompressed;  // Firehose CompressionFormat
  std::optional<std::string> file_extension;
  std::string custom_time_zone = "UTC";
  uint32_t retry_duration_s = 86400;  // give up on a store after this long (Firehose: 24 h)
  // Journal retention of delivered data: segments older than retention_hours, or past
  // retention_mb (per stream, shared equally by its partitions), are deleted oldest first.
  uint32_t retention_hours = 24;
  uint32_t retention_mb = 10240;
  uint32_t max_active_partitions = 500;  // dynamic partitioning: distinct prefixes per buffer
  std::vector<ProcessorSpec> processors;
  // Output format of the staged objects: raw (concatenate as sent, the default), csv (with its
  // options) or jsonl; parsed once by config/.
  transform::FormatSpec format;
  // The warehouse destination, if any: parsed and validated by config/ (its columns default to
  // the schema processor's plus rules' `set` columns).
  std::optional<warehouse::WarehouseConfig> warehouse;
  std::map<std::string, std::string> tags;
};

// What Sluice records about a delivery stream beside its configuration — its state, never set by
// the user: kept in the API-created stream's file next to its configuration, and in memory for a
// stream of the config file.
struct StreamState {
  bool from_api = false;            // created through CreateDeliveryStream (persisted by Sluice)
  uint64_t version = 1;             // Firehose VersionId; bumps on every configuration change
  int64_t create_timestamp_ms = 0;  // CreateTimestamp; also the stream's incarnation in RecordIds
};

// A delivery stream as persisted: its configuration and its state.
struct StreamDefinition {
  StreamConfig config;
  StreamState state;
};

}  // namespace sluice::config
