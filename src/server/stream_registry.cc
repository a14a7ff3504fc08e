#include "server/stream_registry.h"

#include <spdlog/spdlog.h>

#include <cstdio>

#include "common/file_util.h"
#include "pipeline/transform_builder.h"

namespace sluice::server {
namespace {

constexpr char kSlowDown[] = "Slow down.";

}  // namespace

StreamRegistry::StreamRegistry(const config::ServerConfig& server, journal::Journal* journal,
                               secrets::Resolver* resolver, Clock* clock)
    : server_(server), journal_(journal), resolver_(resolver), clock_(clock) {}

StreamRegistry::~StreamRegistry() {
  StopAll();
}

std::string StreamRegistry::MakeRecordId(uint64_t incarnation, uint32_t partition,
                                         uint64_t offset) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%016llx%08x%016llx", static_cast<unsigned long long>(incarnation),
                partition, static_cast<unsigned long long>(offset));
  return buf;
}

std::string StreamRegistry::Arn(const std::string& name) const {
  return "arn:aws:firehose:" + server_.region + ":" + server_.account_id + ":deliverystream/" +
         name;
}

std::string StreamRegistry::ApiStreamPath(const std::string& name) const {
  return fs::Join(fs::Join(server_.data_dir, "api-streams"), name + ".yaml");
}

Result<objectstore::ObjectStore*> StreamRegistry::StoreFor(Stream& s,
                                                           const config::ObjectDestination& dest) {
  objectstore::StoreOptions opts;
  opts.url = dest.url;
  if (dest.url.rfind("bucket://", 0) == 0) {
    // A bucket named through the Firehose API (BucketARN arn:aws:s3:::<bucket>): a directory
    // under <data_dir>/buckets on the embedded defaults.
    opts.url = "file://" + fs::Join(fs::Join(server_.data_dir, "buckets"), dest.url.substr(9));
  }
  opts.endpoint = dest.endpoint;
  if (!dest.region.empty()) opts.region = dest.region;
  opts.path_style = dest.path_style;
  auto it = s.stores.find(opts.url);
  if (it != s.stores.end()) return it->second.get();
  ASSIGN_OR_RETURN(std::unique_ptr<objectstore::ObjectStore> store, objectstore::Open(opts));
  objectstore::ObjectStore* raw = store.get();
  s.stores.emplace(opts.url, std::move(store));
  return raw;
}

