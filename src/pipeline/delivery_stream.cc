#include "pipeline/delivery_stream.h"

#include <spdlog/spdlog.h>

#include "common/file_util.h"
#include "config/config.h"
#include "pipeline/transform_builder.h"

namespace sluice::pipeline {

DeliveryStream::~DeliveryStream() {
  Abort();
}

Result<objectstore::ObjectStore*> DeliveryStream::StoreFor(const config::ObjectDestination& dest,
                                                           const StoreOpener& open) {
  const std::string key = dest.url + '\n' + dest.endpoint + '\n' + dest.region + '\n' +
                          (dest.path_style ? "path" : "virtual");
  auto it = stores_.find(key);
  if (it != stores_.end()) return it->second.get();
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<objectstore::ObjectStore> store, open(dest));
  objectstore::ObjectStore* raw = store.get();
  stores_.emplace(key, std::move(store));
  return raw;
}

Status DeliveryStream::Validate(const config::StreamConfig& config) {
  SLUICE_RETURN_IF_ERROR(config::ValidateStream(config));
  SLUICE_RETURN_IF_ERROR(ValidateProcessing(config));
  return KeyMaker::Create(config).status();
}

Result<std::unique_ptr<DeliveryStream>> DeliveryStream::Create(const config::StreamConfig& config,
                                                               uint64_t version,
                                                               const DeliveryStreamDeps& deps) {
  // Validate's checks without building the processor chain twice: the builders below build it
  // (and fail the same way), KeyMaker::Create checks the keys.
  SLUICE_RETURN_IF_ERROR(config::ValidateStream(config));
  std::unique_ptr<DeliveryStream> s(new DeliveryStream());
  s->config_ = config;
  s->version_ = version;
  config::StreamConfig& cfg = s->config_;
  // No destination: a folder named after the stream (a valid stream name is a safe folder name;
  // it need not be a valid bucket name).
  if (cfg.staged.empty()) {
    cfg.staged.url = "file://" + fs::Join(deps.default_bucket_root, cfg.name);
  }
  SLUICE_ASSIGN_OR_RETURN(objectstore::ObjectStore * staged,
                          s->StoreFor(cfg.staged, deps.open_store));
  TransformStores stores;
  stores.staged = staged;
  if (!cfg.raw.empty()) {
    SLUICE_ASSIGN_OR_RETURN(stores.raw, s->StoreFor(cfg.raw, deps.open_store));
  }
  if (!cfg.errors.empty()) {
    SLUICE_ASSIGN_OR_RETURN(stores.errors, s->StoreFor(cfg.errors, deps.open_store));
  }
  // The plain Firehose path (records concatenated as sent) needs no transform machinery.
  const bool has_warehouse = cfg.warehouse.has_value();
  const bool plain =
      cfg.processors.empty() && cfg.format.kind == transform::FormatSpec::Kind::kRaw &&
      cfg.compression == compress::Format::kUncompressed && stores.raw == nullptr && !has_warehouse;
  SLUICE_ASSIGN_OR_RETURN(KeyMaker keys, KeyMaker::Create(cfg));
  s->keys_ = std::move(keys);
  s->stores_for_workers_ = stores;
  s->chain_options_.region = deps.region;
  s->chain_options_.account_id = deps.account_id;
  s->chain_options_.clock = deps.clock;
  s->plain_ = plain;
  s->deps_ = deps;
  if (cfg.type == config::SourceType::kKinesisStreamAsSource) {
    if (deps.kinesis_streams == nullptr) {
      return Status::FailedPrecondition("no Kinesis streams to read " + cfg.source_stream +
                                        " from");
    }
    s->FollowShards();  // the shards readable now; later ones as they become readable
  } else {
    SLUICE_ASSIGN_OR_RETURN(streams::StreamInfo ingest, deps.streams->Describe(cfg.name));
    MutexLock lock(s->mu_);
    for (const streams::Shard& shard : ingest.spec.shards) {
      SLUICE_RETURN_IF_ERROR(
          s->AddWorker(deps.streams, cfg.name, shard.id, DeliveryWorker::kConsumer));
    }
  }
  s->description_ = staged->Describe();
  return s;
}

