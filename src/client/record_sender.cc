#include "client/record_sender.h"

#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <utility>

#include "client/aws_json.h"
#include "common/base64.h"
#include "common/clock.h"
#include "common/json_writer.h"
#include "common/retrier.h"

namespace sluice::client {
namespace {

// What differs between the two batch calls; everything else (batching, retries, summary) is
// shared.
struct BatchFormat {
  std::string_view operation;    // PutRecordBatch | PutRecords
  std::string_view stream_key;   // DeliveryStreamName | StreamName
  std::string_view entries_key;  // RequestResponses | Records
  std::string_view success_key;  // RecordId | SequenceNumber
  size_t max_batch_bytes;        // per call: record data (Firehose) or data + keys (Kinesis)
  bool partition_keys;           // entries carry PartitionKey
  size_t max_stream_name;        // 64 | 128
};

// Firehose Direct PUT (aws-wire-spec.md §1.4) and Kinesis PutRecords (§2.3) limits.
constexpr BatchFormat kFirehoseBatch{"PutRecordBatch",
                                     "DeliveryStreamName",
                                     "RequestResponses",
                                     "RecordId",
                                     4 * 1024 * 1024,
                                     false,
                                     64};
constexpr BatchFormat kKinesisBatch{"PutRecords",    "StreamName", "Records", "SequenceNumber",
                                    5 * 1024 * 1024, true,         128};

const BatchFormat& FormatOf(AwsApi api) {
  return api == AwsApi::kKinesis ? kKinesisBatch : kFirehoseBatch;
}

using SteadyClock = std::chrono::steady_clock;

double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

bool IsKinesisArn(const std::string& name) {
  return name.rfind("arn:", 0) == 0;
}

bool ValidStreamName(const std::string& name, size_t max_size) {
  if (name.empty() || name.size() > max_size) return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '.' || c == '-';
  });
}

struct PendingRecord {
  std::string data;
  std::string origin;
  std::string partition_key;
  int attempts = 0;
  std::string last_error;  // "ErrorCode: ErrorMessage" of the last failed attempt
};

// A one-line progress bar on a terminal: records acknowledged / total, and the rate.
class ProgressBar {
 public:
  ProgressBar(bool enabled, std::ostream& out) : enabled_(enabled), out_(out) {}

  void SetTotal(uint64_t total) { total_ = total; }

  void Update(uint64_t done, bool force = false) {
    if (!enabled_) return;
    const auto now = SteadyClock::now();
    if (!force && drawn_ && now - last_draw_ < std::chrono::milliseconds(200)) return;
    last_draw_ = now;
    drawn_ = true;
    const double elapsed = std::max(1e-3, SecondsSince(start_));
    const uint64_t rate = static_cast<uint64_t>(static_cast<double>(done) / elapsed);
    std::string line = "\r\x1b[K";
    if (total_ > 0) {
      constexpr int kWidth = 30;
      const double fraction =
          std::min(1.0, static_cast<double>(done) / static_cast<double>(total_));
      const int filled = static_cast<int>(fraction * kWidth);
      line += "[" + std::string(filled, '=') + std::string(kWidth - filled, ' ') + "] ";
      line += Grouped(done) + "/" + Grouped(total_) + " records";
    } else {
      line += Grouped(done) + " records";
    }
    line += "  " + Grouped(rate) + " rec/s";
    out_ << line << std::flush;
  }

  // Removes the bar so that a message can be printed on a clean line; Update redraws it.
  void Clear() {
    if (enabled_ && drawn_) out_ << "\r\x1b[K" << std::flush;
    drawn_ = false;
  }

 private:
  bool enabled_;
  std::ostream& out_;
  uint64_t total_ = 0;
  SteadyClock::time_point start_ = SteadyClock::now();
  SteadyClock::time_point last_draw_;
  bool drawn_ = false;
};

using CallResult = PutAttempt;

