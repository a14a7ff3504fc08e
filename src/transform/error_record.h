// Firehose "processing-failed" error records: one JSON object per line, written to the error
// output for every record whose outcome is ProcessingFailed:
//   {"attemptsMade":1,"arrivalTimestamp":1700000000000,"errorCode":"...","errorMessage":"...",
//    "attemptEndingTimestamp":1700000000123,"rawData":"<base64 of the original record>",
//    "lambdaArn":"..."}
// Timestamps are epoch milliseconds (numbers); lambdaArn is present only when a Lambda ran.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "transform/pipeline.h"

namespace sluice::transform {

struct ErrorRecord {
  uint32_t attempts_made = 1;
  int64_t arrival_ms = 0;
  std::string_view error_code;
  std::string_view error_message;
  int64_t attempt_ending_ms = 0;
  std::string_view raw_data;    // the original record bytes (encoded as base64)
  std::string_view lambda_arn;  // omitted when empty
};

// Appends one error record and a trailing '\n'.
void AppendErrorRecord(const ErrorRecord& record, std::string& out);

// Appends the error records of every ProcessingFailed record of a processed batch, in batch
// order. Returns how many were appended.
size_t AppendErrorRecords(const std::vector<SourceRecord>& batch, const BatchResult& result,
                          std::string& out);

}  // namespace sluice::transform
