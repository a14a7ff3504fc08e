// Firehose S3 prefix expressions (aws-wire-spec.md §3.3): literal text mixed with
// !{timestamp:<Java DateTimeFormatter pattern>}, !{firehose:random-string},
// !{firehose:error-output-type}, !{partitionKeyFromQuery:key}, !{partitionKeyFromLambda:key}.
//
// A template is parsed once (with actionable errors) and evaluated per object. Evaluation is a
// pure function of its inputs, so a redelivered batch gets the same key.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace sluice::config {

struct PrefixContext {
  int64_t timestamp_ms = 0;       // the oldest record's arrival time (UTC)
  int32_t utc_offset_s = 0;       // CustomTimeZone offset at timestamp_ms (prefix timestamps)
  std::string error_output_type;  // e.g. "processing-failed"
  std::map<std::string, std::string> partition_keys_from_query;
  std::map<std::string, std::string> partition_keys_from_lambda;
  uint64_t random_seed = 0;  // derived from the batch id: stable across redelivery
};

class PrefixTemplate {
 public:
  // Parses `text`. `is_error_prefix` permits !{firehose:error-output-type} (and forbids
  // partition keys, as Firehose does).
  static Result<PrefixTemplate> Parse(const std::string& text, bool is_error_prefix);

  // Evaluates the template. Fails if a partition key it names is missing from the context.
  Result<std::string> Evaluate(const PrefixContext& ctx) const;

  // Evaluates with placeholder values ("key", "processing-failed") for every partition key and
  // the error output type, at `timestamp_ms`: what validation checks an object key against.
  Result<std::string> EvaluateSample(int64_t timestamp_ms) const;

  bool has_timestamp() const { return has_timestamp_; }
  bool has_expressions() const {
    return parts_.size() > 1 || (!parts_.empty() && parts_[0].kind != Kind::kLiteral);
  }
  bool uses_partition_keys() const { return uses_partition_keys_; }
  const std::string& text() const { return text_; }

 private:
  enum class Kind { kLiteral, kTimestamp, kRandom, kErrorOutputType, kQueryKey, kLambdaKey };
  struct Part {
    Kind kind;
    std::string value;  // literal text, timestamp pattern, or key name
  };
  std::string text_;
  std::vector<Part> parts_;
  bool has_timestamp_ = false;
  bool uses_partition_keys_ = false;
};

// Formats `epoch_ms` (UTC) with a Java DateTimeFormatter-style pattern: y, M, d, H, m, s, S, D
// letters (repeat count = width; yy = two-digit year), 'quoted literal', '' for a quote; any other
// non-letter is literal. Letters outside that set are an InvalidArgument.
Result<std::string> FormatTimestamp(const std::string& pattern, int64_t epoch_ms);
// Checks a pattern without formatting.
Status ValidateTimestampPattern(const std::string& pattern);

}  // namespace sluice::config
