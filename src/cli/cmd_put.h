// `sluice put`: sends newline-delimited records from files or stdin to a Firehose-compatible
// endpoint with PutRecordBatch, or with --kinesis to a Kinesis data stream with PutRecords,
// retrying what failed (client/record_sender.h: batching, retries, progress, summary).
//
// Contract: RunPut returns 0 only when every record read was acknowledged (got a RecordId, or a
// SequenceNumber from Kinesis).
// Each line is one record. By default the record keeps its trailing "\n" (Firehose adds no
// delimiter, so the delivered objects are the input lines concatenated); with
// strip_newline the "\n" (and a "\r" before it) is removed. Empty lines are skipped. Records
// over 1,000 KiB (Kinesis: 1 MiB with the partition key) are reported with file:line and not
// sent. Delivery is at least once: a retried call may duplicate records.
//
// Kinesis partition keys: --partition-key KEY for every record; --partition-key-field PATH takes
// the value at a dotted JSON path of each record (a string as is, a number or boolean as its JSON
// text); a record without a usable value there (not JSON, missing, not a scalar, empty or over
// 256 characters) is sent with a random key and counted in one note. Neither: a random key per
// record.
#pragma once

#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "client/record_sender.h"

namespace CLI {
class App;
}

namespace sluice::cli {

// --stream, --endpoint, --region, the retry and progress flags come from SendOptions.
struct PutOptions : client::SendOptions {
  std::string kinesis;              // --kinesis STREAM: PutRecords to this Kinesis stream
  std::string partition_key_field;  // --partition-key-field JSON.PATH
  std::string partition_key;        // --partition-key KEY
  std::vector<std::string> files;   // positional; empty or "-" means stdin
  bool strip_newline = false;       // --no-newline
  bool quiet = false;               // --quiet: no summary line on success
};

// Exit codes of RunPut.
inline constexpr int kPutExitOk = client::kSendExitOk;
inline constexpr int kPutExitUndelivered =
    client::kSendExitUndelivered;                             // some records not delivered
inline constexpr int kPutExitUsage = client::kSendExitUsage;  // bad options or unreadable input

// Runs `sluice put`. Reads stdin_stream when no files (or "-") are given; writes progress,
// per-record problems and the summary to `err`. Credentials for SigV4 (service "firehose", or
// "kinesis" with --kinesis) come
// from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN; without them requests are
// unsigned.
int RunPut(const PutOptions& options, std::istream* stdin_stream, std::ostream& err);

// Adds the `put` subcommand with its flags bound to `options`; the caller runs RunPut when the
// returned subcommand was parsed. Offered so main and test drivers share one flag definition.
CLI::App* AddPutCommand(CLI::App& app, PutOptions& options);

}  // namespace sluice::cli
