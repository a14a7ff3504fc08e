// Firehose's S3 key layout (aws-wire-spec.md §3.2–3.3), computed from a batch so that a
// redelivered batch gets exactly the same key:
//   <evaluated prefix><stream>-<version>-YYYY-MM-dd-HH-mm-ss-<id><extension>
// The timestamp is the oldest record's arrival (UTC); <id> is a UUID-shaped digest of the batch id.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "common/status.h"
#include "config/prefix_template.h"
#include "config/stream_config.h"
#include "config/time_zone.h"
#include "pipeline/output.h"

namespace sluice::pipeline {

// Identifies a batch forever: stream, partition and the half-open offset range [first, end).
struct BatchId {
  std::string stream;
  uint32_t partition = 0;
  uint64_t first = 0;
  uint64_t end = 0;
  std::string group;             // set for the second and later output groups of one batch
  std::string ToString() const;  // "orders/0/100-200" (+ "#<group>")
  // 8-4-4-4-12 lowercase hex of SHA-256(ToString()).
  std::string Uuid() const;
  uint64_t Seed() const;  // for !{firehose:random-string}
};

class KeyMaker {
 public:
  // REQUIRES: the stream's prefixes were validated (config::ValidateStream).
  static Result<KeyMaker> Create(const config::StreamConfig& stream);

  // Key of the delivered (staged) object.
  Result<std::string> StagedKey(const BatchId& batch, uint64_t version, int64_t oldest_ms,
                                const std::map<std::string, std::string>& query_keys = {},
                                const std::map<std::string, std::string>& lambda_keys = {}) const;
  // Key of the raw backup object (S3BackupMode Enabled).
  Result<std::string> RawKey(const BatchId& batch, uint64_t version, int64_t oldest_ms) const;
  // Key of an error-output object; !{firehose:error-output-type} is ToString(type).
  Result<std::string> ErrorKey(const BatchId& batch, uint64_t version, int64_t oldest_ms,
                               ErrorOutputType type) const;
  const std::string& extension() const { return extension_; }

 private:
  Result<std::string> Name(const BatchId& batch, uint64_t version, int64_t oldest_ms) const;
  std::string stream_;
  config::PrefixTemplate staged_;
  config::PrefixTemplate raw_;
  config::PrefixTemplate error_;
  bool error_prefix_set_ = false;
  std::string extension_;
  config::TimeZone zone_;  // CustomTimeZone: prefix timestamps are evaluated in it
};

}  // namespace sluice::pipeline
