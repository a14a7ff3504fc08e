// StreamRegistry: the live delivery streams of a server, and the api::Backend the Firehose front
// end calls. For each stream it owns the object stores and one DeliveryWorker per partition; the
// journal holds the records.
//
// Streams come from the config file (fixed for the process's life) or from CreateDeliveryStream
// (persisted under <data_dir>/api-streams/<name>.yaml and listed in api-streams/catalog, so they
// survive restarts; only cataloged names are loaded, and each definition is checked to hold only
// what the Firehose API expresses).
//
// Where objects may go: a bucket:// destination (from BucketARN) is a directory directly below
// <data_dir>/buckets and must resolve there after following symlinks; a file:// directory from
// the config file may be anywhere except inside the data dir outside buckets/ (the journal,
// delivery state and stream definitions are never a delivery target).
// Thread safety: all methods are thread-safe. Put does not block on disk: its callback runs on the
// journal's commit thread once the records are durable.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "api/backend.h"
#include "common/clock.h"
#include "config/config.h"
#include "journal/journal.h"
#include "objectstore/object_store.h"
#include "pipeline/delivery_worker.h"
#include "pipeline/warehouse_sink.h"
#include "secrets/resolver.h"

namespace sluice::server {

class StreamRegistry : public api::Backend {
 public:
  // `resolver` resolves ${secret:...} references of warehouse settings; it must outlive the
  // registry.
  StreamRegistry(const config::ServerConfig& server, journal::Journal* journal,
                 secrets::Resolver* resolver, Clock* clock = &Clock::System());
  ~StreamRegistry() override;

  // Adds a stream declared in the config file and starts its workers.
  Status AddConfigStream(const config::StreamConfig& stream);
  // Loads the streams created earlier through the API and starts them.
  Status LoadApiStreams();
  // Flushes and stops every worker (SIGTERM path). Puts after this fail.
  void StopAll();

  // api::Backend
  Result<std::string> CreateStream(config::StreamConfig config) override;
  Status DeleteStream(const std::string& name) override;
  Result<api::StreamInfo> DescribeStream(const std::string& name) override;
  std::vector<std::string> ListStreams() override;
  Status UpdateDestination(const config::StreamConfig& updated, uint64_t expected_version) override;
  Status UpdateTags(const std::string& name, const std::map<std::string, std::string>& add,
                    const std::vector<std::string>& remove) override;
  void Put(const std::string& stream, std::vector<std::string> records,
           api::PutCallback done) override;
  std::string Region() const override { return server_.region; }
  std::string AccountId() const override { return server_.account_id; }

  // Opaque Firehose RecordId for a journal position; stable and unique per stream incarnation.
  static std::string MakeRecordId(uint64_t incarnation, uint32_t partition, uint64_t offset);

 private:
  struct Stream {
    config::StreamConfig config;
    uint64_t incarnation = 0;
    std::vector<journal::PartitionLog*> partitions;
    std::map<std::string, std::unique_ptr<objectstore::ObjectStore>> stores;  // by resolved URL
    std::vector<std::unique_ptr<pipeline::WarehouseSink>> sinks;  // one per worker, if any
    std::vector<std::unique_ptr<pipeline::DeliveryWorker>> workers;
    std::string staged_description;  // for logs
    std::atomic<uint64_t> next_partition{0};
    // Put holds it shared while it hands records to a partition log; DeleteStream holds it
    // exclusively while it marks the stream deleted, so no Append reaches a dropped log.
    // Shared by the generations of one stream (UpdateDestination builds a new Stream on the same
    // partition logs), so a Put through an older generation is fenced too.
    struct Life {
      std::shared_mutex mu;
      bool deleted = false;  // GUARDED_BY(mu)
    };
    std::shared_ptr<Life> life = std::make_shared<Life>();
  };

  // Builds a stream's stores, builders and (not yet started) workers.
  Result<std::shared_ptr<Stream>> BuildStream(const config::StreamConfig& config);
  void StartWorkers(const Stream& s);
  // BuildStream, register, StartWorkers.
  Status StartStream(const config::StreamConfig& config);
  Result<objectstore::ObjectStore*> StoreFor(Stream& s, const config::ObjectDestination& dest);
  // The symlink-free directory of a bucket:// or file:// destination, checked to stay where it
  // may (see the file comment); empty for s3://.
  Result<std::string> ResolveStoreRoot(const config::ObjectDestination& dest) const;
  std::string Arn(const std::string& name) const;
  std::string ApiStreamDir() const;
  std::string ApiStreamPath(const std::string& name) const;
  std::string CatalogPath() const;
  Status WriteCatalog(const std::set<std::string>& names);
  Status StreamLimitError() const;

  config::ServerConfig server_;
  journal::Journal* journal_;
  secrets::Resolver* resolver_;
  Clock* clock_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Stream>> streams_;  // GUARDED_BY(mu_)
  // shared_ptr: a Put callback in flight may outlive a concurrent DeleteStream.
  bool stopped_ = false;  // GUARDED_BY(mu_)
  // Serialises changes of the API-created streams' catalog; taken before mu_, never after.
  std::mutex catalog_mu_;
  std::set<std::string> api_names_;  // GUARDED_BY(catalog_mu_): the names in the catalog
};

}  // namespace sluice::server
