#include "server/stream_registry.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <set>

#include "common/file_util.h"
#include "config/config.h"
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

std::string StreamRegistry::ApiStreamDir() const {
  return fs::Join(server_.data_dir, "api-streams");
}

std::string StreamRegistry::ApiStreamPath(const std::string& name) const {
  return fs::Join(ApiStreamDir(), name + ".yaml");
}

std::string StreamRegistry::CatalogPath() const {
  return fs::Join(ApiStreamDir(), "catalog");
}

Status StreamRegistry::WriteCatalog(const std::set<std::string>& names) {
  std::string text;
  for (const auto& n : names) text += n + "\n";
  SLUICE_RETURN_IF_ERROR(fs::CreateDirs(ApiStreamDir()));
  return fs::WriteFileAtomically(CatalogPath(), text);
}

Result<std::string> StreamRegistry::ResolveStoreRoot(const config::ObjectDestination& dest) const {
  SLUICE_ASSIGN_OR_RETURN(std::string data_dir, fs::ResolvePath(server_.data_dir));
  SLUICE_ASSIGN_OR_RETURN(std::string buckets,
                          fs::ResolvePath(fs::Join(server_.data_dir, "buckets")));
  if (dest.url.rfind("bucket://", 0) == 0) {
    // A bucket named through the Firehose API (BucketARN arn:aws:s3:::<bucket>): a directory
    // directly under <data_dir>/buckets, which it must not leave (a symlink, a crafted name).
    std::string name = dest.url.substr(9);
    SLUICE_RETURN_IF_ERROR(config::ValidateBucketName(name));
    SLUICE_ASSIGN_OR_RETURN(std::string root, fs::ResolvePath(fs::Join(buckets, name)));
    if (!fs::IsWithin(root, buckets) || root == buckets) {
      spdlog::error("bucket {}: {} resolves to {}, outside {}", name,
                    fs::Join(fs::Join(server_.data_dir, "buckets"), name), root, buckets);
      return Status::InvalidArgument("bucket '" + name +
                                     "' resolves outside the server's buckets directory (a "
                                     "symbolic link?); refusing to deliver there");
    }
    return root;
  }
  if (dest.url.rfind("file://", 0) == 0) {
    // A directory named in the config file may be anywhere, but never the server's own state:
    // inside the data dir only below buckets/.
    SLUICE_ASSIGN_OR_RETURN(std::string root, fs::ResolvePath(dest.url.substr(7)));
    if (fs::IsWithin(root, data_dir) && (!fs::IsWithin(root, buckets) || root == buckets)) {
      return Status::InvalidArgument(
          "destination '" + dest.url + "' resolves to " + root +
          ", inside the data dir but not below its buckets/ folder; the journal, delivery state "
          "and stream definitions there must not be a delivery target");
    }
    return root;
  }
  return std::string();
}

Result<objectstore::ObjectStore*> StreamRegistry::StoreFor(Stream& s,
                                                           const config::ObjectDestination& dest) {
  objectstore::StoreOptions opts;
  opts.url = dest.url;
  SLUICE_ASSIGN_OR_RETURN(std::string root, ResolveStoreRoot(dest));
  if (!root.empty()) opts.url = "file://" + root;
  opts.endpoint = dest.endpoint;
  if (!dest.region.empty()) opts.region = dest.region;
  opts.path_style = dest.path_style;
  auto it = s.stores.find(opts.url);
  if (it != s.stores.end()) return it->second.get();
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<objectstore::ObjectStore> store, objectstore::Open(opts));
  objectstore::ObjectStore* raw = store.get();
  s.stores.emplace(opts.url, std::move(store));
  return raw;
}