CallResult ParseResponse(const BatchFormat& format, const Result<AwsReply>& response,
                         size_t request_entries) {
  CallResult result;
  if (!response.ok()) {
    result.kind = CallResult::Kind::kRetryable;
    result.error = response.status().message();
    return result;
  }
  if (!response->ok()) {
    result.error = response->Describe();
    result.kind = response->Retryable() ? CallResult::Kind::kRetryable : CallResult::Kind::kFatal;
    return result;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::array entries;
  if (parser.parse(response->body).get(doc) || doc[format.entries_key].get(entries) ||
      entries.size() != request_entries) {
    // The records may or may not be durable; sending them again is at-least-once.
    result.kind = CallResult::Kind::kRetryable;
    result.error = "malformed " + std::string(format.operation) +
                   " response: " + response->body.substr(0, 200);
    return result;
  }
  for (simdjson::dom::element entry : entries) {
    std::string_view value;
    if (!entry[format.success_key].get(value) && !value.empty()) {
      result.entry_errors.emplace_back();
      continue;
    }
    std::string error = "unknown error";
    if (!entry["ErrorCode"].get(value)) error = std::string(value);
    if (!entry["ErrorMessage"].get(value)) error += ": " + std::string(value);
    result.entry_errors.push_back(std::move(error));
  }
  return result;
}

// R: PendingRecord or OutgoingRecord (data, partition_key).
template <typename R>
std::string BuildBody(const BatchFormat& format, const std::string& stream,
                      const std::vector<R>& batch, const std::vector<size_t>& pending) {
  std::string body;
  size_t encoded = 64 + stream.size();
  for (size_t i : pending) {
    encoded += 32 + (batch[i].data.size() + 2) / 3 * 4 + batch[i].partition_key.size();
  }
  body.reserve(encoded);
  body += '{';
  json::AppendString(
      body, format.partition_keys && IsKinesisArn(stream) ? "StreamARN" : format.stream_key);
  body += ':';
  json::AppendString(body, stream);
  body += ",\"Records\":[";
  for (size_t k = 0; k < pending.size(); ++k) {
    const R& record = batch[pending[k]];
    if (k > 0) body += ',';
    body += "{\"Data\":\"";
    base64::EncodeTo(record.data, body);
    body += '"';
    if (format.partition_keys) {
      body += ",\"PartitionKey\":";
      json::AppendString(body, record.partition_key);
    }
    body += '}';
  }
  body += "]}";
  return body;
}

// Exponential backoff with equal jitter (uniform in [d/2, d], d doubling from --backoff-base-ms
// up to --backoff-max-ms), at most --max-retries retries, and no sleep past --retry-timeout.
RetryPolicy SendRetryPolicy(const SendOptions& options) {
  RetryPolicy policy;
  policy.initial_backoff_ms = options.backoff_base_ms;
  policy.max_backoff_ms = options.backoff_max_ms;
  policy.jitter = RetryPolicy::Jitter::kEqual;
  policy.max_attempts = static_cast<uint32_t>(options.max_retries) + 1;
  policy.last_attempt_at_budget = false;
  return policy;
}

// Sends records in batches and keeps the counts for the summary. Thread safety: none.
class Putter {
 public:
  Putter(const SendOptions& options, AwsJsonClient& client, ProgressBar& progress,
         std::ostream& err)
      : options_(options),
        format_(FormatOf(options.api)),
        client_(client),
        progress_(progress),
        err_(err),
        retrier_(SendRetryPolicy(options), Clock::System()) {}

  // Sends one batch until every record is acknowledged or its retries are spent. Returns false
  // when the run must stop (a non-retryable error, or the endpoint stayed unreachable); then
  // the records of `batch` not acknowledged are counted in not_sent_.
  bool SendBatch(std::vector<PendingRecord>& batch) {
    std::vector<size_t> pending(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) pending[i] = i;
    bool whole_call_failed = false;
    bool fatal = false;
    std::string fatal_error;
    uint32_t attempt = 0;
    // One attempt sends what is still pending; it fails while anything is.
    auto send = [&]() -> Status {
      ++attempt;
      const std::string body = BuildBody(format_, options_.stream, batch, pending);
      ++requests_;
      if (attempt > 1) retried_records_ += pending.size();
      CallResult call =
          ParseResponse(format_, client_.Call(format_.operation, body), pending.size());
      for (size_t i : pending) ++batch[i].attempts;
      if (call.kind == CallResult::Kind::kFatal) {
        fatal = true;
        fatal_error = call.error;
        return Status::InvalidArgument(call.error);
      }
      std::vector<size_t> still_pending;
      if (call.kind == CallResult::Kind::kRetryable) {
        whole_call_failed = true;
        for (size_t i : pending) batch[i].last_error = call.error;
        still_pending = pending;
      } else {
        whole_call_failed = false;
        for (size_t k = 0; k < pending.size(); ++k) {
          if (call.entry_errors[k].empty()) {
            ++delivered_;
          } else {
            batch[pending[k]].last_error = call.entry_errors[k];
            still_pending.push_back(pending[k]);
          }
        }
      }
      progress_.Update(delivered_);
      pending = std::move(still_pending);
      if (pending.empty()) return Status::Ok();
      return Status::Unavailable(std::to_string(pending.size()) + " record(s) not acknowledged");
    };
    const int64_t retry_timeout_ms = static_cast<int64_t>(options_.retry_timeout_s * 1000.0);
    Retrier::Outcome outcome =
        retrier_.Run(send, [&](const Status&) -> int64_t { return fatal ? 0 : retry_timeout_ms; });
    if (outcome.ok()) return true;
    if (fatal) {
      not_sent_ += pending.size();
      stop_reason_ = fatal_error;
      return false;
    }
    const bool out_of_attempts = static_cast<int>(outcome.attempts) > options_.max_retries;
    GiveUp(batch, pending,
           out_of_attempts ? "after " + std::to_string(outcome.attempts) + " attempts"
                           : "when the retry timeout ran out");
    if (whole_call_failed) {
      stop_reason_ = "the endpoint kept failing; the rest of the input was not sent";
      return false;
    }
    return true;
  }

  uint64_t delivered() const { return delivered_; }
  uint64_t failed() const { return failed_; }
  uint64_t requests() const { return requests_; }
  uint64_t retried_records() const { return retried_records_; }
  uint64_t& not_sent() { return not_sent_; }
  const std::string& stop_reason() const { return stop_reason_; }
  const std::map<std::string, uint64_t>& failures_by_error() const { return failures_by_error_; }

 private:
  void GiveUp(const std::vector<PendingRecord>& batch, const std::vector<size_t>& pending,
              const std::string& when) {
    progress_.Clear();
    std::map<std::string, std::vector<size_t>> by_error;
    for (size_t i : pending) by_error[batch[i].last_error].push_back(i);
    for (const auto& [error, indices] : by_error) {
      failures_by_error_[error] += indices.size();
      err_ << "sluice " << options_.command << ": " << Grouped(indices.size())
           << " record(s) not delivered " << when << ": " << error
           << " (first: " << batch[indices.front()].origin << ")\n";
    }
    failed_ += pending.size();
  }

  const SendOptions& options_;
  const BatchFormat& format_;
  AwsJsonClient& client_;
  ProgressBar& progress_;
  std::ostream& err_;
  Retrier retrier_;
  uint64_t delivered_ = 0;
  uint64_t failed_ = 0;
  uint64_t not_sent_ = 0;
  uint64_t requests_ = 0;
  uint64_t retried_records_ = 0;
  std::string stop_reason_;
  std::map<std::string, uint64_t> failures_by_error_;
};

}  // namespace

