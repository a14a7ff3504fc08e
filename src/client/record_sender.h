// The producer side shared by `sluice put` and `sluice replay`: sends records to a
// Firehose-compatible endpoint with PutRecordBatch, or to a Kinesis Data Streams endpoint with
// PutRecords, retrying what failed, with a progress bar on a terminal and one summary format.
//
// Contract of SendRecords: records are sent in the order the source yields them, in calls of at
// most 500 records and 4 MiB of record data (Firehose), or 500 records and 5 MiB of data and
// partition keys (Kinesis). Failed records (FailedPutCount / FailedRecordCount > 0 entries) and
// whole calls that failed with 5xx, 429, a throttling error or a transport error are retried with
// exponential backoff (delay uniform in [d/2, d], d doubling from backoff_base_ms up to
// backoff_max_ms), at most max_retries times per record and for at most retry_timeout_s per
// batch; other 4xx errors stop the run. A record counts as delivered only when it got a RecordId
// (Firehose) or a SequenceNumber (Kinesis): the server made it durable. Delivery is at least once:
// a retried call may duplicate records.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "client/aws_json.h"
#include "common/status.h"

namespace sluice::client {

// Firehose Direct PUT record limit (aws-wire-spec.md §1.4): 1,000 KiB before base64.
inline constexpr size_t kMaxRecordBytes = 1'024'000;
// Kinesis Data Streams record limit (aws-wire-spec.md §2.3): 1 MiB of data and partition key.
inline constexpr size_t kKinesisMaxRecordBytes = 1024 * 1024;
// A Kinesis partition key: 1 to 256 characters.
inline constexpr size_t kKinesisMaxPartitionKeyChars = 256;

// Records per PutRecordBatch / PutRecords call.
inline constexpr size_t kMaxBatchRecords = 500;

// The record limit of `api`: kMaxRecordBytes, or kKinesisMaxRecordBytes (data + partition key).
size_t MaxRecordBytes(AwsApi api);

struct SendOptions {
  std::string command = "put";     // messages start "sluice <command>: "
  AwsApi api = AwsApi::kFirehose;  // PutRecordBatch, or PutRecords (--kinesis)
  std::string stream;              // --stream (or --kinesis): a name; for Kinesis also a StreamARN
  std::string endpoint = "http://127.0.0.1:4573";  // --endpoint
  std::string region;             // --region; empty: AWS_REGION, AWS_DEFAULT_REGION, then us-east-1
  int max_retries = 8;            // --max-retries: extra attempts per record
  double retry_timeout_s = 60;    // --retry-timeout: retry budget per batch, seconds
  int backoff_base_ms = 100;      // --backoff-base-ms: first backoff, doubling
  int backoff_max_ms = 5'000;     // --backoff-max-ms: backoff cap
  double request_timeout_s = 30;  // --request-timeout: one HTTP exchange
  enum class Progress { kAuto, kAlways, kNever };
  Progress progress = Progress::kAuto;  // --progress / --no-progress; auto: stderr is a terminal
};

struct OutgoingRecord {
  std::string data;
  std::string origin;  // where it came from, for messages: "file:line", "partition 0 offset 7"
  std::string partition_key;  // Kinesis only: 1 to 256 characters
};

// Yields the records to send, in order. `report` prints a problem on its own line (above the
// progress bar). Returns nullopt at the end; a source that fails reports it and ends, and keeps
// what it needs for its own summary.
class RecordSource {
 public:
  virtual ~RecordSource() = default;
  virtual std::optional<OutgoingRecord> Next(
      const std::function<void(const std::string&)>& report) = 0;
};

struct SendStats {
  uint64_t read = 0;       // records taken from the source
  uint64_t delivered = 0;  // records that got a RecordId (Kinesis: a SequenceNumber)
  uint64_t failed = 0;     // records given up on after retries
  uint64_t not_sent = 0;   // records not acknowledged when the run stopped early
  uint64_t requests = 0;
  uint64_t retried_records = 0;
  double elapsed_s = 0;
  std::string stop_reason;  // why the run stopped early (empty if it did not)
  std::map<std::string, uint64_t> failures_by_error;
};

// OK if the stream name and the retry settings are valid.
[[nodiscard]] Status ValidateSendOptions(const SendOptions& options);
// True if a progress bar is drawn: --progress, or stderr is a terminal unless --no-progress.
bool ShowsProgress(const SendOptions& options);

// Validates the options and sends every record of `source` (see the file comment). `total`, if
// known (0 otherwise), sizes the progress bar. Fails, with nothing sent, on bad options or when
// no HTTP client can be created.
Result<SendStats> SendRecords(const SendOptions& options, RecordSource& source, uint64_t total,
                              std::ostream& err);

// A problem of the run beyond what SendRecords counts: `records` more undelivered records (may be
// 0) and the summary's words for it ("2 over the 1,000 KiB record limit").
struct ExtraProblem {
  uint64_t records = 0;
  std::string text;
};
// Bytes per call: record data (Firehose, 4 MiB) or data and partition keys (Kinesis, 5 MiB).
size_t MaxBatchBytes(AwsApi api);

// The outcome of one PutRecordBatch / PutRecords exchange.
struct PutAttempt {
  enum class Kind { kAnswered, kRetryable, kFatal };
  Kind kind = Kind::kAnswered;
  std::string error;  // for kRetryable and kFatal: what the server or transport said
  // For kAnswered: per request entry, empty when it has a RecordId (Kinesis: a SequenceNumber),
  // else "ErrorCode: message".
  std::vector<std::string> entry_errors;
};

// Sends records[i] for each i of `pending` (in that order; at most kMaxBatchRecords and
// MaxBatchBytes) in one call, for a producer with its own retry loop (`sluice agent`).
// Transport errors, 5xx, 429, throttling and a malformed answer are kRetryable; other errors
// kFatal.
PutAttempt PutBatchOnce(AwsJsonClient& client, AwsApi api, const std::string& stream,
                        const std::vector<OutgoingRecord>& records,
                        const std::vector<size_t>& pending);

// Exit codes of put and replay.
inline constexpr int kSendExitOk = 0;
inline constexpr int kSendExitUndelivered = 1;  // some records were not delivered
inline constexpr int kSendExitUsage = 2;        // bad options or unreadable input; nothing sent

// Prints the run's summary to `err` and returns kSendExitOk when every record was delivered and
// there is no extra problem (nothing printed then if `quiet`), else kSendExitUndelivered.
int PrintSendSummary(const SendOptions& options, const SendStats& stats,
                     const std::vector<ExtraProblem>& extra, bool quiet, std::ostream& err);

// "1,234,567".
std::string Grouped(uint64_t n);

}  // namespace sluice::client
