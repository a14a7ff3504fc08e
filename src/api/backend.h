// The seam between the Firehose API and the rest of Sluice. The api/ module parses and validates
// requests, calls a Backend, and maps its Status codes to AWS errors in the Firehose handler's one
// error table (firehose_handler.cc); the Backend speaks only Status codes and positions, never AWS
// error names, ARNs or RecordIds. server/ implements it on the delivery streams and the streams/
// service; tests fake it.
//
// Whole-call Status codes (the handler words the message; a Backend's own message is used only
// where noted):
//   kNotFound           no such delivery stream
//   kAlreadyExists      a delivery stream of that name exists
//   kInvalidArgument    the configuration does not validate (message shown)
//   kFailedPrecondition the stream cannot be changed this way (message shown)
//   kResourceExhausted  a limit is reached (message shown)
//   kUnavailable        the server is stopping or its disk failed (message shown)
//   kAborted            the stream's version moved on (UpdateDestination)
//   anything else       an internal failure (logged with the request id, not shown)
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/stream_config.h"
#include "journal/record_batch.h"

namespace sluice::api {

// The outcome of one record of a Put: durable at (shard, offset) of the stream's ingest stream, or
// not stored — kResourceExhausted (the journal's quota of undelivered data is reached) or
// kUnavailable (the disk failed); the client may retry either.
struct PutEntry {
  Status status;
  uint32_t shard = 0;
  uint64_t offset = 0;
  bool ok() const { return status.ok(); }
};

struct PutResult {
  // Distinguishes this stream from an earlier one of the same name (its creation time, ms).
  uint64_t incarnation = 0;
  std::vector<PutEntry> entries;  // one per record, in request order
};

enum class DeliveryStreamStatus : uint8_t { kCreating, kActive, kDeleting };

struct StreamInfo {
  config::StreamConfig config;
  config::StreamState state;
  DeliveryStreamStatus status = DeliveryStreamStatus::kActive;
  std::string arn;  // filled in by the handler, not the Backend
};

using PutCallback = std::function<void(Result<PutResult>)>;

class Backend {
 public:
  virtual ~Backend() = default;
  // Creates and starts a stream created at `create_timestamp_ms` (version 1); it is persisted
  // and survives restarts.
  virtual Status CreateStream(config::StreamConfig config, int64_t create_timestamp_ms) = 0;
  virtual Status DeleteStream(const std::string& name) = 0;
  virtual Result<StreamInfo> DescribeStream(const std::string& name) = 0;
  // All stream names, sorted.
  virtual std::vector<std::string> ListStreams() = 0;
  // Appends `records` (decoded from base64 straight into the batch while parsing, and validated)
  // to the stream; the batch moves on to the journal without a copy per record. `done` runs
  // exactly once, possibly on another thread, with one entry per record in request order, and
  // only after every ok entry is durable. A whole-call error (unknown stream) comes as a Status.
  virtual void Put(const std::string& stream, journal::RecordBatch records, PutCallback done) = 0;
  // Replaces a stream's configuration with `updated` (its destination merged by the caller) if
  // the stream's version is still `expected_version`; the version then increments, and the
  // change takes effect at the next batch without losing a record. Aborted when the version has
  // moved on; NotFound; FailedPrecondition for a stream of the config file; InvalidArgument for
  // a configuration that does not validate.
  virtual Status UpdateDestination(const config::StreamConfig& updated,
                                   uint64_t expected_version) = 0;
  // Adds (or overwrites) the tags `add` and removes the keys `remove` of a stream, atomically and
  // durably. ResourceExhausted when the stream would have more than kMaxTags tags (nothing
  // changes); NotFound; FailedPrecondition for a stream whose tags only its config file sets.
  static constexpr size_t kMaxTags = 50;
  virtual Status UpdateTags(const std::string& name, const std::map<std::string, std::string>& add,
                            const std::vector<std::string>& remove) = 0;
  // Region and account for ARNs.
  virtual std::string Region() const { return "us-east-1"; }
  virtual std::string AccountId() const { return "000000000000"; }
};

}  // namespace sluice::api