std::string Grouped(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

size_t MaxBatchBytes(AwsApi api) {
  return FormatOf(api).max_batch_bytes;
}

PutAttempt PutBatchOnce(AwsJsonClient& client, AwsApi api, const std::string& stream,
                        const std::vector<OutgoingRecord>& records,
                        const std::vector<size_t>& pending) {
  const BatchFormat& format = FormatOf(api);
  return ParseResponse(format,
                       client.Call(format.operation, BuildBody(format, stream, records, pending)),
                       pending.size());
}

size_t MaxRecordBytes(AwsApi api) {
  return api == AwsApi::kKinesis ? kKinesisMaxRecordBytes : kMaxRecordBytes;
}

Status ValidateSendOptions(const SendOptions& options) {
  const BatchFormat& format = FormatOf(options.api);
  const bool kinesis = options.api == AwsApi::kKinesis;
  if (!(kinesis && IsKinesisArn(options.stream)) &&
      !ValidStreamName(options.stream, format.max_stream_name)) {
    return Status::InvalidArgument(
        "invalid " + std::string(kinesis ? "--kinesis" : "--stream") + " '" + options.stream +
        "': need 1 to " + std::to_string(format.max_stream_name) +
        " characters from [a-zA-Z0-9_.-]" + (kinesis ? " (or a StreamARN)" : ""));
  }
  if (options.max_retries < 0 || options.retry_timeout_s < 0 || options.request_timeout_s <= 0) {
    return Status::InvalidArgument(
        "--max-retries and --retry-timeout must be >= 0, --request-timeout > 0");
  }
  return Status::Ok();
}

bool ShowsProgress(const SendOptions& options) {
  return options.progress == SendOptions::Progress::kAlways ||
         (options.progress == SendOptions::Progress::kAuto && isatty(STDERR_FILENO) == 1);
}

Result<SendStats> SendRecords(const SendOptions& options, RecordSource& source, uint64_t total,
                              std::ostream& err) {
  SLUICE_RETURN_IF_ERROR(ValidateSendOptions(options));
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<AwsJsonClient> client,
                          AwsJsonClient::Create(options.api, options.endpoint, options.region,
                                                options.request_timeout_s));
  const BatchFormat& format = FormatOf(options.api);

  ProgressBar progress(ShowsProgress(options), err);
  progress.SetTotal(total);

  Putter putter(options, *client, progress, err);
  const auto start = SteadyClock::now();
  uint64_t read = 0;
  auto report = [&](const std::string& message) {
    progress.Clear();
    err << "sluice " << options.command << ": " << message << "\n";
  };

  std::optional<OutgoingRecord> lookahead;
  bool stopped = false;
  while (!stopped) {
    std::vector<PendingRecord> batch;
    size_t batch_bytes = 0;
    while (batch.size() < kMaxBatchRecords) {
      std::optional<OutgoingRecord> record =
          lookahead ? std::exchange(lookahead, std::nullopt) : source.Next(report);
      if (!record) break;
      const size_t size =
          record->data.size() + (format.partition_keys ? record->partition_key.size() : 0);
      if (!batch.empty() && batch_bytes + size > format.max_batch_bytes) {
        lookahead = std::move(record);
        break;
      }
      ++read;
      batch_bytes += size;
      batch.push_back(PendingRecord{std::move(record->data), std::move(record->origin),
                                    std::move(record->partition_key)});
    }
    if (batch.empty()) break;
    stopped = !putter.SendBatch(batch);
  }
  if (stopped) {
    // Count what was left unsent so the summary names every undelivered record.
    if (lookahead) ++putter.not_sent(), ++read;
    auto ignore = [](const std::string&) {};
    while (source.Next(ignore)) ++putter.not_sent(), ++read;
  }
  progress.Update(putter.delivered(), /*force=*/true);
  progress.Clear();

  SendStats stats;
  stats.read = read;
  stats.delivered = putter.delivered();
  stats.failed = putter.failed();
  stats.not_sent = putter.not_sent();
  stats.requests = putter.requests();
  stats.retried_records = putter.retried_records();
  stats.elapsed_s = SecondsSince(start);
  stats.stop_reason = putter.stop_reason();
  stats.failures_by_error = putter.failures_by_error();
  return stats;
}

