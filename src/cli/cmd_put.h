// `sluice put`: sends newline-delimited records from files or stdin to a Firehose-compatible
// endpoint with PutRecordBatch, retrying what failed.
//
// Contract: RunPut returns 0 only when every record read was acknowledged (got a RecordId).
// Each line is one record. By default the record keeps its trailing "\n" (Firehose adds no
// delimiter, so the delivered objects are the input lines concatenated); with
// strip_newline the "\n" (and a "\r" before it) is removed. Empty lines are skipped. Records
// over 1,000 KiB are reported with file:line and not sent. Calls carry at most 500 records and
// 4 MiB of record data. Failed records (FailedPutCount > 0 entries) and whole calls that failed
// with 5xx, 429, a throttling error or a transport error are retried with exponential backoff
// (delay uniform in [d/2, d], d doubling from backoff_base_ms up to backoff_max_ms), at most
// max_retries times per record and for at most retry_timeout_s per batch; other 4xx errors stop
// the run. Delivery is at least once: a retried call may duplicate records.
#pragma once

#include <istream>
#include <ostream>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace sluice::cli {

struct PutOptions {
  std::string stream;                              // --stream (required)
  std::string endpoint = "http://127.0.0.1:4573";  // --endpoint
  std::string region;  // --region; empty: AWS_REGION, AWS_DEFAULT_REGION, then us-east-1
  std::vector<std::string> files;  // positional; empty or "-" means stdin
  bool strip_newline = false;      // --no-newline
  int max_retries = 8;             // --max-retries: extra attempts per record
  double retry_timeout_s = 60;     // --retry-timeout: retry budget per batch, seconds
  int backoff_base_ms = 100;       // --backoff-base-ms: first backoff, doubling
  int backoff_max_ms = 5'000;      // --backoff-max-ms: backoff cap
  double request_timeout_s = 30;   // --request-timeout: one HTTP exchange
  enum class Progress { kAuto, kAlways, kNever };
  Progress progress = Progress::kAuto;  // --progress / --no-progress; auto: stderr is a terminal
  bool quiet = false;                   // --quiet: no summary line on success
};

// Exit codes of RunPut.
inline constexpr int kPutExitOk = 0;
inline constexpr int kPutExitUndelivered = 1;  // some records were not delivered
inline constexpr int kPutExitUsage = 2;        // bad options or unreadable input; nothing sent

// Runs `sluice put`. Reads stdin_stream when no files (or "-") are given; writes progress,
// per-record problems and the summary to `err`. Credentials for SigV4 (service "firehose") come
// from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN; without them requests are
// unsigned.
int RunPut(const PutOptions& options, std::istream* stdin_stream, std::ostream& err);

// Adds the `put` subcommand with its flags bound to `options`; the caller runs RunPut when the
// returned subcommand was parsed. Offered so main and test drivers share one flag definition.
CLI::App* AddPutCommand(CLI::App& app, PutOptions& options);

}  // namespace sluice::cli
