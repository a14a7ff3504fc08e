// DeliveryStream: a Firehose delivery stream at work — one DeliveryWorker per shard of the ingest
// stream it reads, each a named consumer (DeliveryWorker::kConsumer) of its shard. Create() owns
// the choice of builder (concatenation, or the transform chain) and sink (warehouse), and opens
// the destination stores through the caller's opener, which decides where objects may go.
//
// A Direct PUT delivery stream reads the hidden ingest stream of the same name (created by its
// owner before Create). A KinesisStreamAsSource delivery stream is one more named consumer
// (KinesisConsumerName) of a Kinesis stream: one worker per shard, reading the journal directly.
// It follows resharding: a child shard gets its worker only once every parent is drained (its
// consumer committed up to the parent's end), so records of one partition key stay in order;
// FollowShards, called periodically by the owner, starts those (and the first workers of a
// Kinesis stream created after the delivery stream). Sluice delivers a Kinesis stream from its
// trim horizon (AWS starts at DeliveryStartTimestamp), so that records put before the delivery
// stream existed are not lost.
// Thread safety: Start/Stop/Handover/Abort from the owner's thread; FollowShards from any one
// thread; config()/description() are immutable.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/status.h"
#include "config/stream_config.h"
#include "objectstore/object_store.h"
#include "pipeline/delivery_worker.h"
#include "pipeline/object_key.h"
#include "pipeline/transform_builder.h"
#include "pipeline/warehouse_sink.h"
#include "secrets/resolver.h"
#include "streams/service.h"

namespace sluice::pipeline {

// Opens the store of one destination (a resolved bucket URL), or refuses it.
using StoreOpener = std::function<Result<std::unique_ptr<objectstore::ObjectStore>>(
    const config::ObjectDestination&)>;

struct DeliveryStreamDeps {
  streams::Service* streams = nullptr;  // holds the ingest stream named config.name
  // The Kinesis streams (a KinesisStreamAsSource delivery stream reads config.source_stream).
  streams::Service* kinesis_streams = nullptr;
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
  // A Kinesis source: adds (and, once started, starts) workers for the shards that have become
  // readable. A no-op for Direct PUT. Returns the number of workers added.
  size_t FollowShards();
  // The consumer name a delivery stream reads a Kinesis stream under (its own name).
  static std::string KinesisConsumerName(const std::string& delivery_stream) {
    return delivery_stream;
  }
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
  // The number of workers (one per shard read so far).
  size_t worker_count() const;

 private:
  DeliveryStream() = default;
  Result<objectstore::ObjectStore*> StoreFor(const config::ObjectDestination& dest,
                                             const StoreOpener& open);

  // Builds the worker of one shard of `source` (stream `source_name`), read as `consumer`.
  Status AddWorker(streams::Service* source, const std::string& source_name, uint32_t shard,
                   const std::string& consumer) SLUICE_REQUIRES(mu_);

  config::StreamConfig config_;
  uint64_t version_ = 1;
  DeliveryStreamDeps deps_;
  // What every worker shares, kept for the workers FollowShards adds.
  std::optional<KeyMaker> keys_;
  TransformStores stores_for_workers_;
  transform::ChainOptions chain_options_;
  bool plain_ = false;
  std::string description_;
  std::map<std::string, std::unique_ptr<objectstore::ObjectStore>> stores_;  // by destination
  mutable Mutex mu_;
  bool started_ SLUICE_GUARDED_BY(mu_) = false;
  std::vector<std::unique_ptr<WarehouseSink>> sinks_ SLUICE_GUARDED_BY(mu_);  // one per worker
  std::vector<std::unique_ptr<DeliveryWorker>> workers_ SLUICE_GUARDED_BY(mu_);
  std::set<uint32_t> shards_ SLUICE_GUARDED_BY(mu_);  // the shards that have a worker
};

}  // namespace sluice::pipeline