Status StreamRegistry::StartStream(const config::StreamConfig& cfg_in) {
  config::StreamConfig cfg = cfg_in;
  if (cfg.staged.empty()) cfg.staged.url = "bucket://" + cfg.name;
  auto s = std::make_shared<Stream>();
  s->config = cfg;
  s->incarnation = static_cast<uint64_t>(cfg.create_timestamp_ms);
  for (uint32_t p = 0; p < cfg.partitions; ++p) {
    ASSIGN_OR_RETURN(journal::PartitionLog * log, journal_->Partition(cfg.name, p));
    s->partitions.push_back(log);
  }
  ASSIGN_OR_RETURN(objectstore::ObjectStore * staged, StoreFor(*s, cfg.staged));
  pipeline::TransformStores stores;
  stores.staged = staged;
  if (!cfg.raw.empty()) {
    ASSIGN_OR_RETURN(stores.raw, StoreFor(*s, cfg.raw));
  }
  if (!cfg.errors.empty()) {
    ASSIGN_OR_RETURN(stores.errors, StoreFor(*s, cfg.errors));
  }
  // The plain Firehose path (records concatenated as sent) needs no transform machinery.
  const bool has_warehouse = !cfg.warehouse_json.empty();
  const bool plain = cfg.processors.empty() && cfg.format == "raw" &&
                     cfg.compression == "UNCOMPRESSED" && stores.raw == nullptr && !has_warehouse;
  std::optional<warehouse::WarehouseConfig> warehouse_config;
  if (has_warehouse) {
    ASSIGN_OR_RETURN(warehouse_config, pipeline::ParseWarehouseConfig(cfg));
  }
  ASSIGN_OR_RETURN(pipeline::KeyMaker keys, pipeline::KeyMaker::Create(cfg));
  transform::ChainOptions chain_options;
  chain_options.region = server_.region;
  chain_options.account_id = server_.account_id;
  chain_options.clock = clock_;
  for (uint32_t p = 0; p < cfg.partitions; ++p) {
    pipeline::WorkerOptions wo;
    wo.clock = clock_;
    wo.state_dir =
        fs::Join(fs::Join(fs::Join(server_.data_dir, "delivery"), cfg.name), std::to_string(p));
    std::unique_ptr<pipeline::BatchBuilder> builder;
    pipeline::WarehouseSink* sink = nullptr;
    if (plain) {
      builder = std::make_unique<pipeline::ConcatBuilder>(keys, staged, stores.errors);
    } else {
      ASSIGN_OR_RETURN(
          std::unique_ptr<pipeline::TransformBuilder> tb,
          pipeline::TransformBuilder::Create(cfg, stores, chain_options, has_warehouse));
      if (has_warehouse) {
        s->sinks.push_back(std::make_unique<pipeline::WarehouseSink>(
            cfg, *warehouse_config, keys, tb.get(),
            stores.errors != nullptr ? stores.errors : staged, resolver_));
        sink = s->sinks.back().get();
      }
      builder = std::move(tb);
    }
    s->workers.push_back(std::make_unique<pipeline::DeliveryWorker>(cfg, p, s->partitions[p],
                                                                    std::move(builder), sink, wo));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return Status::Unavailable("server is stopping");
    if (streams_.count(cfg.name) != 0) {
      return Status::AlreadyExists("Firehose " + cfg.name + " under accountId " +
                                   server_.account_id + " already exists.");
    }
    streams_[cfg.name] = s;
  }
  for (auto& w : s->workers) w->Start();
  spdlog::info("stream {}: delivering to {} (prefix '{}', buffering {} MB / {} s, {} partition(s))",
               cfg.name, staged->Describe(), cfg.staged.prefix, cfg.buffering.size_mb,
               cfg.buffering.interval_s, cfg.partitions);
  return Status::Ok();
}

Status StreamRegistry::AddConfigStream(const config::StreamConfig& stream) {
  config::StreamConfig cfg = stream;
  cfg.from_api = false;
  if (cfg.create_timestamp_ms == 0) cfg.create_timestamp_ms = clock_->NowMs();
  return StartStream(cfg);
}

Status StreamRegistry::LoadApiStreams() {
  std::string dir = fs::Join(server_.data_dir, "api-streams");
  auto names = fs::ListDir(dir);
  if (!names.ok())
    return names.status().code() == StatusCode::kNotFound ? Status::Ok() : names.status();
  for (const auto& file : *names) {
    if (file.size() < 6 || file.substr(file.size() - 5) != ".yaml") continue;
    std::string path = fs::Join(dir, file);
    ASSIGN_OR_RETURN(std::string text, fs::ReadFile(path));
    ASSIGN_OR_RETURN(config::StreamConfig cfg, config::ParseStreamYaml(text, path));
    cfg.from_api = true;
    RETURN_IF_ERROR(StartStream(cfg).WithContext(path));
  }
  return Status::Ok();
}

Result<std::string> StreamRegistry::CreateStream(config::StreamConfig cfg) {
  RETURN_IF_ERROR(config::ValidateStream(cfg));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (streams_.count(cfg.name) != 0) {
      return Status::AlreadyExists("Firehose " + cfg.name + " under accountId " +
                                   server_.account_id + " already exists.");
    }
  }
  cfg.from_api = true;
  if (cfg.create_timestamp_ms == 0) cfg.create_timestamp_ms = clock_->NowMs();
  // A new incarnation must never reuse old journal data of a stream with the same name.
  RETURN_IF_ERROR(journal_->DropStream(cfg.name));
  RETURN_IF_ERROR(fs::CreateDirs(fs::DirName(ApiStreamPath(cfg.name))));
  RETURN_IF_ERROR(fs::WriteFileAtomically(ApiStreamPath(cfg.name), config::StreamToYaml(cfg)));
  Status st = StartStream(cfg);
  if (!st.ok()) {
    (void)fs::RemoveFile(ApiStreamPath(cfg.name));
    return st;
  }
  return Arn(cfg.name);
}

