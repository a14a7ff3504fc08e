// DeliveryStream: a Firehose delivery stream at work — one DeliveryWorker per shard of the ingest
// stream it reads, each a named consumer (DeliveryWorker::kConsumer) of its shard. Create() owns
// the choice of builder (concatenation, or the transform chain) and sink (warehouse), and opens
// the destination stores through the caller's opener, which decides where objects may go.
//
// A Direct PUT delivery stream reads the hidden ingest stream of the same name (created by its
// owner before Create); a delivery stream reading a Kinesis stream would be one more consumer.
// Thread safety: Start/Stop/Handover/Abort from the owner's thread; the accessors are immutable.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "config/stream_config.h"
#include "objectstore/object_store.h"
#include "pipeline/delivery_worker.h"
#include "pipeline/warehouse_sink.h"
#include "secrets/resolver.h"
#include "streams/service.h"

namespace sluice::pipeline {

// Opens the store of one destination (a resolved bucket URL), or refuses it.
using StoreOpener = std::function<Result<std::unique_ptr<objectstore::ObjectStore>>(
    const config::ObjectDestination&)>;

struct DeliveryStreamDeps {
  streams::Service* streams = nullptr;    // holds the ingest stream named config.name
  secrets::Resolver* resolver = nullptr;  // ${secret:...} of warehouse settings
  Clock* clock = &Clock::System();
  std::string region = "us-east-1";  // for processors (Lambda ARNs, metadata)
  std::string account_id = "000000000000";
  StoreOpener open_store;  // required
  // A stream without a destination delivers to file://<default_bucket_root>/<name>.
  std::string default_bucket_root;
  // Where round 1 kept per-partition delivery state (<root>/<name>/<partition>): a pending batch
  // intent there is taken over at start. Empty: none.
  std::string legacy_state_root;
};

class DeliveryStream {
 public:
  // Builds the stores, builders, sinks and (not yet started) workers: everything a configuration
  // needs, so that one that cannot run fails here, before anything changes.
  // `version` is the stream's current version (config::StreamState), which new batches carry.
  static Result<std::unique_ptr<DeliveryStream>> Create(const config::StreamConfig& config,
                                                        uint64_t version,
                                                        const DeliveryStreamDeps& deps);
  // Every check a configuration must pass to run, without opening a store or the journal: the
  // one validation `check-config` and the Firehose API run, and the checks Create makes (it
  // builds the processor chain itself rather than once more here).
  static Status Validate(const config::StreamConfig& config);
  ~DeliveryStream();  // Abort()
  DeliveryStream(const DeliveryStream&) = delete;
  DeliveryStream& operator=(const DeliveryStream&) = delete;

  // Starts the workers (each holds a thread only while it has records to deliver).
  void Start();
  // Flushes what is buffered (for a while) and stops. Idempotent.
  void Stop();
  // Stops after the batches in progress, for a configuration change: the next generation
  // continues from the committed consumer state.
  void Handover();
  // Stops without flushing (the stream is being deleted).
  void Abort();

  // The configuration, with the default destination filled in.
  const config::StreamConfig& config() const { return config_; }
  // The staged store, for logs ("file:///..." or "s3://bucket").
  const std::string& description() const { return description_; }
  const std::vector<std::unique_ptr<DeliveryWorker>>& workers() const { return workers_; }

 private:
  DeliveryStream() = default;
  Result<objectstore::ObjectStore*> StoreFor(const config::ObjectDestination& dest,
                                             const StoreOpener& open);

  config::StreamConfig config_;
  uint64_t version_ = 1;
  std::string description_;
  std::map<std::string, std::unique_ptr<objectstore::ObjectStore>> stores_;  // by destination
  std::vector<std::unique_ptr<WarehouseSink>> sinks_;  // one per worker, if any
  std::vector<std::unique_ptr<DeliveryWorker>> workers_;
};

}  // namespace sluice::pipeline