Status DeliveryStream::AddWorker(streams::Service* source, const std::string& source_name,
                                 uint32_t shard, const std::string& consumer_name) {
  const config::StreamConfig& cfg = config_;
  WorkerOptions wo;
  wo.clock = deps_.clock;
  wo.version = version_;
  wo.apply_retention = source == deps_.streams;
  if (!deps_.legacy_state_root.empty() && source == deps_.streams) {
    wo.state_dir = fs::Join(fs::Join(deps_.legacy_state_root, cfg.name), std::to_string(shard));
  }
  std::unique_ptr<BatchBuilder> builder;
  WarehouseSink* sink = nullptr;
  const bool has_warehouse = cfg.warehouse.has_value();
  if (plain_) {
    builder = std::make_unique<ConcatBuilder>(*keys_, stores_for_workers_.staged,
                                              stores_for_workers_.errors);
  } else {
    SLUICE_ASSIGN_OR_RETURN(
        std::unique_ptr<TransformBuilder> tb,
        TransformBuilder::Create(cfg, stores_for_workers_, chain_options_, has_warehouse));
    if (has_warehouse) {
      sinks_.push_back(std::make_unique<WarehouseSink>(cfg, *cfg.warehouse, *keys_,
                                                       stores_for_workers_.errors != nullptr
                                                           ? stores_for_workers_.errors
                                                           : stores_for_workers_.staged,
                                                       deps_.resolver, deps_.clock));
      sink = sinks_.back().get();
    }
    builder = std::move(tb);
  }
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<streams::Consumer> consumer,
                          source->OpenConsumer(source_name, shard, consumer_name));
  workers_.push_back(
      std::make_unique<DeliveryWorker>(cfg, std::move(consumer), std::move(builder), sink, wo));
  shards_.insert(shard);
  return Status::Ok();
}

size_t DeliveryStream::FollowShards() {
  if (config_.type != config::SourceType::kKinesisStreamAsSource) return 0;
  streams::Service* source = deps_.kinesis_streams;
  auto info = source->Describe(config_.source_stream);
  if (!info.ok()) return 0;  // the Kinesis stream does not exist (yet)
  const std::string consumer = KinesisConsumerName(config_.name);
  // A parent is drained when this delivery stream's consumer has committed up to its end.
  auto drained = [&](uint32_t parent) {
    for (const auto& p : info->spec.shards) {
      if (p.id != parent) continue;
      if (p.open || !p.end_offset) return false;
      auto state = source->Committed(config_.source_stream, parent, consumer);
      return state.ok() && !state->intent && state->next >= *p.end_offset;
    }
    return true;  // a parent gone with retention was read to its end long ago
  };
  MutexLock lock(mu_);
  size_t added = 0;
  for (const auto& shard : info->spec.shards) {
    if (shards_.count(shard.id) != 0) continue;
    if (shard.parent && !drained(*shard.parent)) continue;
    if (shard.adjacent_parent && !drained(*shard.adjacent_parent)) continue;
    if (Status st = AddWorker(source, config_.source_stream, shard.id, consumer); !st.ok()) {
      spdlog::error("stream {}: cannot read shard {} of Kinesis stream {}: {}", config_.name,
                    shard.id, config_.source_stream, st.ToString());
      continue;
    }
    ++added;
    spdlog::info("stream {}: reading shard {} of Kinesis stream {}", config_.name, shard.id,
                 config_.source_stream);
    if (started_) workers_.back()->Start();
  }
  return added;
}

size_t DeliveryStream::worker_count() const {
  MutexLock lock(mu_);
  return workers_.size();
}

void DeliveryStream::Start() {
  MutexLock lock(mu_);
  started_ = true;
  for (const auto& w : workers_) w->Start();
  spdlog::info(
      "stream {}: delivering to {} (prefix '{}', buffering {} MB / {} s, {} partition(s), "
      "version {})",
      config_.name, description_, config_.staged.prefix, config_.buffering.size_mb,
      config_.buffering.interval_s, workers_.size(), version_);
}

void DeliveryStream::Stop() {
  MutexLock lock(mu_);
  started_ = false;
  for (const auto& w : workers_) w->Stop();
}

void DeliveryStream::Handover() {
  MutexLock lock(mu_);
  started_ = false;
  for (const auto& w : workers_) w->Handover();
}

void DeliveryStream::Abort() {
  MutexLock lock(mu_);
  started_ = false;
  for (const auto& w : workers_) w->Abort();
}

}  // namespace sluice::pipeline