Status StreamRegistry::DeleteStream(const std::string& name) {
  std::shared_ptr<Stream> s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = streams_.find(name);
    if (it == streams_.end()) {
      return Status::NotFound("Firehose " + name + " under account " + server_.account_id +
                              " not found.");
    }
    if (!it->second->config.from_api) {
      return Status::FailedPrecondition(
          "Firehose " + name + " is declared in the config file; remove it there instead.");
    }
    s = it->second;
    streams_.erase(it);
  }
  {
    std::unique_lock<std::shared_mutex> life(s->life_mu);
    s->deleted = true;
  }
  for (auto& w : s->workers) w->Abort();
  RETURN_IF_ERROR(fs::RemoveFile(ApiStreamPath(name)));
  RETURN_IF_ERROR(fs::FsyncDir(fs::DirName(ApiStreamPath(name))));
  RETURN_IF_ERROR(journal_->DropStream(name));
  spdlog::info("stream {}: deleted", name);
  return Status::Ok();
}

Result<api::StreamInfo> StreamRegistry::DescribeStream(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = streams_.find(name);
  if (it == streams_.end()) {
    return Status::NotFound("Firehose " + name + " under account " + server_.account_id +
                            " not found.");
  }
  api::StreamInfo info;
  info.config = it->second->config;
  info.arn = Arn(name);
  info.status = "ACTIVE";
  return info;
}

std::vector<std::string> StreamRegistry::ListStreams() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> names;
  for (const auto& [name, s] : streams_) names.push_back(name);
  return names;
}

void StreamRegistry::Put(const std::string& stream, std::vector<std::string> records,
                         api::PutCallback done) {
  std::shared_ptr<Stream> s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = streams_.find(stream);
    if (it != streams_.end()) s = it->second;
  }
  if (!s) {
    done(Status::NotFound("Firehose " + stream + " under account " + server_.account_id +
                          " not found."));
    return;
  }
  const size_t n = records.size();
  uint32_t p = static_cast<uint32_t>(s->next_partition.fetch_add(1) % s->partitions.size());
  std::shared_lock<std::shared_mutex> life(s->life_mu);
  if (s->deleted) {
    done(Status::NotFound("Firehose " + stream + " under account " + server_.account_id +
                          " not found."));
    return;
  }
  s->partitions[p]->Append(std::move(records), clock_->NowMs(),
                           [s, p, n, done = std::move(done)](Result<journal::AppendResult> r) {
                             std::vector<api::PutEntry> entries(n);
                             if (!r.ok()) {
                               spdlog::error("stream {} partition {}: append failed: {}",
                                             s->config.name, p, r.status().ToString());
                               for (auto& e : entries) {
                                 e.error_code = "InternalFailure";
                                 e.error_message = "The record could not be stored durably; retry.";
                               }
                               done(std::move(entries));
                               return;
                             }
                             for (size_t i = 0; i < n; ++i) {
                               if (i < r->accepted) {
                                 entries[i].record_id =
                                     MakeRecordId(s->incarnation, p, r->first.value + i);
                               } else {
                                 entries[i].error_code = "ServiceUnavailableException";
                                 entries[i].error_message = kSlowDown;
                               }
                             }
                             done(std::move(entries));
                           });
}

void StreamRegistry::StopAll() {
  std::map<std::string, std::shared_ptr<Stream>> streams;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    streams = streams_;
  }
  for (auto& [name, s] : streams) {
    for (auto& w : s->workers) w->Stop();
  }
}

}  // namespace sluice::server