Result<std::shared_ptr<StreamRegistry::Stream>> StreamRegistry::BuildStream(
    const config::StreamConfig& cfg_in) {
  config::StreamConfig cfg = cfg_in;
  // No destination: a folder named after the stream (a valid stream name is a safe folder name;
  // it need not be a valid bucket name).
  if (cfg.staged.empty()) {
    cfg.staged.url = "file://" + fs::Join(fs::Join(server_.data_dir, "buckets"), cfg.name);
  }
  auto s = std::make_shared<Stream>();
  s->config = cfg;
  s->incarnation = static_cast<uint64_t>(cfg.create_timestamp_ms);
  for (uint32_t p = 0; p < cfg.partitions; ++p) {
    SLUICE_ASSIGN_OR_RETURN(journal::PartitionLog * log, journal_->Partition(cfg.name, p));
    s->partitions.push_back(log);
  }
  SLUICE_ASSIGN_OR_RETURN(objectstore::ObjectStore * staged, StoreFor(*s, cfg.staged));
  pipeline::TransformStores stores;
  stores.staged = staged;
  if (!cfg.raw.empty()) {
    SLUICE_ASSIGN_OR_RETURN(stores.raw, StoreFor(*s, cfg.raw));
  }
  if (!cfg.errors.empty()) {
    SLUICE_ASSIGN_OR_RETURN(stores.errors, StoreFor(*s, cfg.errors));
  }
  // The plain Firehose path (records concatenated as sent) needs no transform machinery.
  const bool has_warehouse = cfg.warehouse.has_value();
  const bool plain =
      cfg.processors.empty() && cfg.format.kind == transform::FormatSpec::Kind::kRaw &&
      cfg.compression == compress::Format::kUncompressed && stores.raw == nullptr && !has_warehouse;
  SLUICE_ASSIGN_OR_RETURN(pipeline::KeyMaker keys, pipeline::KeyMaker::Create(cfg));
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
      SLUICE_ASSIGN_OR_RETURN(
          std::unique_ptr<pipeline::TransformBuilder> tb,
          pipeline::TransformBuilder::Create(cfg, stores, chain_options, has_warehouse));
      if (has_warehouse) {
        s->sinks.push_back(std::make_unique<pipeline::WarehouseSink>(
            cfg, *cfg.warehouse, keys, stores.errors != nullptr ? stores.errors : staged, resolver_,
            clock_));
        sink = s->sinks.back().get();
      }
      builder = std::move(tb);
    }
    s->workers.push_back(std::make_unique<pipeline::DeliveryWorker>(cfg, p, s->partitions[p],
                                                                    std::move(builder), sink, wo));
  }
  s->staged_description = staged->Describe();
  return s;
}

void StreamRegistry::StartWorkers(const Stream& s) {
  for (const auto& w : s.workers) w->Start();
  spdlog::info(
      "stream {}: delivering to {} (prefix '{}', buffering {} MB / {} s, {} partition(s), "
      "version {})",
      s.config.name, s.staged_description, s.config.staged.prefix, s.config.buffering.size_mb,
      s.config.buffering.interval_s, s.config.partitions, s.config.version);
}

Status StreamRegistry::StartStream(const config::StreamConfig& cfg) {
  SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<Stream> s, BuildStream(cfg));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return Status::Unavailable("server is stopping");
    if (streams_.count(cfg.name) != 0) {
      return Status::AlreadyExists("Firehose " + cfg.name + " under accountId " +
                                   server_.account_id + " already exists.");
    }
    if (streams_.size() >= server_.max_delivery_streams) return StreamLimitError();
    streams_[cfg.name] = s;
  }
  StartWorkers(*s);
  return Status::Ok();
}

Status StreamRegistry::UpdateDestination(const config::StreamConfig& updated_in,
                                         uint64_t expected_version) {
  std::lock_guard<std::mutex> catalog_lock(catalog_mu_);
  std::shared_ptr<Stream> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = streams_.find(updated_in.name);
    if (it == streams_.end()) {
      return Status::NotFound("Firehose " + updated_in.name + " under account " +
                              server_.account_id + " not found.");
    }
    old = it->second;
    if (stopped_) return Status::Unavailable("server is stopping");
  }
  if (!old->config.from_api) {
    return Status::FailedPrecondition("Firehose " + updated_in.name +
                                      " is declared in the config file; change it there.");
  }
  if (old->config.version != expected_version) {
    return Status::Aborted("version " + std::to_string(old->config.version));
  }
  config::StreamConfig updated = updated_in;
  // What the destination update cannot change stays as it is.
  updated.partitions = old->config.partitions;
  updated.create_timestamp_ms = old->config.create_timestamp_ms;
  updated.tags = old->config.tags;
  updated.from_api = true;
  updated.version = expected_version + 1;
  SLUICE_RETURN_IF_ERROR(config::ValidateStream(updated));
  SLUICE_RETURN_IF_ERROR(config::ValidateApiExpressible(updated));
  // Everything the new configuration needs is built before anything changes: a configuration
  // that cannot run leaves the stream as it was.
  SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<Stream> next, BuildStream(updated));
  next->life = old->life;
  SLUICE_RETURN_IF_ERROR(
      fs::WriteFileAtomically(ApiStreamPath(updated.name), config::StreamToYaml(updated)));
  // The old workers finish the batch in hand and stop; the new ones continue from the committed
  // checkpoint (a batch whose intent is recorded is redelivered). Puts go on meanwhile: both
  // generations append to the same journal partitions.
  for (auto& w : old->workers) w->Handover();
  {
    std::lock_guard<std::mutex> lock(mu_);
    streams_[updated.name] = next;
  }
  StartWorkers(*next);
  spdlog::info("stream {}: destination updated to version {}", updated.name, updated.version);
  return Status::Ok();
}