int PrintSendSummary(const SendOptions& options, const SendStats& stats,
                     const std::vector<ExtraProblem>& extra, bool quiet, std::ostream& err) {
  uint64_t total = stats.read;
  uint64_t undelivered = stats.failed + stats.not_sent;
  for (const auto& e : extra) {
    total += e.records;
    undelivered += e.records;
  }
  const std::string prefix = "sluice " + options.command + ": ";
  if (undelivered == 0 && extra.empty()) {
    if (!quiet) {
      char seconds[32];
      std::snprintf(seconds, sizeof seconds, "%.2f", stats.elapsed_s);
      err << prefix << "delivered " << Grouped(stats.delivered) << " records to stream '"
          << options.stream << "' in " << seconds << " s (" << Grouped(stats.requests)
          << " requests, " << Grouped(stats.retried_records) << " records retried)\n";
    }
    return kSendExitOk;
  }
  std::ostringstream summary;
  summary << prefix << Grouped(undelivered) << " of " << Grouped(total)
          << " records were NOT delivered to stream '" << options.stream << "':";
  const char* sep = " ";
  if (stats.failed > 0) {
    summary << sep << Grouped(stats.failed) << " failed after retries";
    sep = ", ";
  }
  if (stats.not_sent > 0) {
    summary << sep << Grouped(stats.not_sent) << " not acknowledged when the run stopped";
    sep = ", ";
  }
  for (const auto& e : extra) {
    summary << sep << e.text;
    sep = ", ";
  }
  summary << ".";
  if (!stats.stop_reason.empty()) summary << " Stopped because: " << stats.stop_reason << ".";
  for (const auto& [error, count] : stats.failures_by_error) {
    summary << "\n  " << Grouped(count) << " x " << error;
  }
  err << summary.str() << "\n";
  return kSendExitUndelivered;
}

}  // namespace sluice::client
