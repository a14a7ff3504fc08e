// The seam between the API layer and the rest of Sluice. The api/ module parses and validates
// requests, calls a Backend, and maps its Status codes to AWS errors in one table
// (api/errors.h). server/ implements Backend on the journal and the stream registry; tests fake it.
//
// Status code mapping used by the API layer:
//   kNotFound           -> ResourceNotFoundException 400
//   kAlreadyExists      -> ResourceInUseException 400
//   kInvalidArgument    -> InvalidArgumentException 400
//   kFailedPrecondition -> ResourceInUseException 400
//   kResourceExhausted  -> LimitExceededException 400
//   kUnavailable        -> ServiceUnavailableException 503
//   kAborted            -> ConcurrentModificationException 400
//   anything else       -> InternalFailure 500 (the handler logs the detail, answers without it)
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/stream_config.h"

namespace sluice::api {

// The outcome of one record of a Put: either a RecordId, or an error code and message
// (ServiceUnavailableException "Slow down." when the disk quota is reached, or InternalFailure).
struct PutEntry {
  std::string record_id;   // set when the record is durable
  std::string error_code;  // set when it is not
  std::string error_message;
  bool ok() const { return error_code.empty(); }
};

struct StreamInfo {
  config::StreamConfig config;
  std::string status = "ACTIVE";  // CREATING | ACTIVE | DELETING ...
  std::string arn;                // arn:aws:firehose:<region>:<account>:deliverystream/<name>
};

using PutCallback = std::function<void(Result<std::vector<PutEntry>>)>;

class Backend {
 public:
  virtual ~Backend() = default;
  // Creates and starts a stream; it is persisted and survives restarts. Returns its ARN.
  virtual Result<std::string> CreateStream(config::StreamConfig config) = 0;
  virtual Status DeleteStream(const std::string& name) = 0;
  virtual Result<StreamInfo> DescribeStream(const std::string& name) = 0;
  // All stream names, sorted.
  virtual std::vector<std::string> ListStreams() = 0;
  // Appends `records` (already base64-decoded and validated) to the stream. `done` runs exactly
  // once, possibly on another thread, with one entry per record in request order, and only after
  // every ok entry is durable. A whole-call error (unknown stream) comes as a Status.
  virtual void Put(const std::string& stream, std::vector<std::string> records,
                   PutCallback done) = 0;
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