Status StreamRegistry::AddConfigStream(const config::StreamConfig& stream) {
  config::StreamConfig cfg = stream;
  cfg.from_api = false;
  if (cfg.create_timestamp_ms == 0) cfg.create_timestamp_ms = clock_->NowMs();
  return StartStream(cfg);
}

Status StreamRegistry::LoadApiStreams() {
  // Only the names in the catalog are loaded, each from exactly <name>.yaml; a file in the folder
  // that is not in the catalog is never read. A data dir from before the catalog has the
  // definitions alone: they are taken once, each checked as below, and the catalog written.
  std::vector<std::string> names;
  bool migrate = false;
  auto catalog = fs::ReadFile(CatalogPath());
  if (catalog.ok()) {
    size_t start = 0;
    while (start < catalog->size()) {
      size_t end = catalog->find('\n', start);
      if (end == std::string::npos) end = catalog->size();
      if (end > start) names.push_back(catalog->substr(start, end - start));
      start = end + 1;
    }
  } else if (catalog.status().code() == StatusCode::kNotFound) {
    auto files = fs::ListDir(ApiStreamDir());
    if (!files.ok()) {
      return files.status().code() == StatusCode::kNotFound ? Status::Ok() : files.status();
    }
    for (const auto& file : *files) {
      if (file.size() > 5 && file.substr(file.size() - 5) == ".yaml") {
        names.push_back(file.substr(0, file.size() - 5));
      }
    }
    migrate = true;
  } else {
    return catalog.status();
  }
  std::set<std::string> loaded;
  for (const auto& name : names) {
    // A definition that cannot be used is reported and skipped: the server still starts, the
    // stream's journal data stays where it is, and the file stays for inspection.
    auto refuse = [&](const Status& why) {
      spdlog::error("API-created stream '{}' not loaded: {}", name, why.ToString());
    };
    if (!config::IsValidStreamName(name)) {
      refuse(Status::InvalidArgument(config::StreamNameError(name)));
      continue;
    }
    std::string path = ApiStreamPath(name);
    auto text = fs::ReadFile(path);
    if (!text.ok()) {
      refuse(text.status());
      continue;
    }
    auto cfg = config::ParseStreamYaml(*text, path);
    if (!cfg.ok()) {
      refuse(cfg.status());
      continue;
    }
    if (cfg->name != name) {
      refuse(Status::InvalidArgument(path + " defines stream '" + cfg->name + "'"));
      continue;
    }
    if (Status st = config::ValidateApiExpressible(*cfg); !st.ok()) {
      refuse(st);
      continue;
    }
    cfg->from_api = true;
    if (Status st = StartStream(*cfg); !st.ok()) {
      refuse(st);
      continue;
    }
    loaded.insert(name);
  }
  std::lock_guard<std::mutex> lock(catalog_mu_);
  if (!migrate) {
    // Refused names stay listed, so that fixing the file by hand brings the stream back.
    for (const auto& n : names) {
      if (config::IsValidStreamName(n)) api_names_.insert(n);
    }
    return Status::Ok();
  }
  // Names refused above stay out of the new catalog (their files stay, for inspection).
  api_names_ = std::move(loaded);
  if (names.empty()) return Status::Ok();
  SLUICE_RETURN_IF_ERROR(WriteCatalog(api_names_));
  spdlog::info("api-streams: wrote the catalog of {} stream(s)", api_names_.size());
  return Status::Ok();
}

