#include "transform/error_record.h"

#include "common/base64.h"
#include "common/json_writer.h"

namespace sluice::transform {

void AppendErrorRecord(const ErrorRecord& r, std::string& out) {
  out += "{\"attemptsMade\":";
  out += std::to_string(r.attempts_made);
  out += ",\"arrivalTimestamp\":";
  out += std::to_string(r.arrival_ms);
  out += ",\"errorCode\":";
  json::AppendString(out, r.error_code);
  out += ",\"errorMessage\":";
  json::AppendString(out, r.error_message);
  out += ",\"attemptEndingTimestamp\":";
  out += std::to_string(r.attempt_ending_ms);
  out += ",\"rawData\":\"";
  base64::EncodeTo(r.raw_data, out);
  out += '"';
  if (!r.lambda_arn.empty()) {
    out += ",\"lambdaArn\":";
    json::AppendString(out, r.lambda_arn);
  }
  out += "}\n";
}

size_t AppendErrorRecords(const std::vector<SourceRecord>& batch, const BatchResult& result,
                          std::string& out) {
  size_t count = 0;
  for (size_t i = 0; i < batch.size() && i < result.records.size(); ++i) {
    const RecordOutcome& o = result.records[i];
    if (o.outcome != Outcome::kProcessingFailed) continue;
    AppendErrorRecord({o.attempts, batch[i].arrival_ms, o.error_code, o.error_message,
                       result.attempt_ending_ms, batch[i].data, o.lambda_arn},
                      out);
    ++count;
  }
  return count;
}

}  // namespace sluice::transform
