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
  transform::ChainOptions chain_options;
  chain_options.region = deps.region;
  chain_options.account_id = deps.account_id;
  chain_options.clock = deps.clock;
  SLUICE_ASSIGN_OR_RETURN(streams::StreamInfo ingest, deps.streams->Describe(cfg.name));
  for (const streams::Shard& shard : ingest.spec.shards) {
    WorkerOptions wo;
    wo.clock = deps.clock;
    wo.version = version;
    if (!deps.legacy_state_root.empty()) {
      wo.state_dir = fs::Join(fs::Join(deps.legacy_state_root, cfg.name), std::to_string(shard.id));
    }
    std::unique_ptr<BatchBuilder> builder;
    WarehouseSink* sink = nullptr;
    if (plain) {
      builder = std::make_unique<ConcatBuilder>(keys, staged, stores.errors);
    } else {
      SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<TransformBuilder> tb,
                              TransformBuilder::Create(cfg, stores, chain_options, has_warehouse));
      if (has_warehouse) {
        s->sinks_.push_back(std::make_unique<WarehouseSink>(
            cfg, *cfg.warehouse, keys, stores.errors != nullptr ? stores.errors : staged,
            deps.resolver, deps.clock));
        sink = s->sinks_.back().get();
      }
      builder = std::move(tb);
    }
    SLUICE_ASSIGN_OR_RETURN(
        std::unique_ptr<streams::Consumer> consumer,
        deps.streams->OpenConsumer(cfg.name, shard.id, DeliveryWorker::kConsumer));
    s->workers_.push_back(
        std::make_unique<DeliveryWorker>(cfg, std::move(consumer), std::move(builder), sink, wo));
  }
  s->description_ = staged->Describe();
  return s;
}

void DeliveryStream::Start() {
  for (const auto& w : workers_) w->Start();
  spdlog::info(
      "stream {}: delivering to {} (prefix '{}', buffering {} MB / {} s, {} partition(s), "
      "version {})",
      config_.name, description_, config_.staged.prefix, config_.buffering.size_mb,
      config_.buffering.interval_s, workers_.size(), version_);
}

void DeliveryStream::Stop() {
  for (const auto& w : workers_) w->Stop();
}

void DeliveryStream::Handover() {
  for (const auto& w : workers_) w->Handover();
}

void DeliveryStream::Abort() {
  for (const auto& w : workers_) w->Abort();
}

}  // namespace sluice::pipeline