Result<std::string> StreamRegistry::CreateStream(config::StreamConfig cfg) {
  SLUICE_RETURN_IF_ERROR(config::ValidateStream(cfg));
  SLUICE_RETURN_IF_ERROR(config::ValidateApiExpressible(cfg));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (streams_.count(cfg.name) != 0) {
      return Status::AlreadyExists("Firehose " + cfg.name + " under accountId " +
                                   server_.account_id + " already exists.");
    }
    if (streams_.size() >= server_.max_delivery_streams) return StreamLimitError();
  }
  cfg.from_api = true;
  if (cfg.create_timestamp_ms == 0) cfg.create_timestamp_ms = clock_->NowMs();
  // Refuse a bucket that cannot be delivered to before anything is written.
  for (const auto* dest : {&cfg.staged, &cfg.raw, &cfg.errors}) {
    if (!dest->empty()) SLUICE_RETURN_IF_ERROR(ResolveStoreRoot(*dest).status());
  }
  std::lock_guard<std::mutex> catalog_lock(catalog_mu_);
  // A new incarnation must never reuse old journal data of a stream with the same name.
  SLUICE_RETURN_IF_ERROR(journal_->DropStream(cfg.name));
  SLUICE_RETURN_IF_ERROR(fs::CreateDirs(ApiStreamDir()));
  SLUICE_RETURN_IF_ERROR(
      fs::WriteFileAtomically(ApiStreamPath(cfg.name), config::StreamToYaml(cfg)));
  std::set<std::string> names = api_names_;
  names.insert(cfg.name);
  Status st = WriteCatalog(names);
  if (st.ok()) st = StartStream(cfg);
  if (!st.ok()) {
    (void)WriteCatalog(api_names_);
    (void)fs::RemoveFile(ApiStreamPath(cfg.name));
    return st;
  }
  api_names_ = std::move(names);
  return Arn(cfg.name);
}

Status StreamRegistry::StreamLimitError() const {
  return Status::ResourceExhausted(
      "You have already consumed your quota of " + std::to_string(server_.max_delivery_streams) +
      " delivery streams (server.max_delivery_streams); delete a stream or raise the limit.");
}

Status StreamRegistry::DeleteStream(const std::string& name) {
  // Serialised with UpdateDestination and UpdateTags (which replace or rewrite the stream).
  std::lock_guard<std::mutex> catalog_lock(catalog_mu_);
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
    std::unique_lock<std::shared_mutex> life(s->life->mu);
    s->life->deleted = true;
  }
  for (auto& w : s->workers) w->Abort();
  {
    std::set<std::string> names = api_names_;
    names.erase(name);
    SLUICE_RETURN_IF_ERROR(WriteCatalog(names));
    api_names_ = std::move(names);
  }
  SLUICE_RETURN_IF_ERROR(fs::RemoveFile(ApiStreamPath(name)));
  SLUICE_RETURN_IF_ERROR(fs::FsyncDir(ApiStreamDir()));
  SLUICE_RETURN_IF_ERROR(journal_->DropStream(name));
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

Status StreamRegistry::UpdateTags(const std::string& name,
                                  const std::map<std::string, std::string>& add,
                                  const std::vector<std::string>& remove) {
  // catalog_mu_ keeps the stream (and its generation) from changing until the end; mu_ is held
  // only to read and to publish, never across the fsync, so Puts are not held up.
  std::lock_guard<std::mutex> catalog_lock(catalog_mu_);
  std::shared_ptr<Stream> s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = streams_.find(name);
    if (it == streams_.end()) {
      return Status::NotFound("Firehose " + name + " under account " + server_.account_id +
                              " not found.");
    }
    s = it->second;
  }
  if (!s->config.from_api) {
    return Status::FailedPrecondition("Firehose " + name +
                                      " is declared in the config file; set its tags there.");
  }
  config::StreamConfig updated = s->config;
  for (const auto& [k, v] : add) updated.tags[k] = v;
  for (const auto& k : remove) updated.tags.erase(k);
  if (updated.tags.size() > kMaxTags) {
    return Status::ResourceExhausted("A delivery stream can have at most " +
                                     std::to_string(kMaxTags) + " tags; " + name + " would have " +
                                     std::to_string(updated.tags.size()) + ".");
  }
  SLUICE_RETURN_IF_ERROR(
      fs::WriteFileAtomically(ApiStreamPath(name), config::StreamToYaml(updated)));
  std::lock_guard<std::mutex> lock(mu_);
  s->config.tags = std::move(updated.tags);
  return Status::Ok();
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
  std::shared_lock<std::shared_mutex> life(s->life->mu);
  if (s->life->deleted) {
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
                               // A full or failing disk is the server's condition, not the
                               // client's: ServiceUnavailableException (503 for PutRecord), as
                               // the quota path answers, so SDKs back off and retry.
                               for (auto& e : entries) {
                                 e.error_code = "ServiceUnavailableException";
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
