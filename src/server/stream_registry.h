// StreamRegistry: the Firehose control plane of a server, and the api::Backend the Firehose front
// end calls. It keeps the delivery streams' definitions — from the config file (fixed for the
// process's life) or from CreateDeliveryStream (persisted under <data_dir>/api-streams/<name>.yaml
// and listed in api-streams/catalog, so they survive restarts; only cataloged names are loaded,
// and each definition is checked to hold only what the Firehose API expresses) — and runs each as
// a pipeline::DeliveryStream reading its hidden ingest stream (streams::Service, same name, one
// shard per partition). Records never pass through here: a Put goes to the ingest stream, and the
// delivery stream's workers read it as named consumers.
//
// Where objects may go (the store opener it gives each delivery stream): a bucket:// destination
// (from BucketARN) is a directory directly below <data_dir>/buckets and must resolve there after
// following symlinks; a file:// directory from the config file may be anywhere except inside the
// data dir outside buckets/ (the journal, delivery state and stream definitions are never a
// delivery target).
// Thread safety: all methods are thread-safe. Put does not block on disk: its callback runs on the
// journal's commit thread once the records are durable.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "api/backend.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "config/config.h"
#include "objectstore/object_store.h"
#include "observe/metrics.h"
#include "pipeline/delivery_stream.h"
#include "secrets/resolver.h"
#include "streams/service.h"

namespace sluice::server {

class StreamRegistry : public api::Backend {
 public:
  // `streams` holds the hidden ingest streams; `resolver` resolves ${secret:...} references of
  // warehouse settings. Both must outlive the registry.
  StreamRegistry(const config::ServerConfig& server, streams::Service* streams,
                 secrets::Resolver* resolver, Clock* clock = &Clock::System());
  ~StreamRegistry() override;

  // Adds a stream declared in the config file and starts its workers.
  Status AddConfigStream(const config::StreamConfig& stream);
  // Loads the streams created earlier through the API and starts them.
  Status LoadApiStreams();
  // Flushes and stops every worker (SIGTERM path). Puts after this fail.
  void StopAll();
  // The Kinesis streams KinesisStreamAsSource delivery streams read (must outlive the registry);
  // set before streams are added.
  void SetKinesisStreams(streams::Service* kinesis) { kinesis_ = kinesis; }
  // Lets delivery streams reading Kinesis streams pick up shards that became readable (new
  // streams, children of drained parents). The server calls it periodically.
  void FollowShards();
  // The delivery streams that read Kinesis stream `kinesis_stream`, sorted.
  std::vector<std::string> ReadersOf(const std::string& kinesis_stream);

  // api::Backend
  Status CreateStream(config::StreamConfig cfg, int64_t create_timestamp_ms) override;
  Status DeleteStream(const std::string& name) override;
  Result<api::StreamInfo> DescribeStream(const std::string& name) override;
  std::vector<std::string> ListStreams() override;
  Status UpdateDestination(const config::StreamConfig& updated, uint64_t expected_version) override;
  Status UpdateTags(const std::string& name, const std::map<std::string, std::string>& add,
                    const std::vector<std::string>& remove) override;
  void Put(const std::string& stream, journal::RecordBatch records, api::PutCallback done) override;
  std::string Region() const override { return server_.region; }
  std::string AccountId() const override { return server_.account_id; }

 private:
  // One generation of a delivery stream (UpdateDestination replaces it with the next).
  struct Stream {
    config::StreamConfig config;
    config::StreamState state;
    std::unique_ptr<pipeline::DeliveryStream> delivery;
    // Ingest metric series of the stream (server/metrics.h), looked up when it starts.
    observe::Counter* incoming_bytes = nullptr;
    observe::Counter* incoming_records = nullptr;
    observe::Counter* incoming_put_requests = nullptr;
    observe::Counter* throttled_records = nullptr;
  };

  // Creates the hidden ingest stream, builds the delivery stream, registers and starts it.
  // `fresh`: a new stream, which must not read journal data of an earlier one of the same name.
  Status StartStream(const config::StreamConfig& cfg, const config::StreamState& state, bool fresh);
  static void AttachMetrics(Stream& s, const std::string& name);
  Result<std::unique_ptr<pipeline::DeliveryStream>> BuildDelivery(const config::StreamConfig& cfg,
                                                                  const config::StreamState& state);
  Result<std::unique_ptr<objectstore::ObjectStore>> OpenStore(
      const config::ObjectDestination& dest) const;
  // The symlink-free directory of a bucket:// or file:// destination, checked to stay where it
  // may (see the file comment); empty for s3://.
  Result<std::string> ResolveStoreRoot(const config::ObjectDestination& dest) const;
  std::string ApiStreamDir() const;
  std::string ApiStreamPath(const std::string& name) const;
  std::string CatalogPath() const;
  Status WriteCatalog(const std::set<std::string>& names) SLUICE_REQUIRES(catalog_mu_);
  Status StreamLimitError() const;

  config::ServerConfig server_;
  streams::Service* ingest_;
  secrets::Resolver* resolver_;
  streams::Service* kinesis_ = nullptr;
  Clock* clock_;
  // Serialises changes of the delivery streams (create, update, tags, delete) and of the
  // API-created streams' catalog; taken before mu_, never after.
  Mutex catalog_mu_ SLUICE_ACQUIRED_BEFORE(mu_);
  std::set<std::string> api_names_ SLUICE_GUARDED_BY(catalog_mu_);  // the names in the catalog
  mutable Mutex mu_;
  std::map<std::string, std::shared_ptr<Stream>> streams_ SLUICE_GUARDED_BY(mu_);
  bool stopped_ SLUICE_GUARDED_BY(mu_) = false;
};

}  // namespace sluice::server
