// The consumer side of `sluice tail`: reads a Kinesis data stream's shards with ListShards,
// GetShardIterator and GetRecords (AWS JSON 1.1, SigV4 service "kinesis"), so that it works
// against `sluice serve` and against AWS alike.
//
// Contract of TailKinesisStream: every shard's records reach the sink in that shard's order, each
// once (a renewed iterator resumes after the last record given to the sink). Shards are read
// round-robin, one GetRecords call each per round. A closed shard is read to its end (GetRecords
// answers no NextShardIterator) and then its ChildShards are read from their start once every
// parent being read is drained, so that per-key order holds across resharding. Without `follow`
// the call returns once every shard is caught up (a GetRecords with no records and
// MillisBehindLatest 0) or drained; with `follow` it polls until the sink asks to stop, sleeping
// idle_sleep_ms after a round without records. Throttling and 5xx answers are retried with
// exponential backoff; an expired iterator is renewed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"

namespace sluice::client {

// Where each shard's reading starts.
struct TailStart {
  // A sequence number (at it, or after it) reads only the shard holding it.
  enum class Type { kTrimHorizon, kLatest, kAtTimestamp, kAtSequenceNumber, kAfterSequenceNumber };
  Type type = Type::kTrimHorizon;
  int64_t timestamp_ms = 0;     // kAtTimestamp
  std::string sequence_number;  // kAtSequenceNumber, kAfterSequenceNumber
};

struct TailOptions {
  std::string stream;  // a name, or a StreamARN
  std::string endpoint = "http://127.0.0.1:4573";
  std::string region;    // empty: AWS_REGION, AWS_DEFAULT_REGION, then us-east-1
  std::string shard_id;  // empty: every shard; else only this one (its children are not read)
  TailStart from;
  bool follow = false;
  int idle_sleep_ms = 200;     // --follow: pause after a round without records
  int backoff_base_ms = 100;   // first pause after throttling, doubling
  int backoff_max_ms = 5'000;  // largest pause
  double request_timeout_s = 30;
};

struct KinesisRecord {
  std::string shard_id;
  std::string sequence_number;
  std::string partition_key;
  int64_t arrival_ms = 0;  // ApproximateArrivalTimestamp
  std::string data;        // decoded
};

// Returns false to stop reading (e.g. stdout was closed).
using KinesisRecordSink = std::function<bool(const KinesisRecord&)>;

// Reads as the file comment says. NotFound for an unknown stream or shard, InvalidArgument for a
// start the service refuses (a sequence number of no shard, a future timestamp), Unavailable for
// an unreachable endpoint; every message names the stream.
[[nodiscard]] Status TailKinesisStream(const TailOptions& options, const KinesisRecordSink& sink);

}  // namespace sluice::client
