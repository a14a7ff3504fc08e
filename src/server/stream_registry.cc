#include "server/stream_registry.h"

#include <spdlog/spdlog.h>

#include <set>

#include "common/file_util.h"
#include "config/config.h"
#include "server/metrics.h"

namespace sluice::server {

StreamRegistry::StreamRegistry(const config::ServerConfig& server, streams::Service* streams,
                               secrets::Resolver* resolver, Clock* clock)
    : server_(server), ingest_(streams), resolver_(resolver), clock_(clock) {}

StreamRegistry::~StreamRegistry() {
  StopAll();
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

Result<std::unique_ptr<objectstore::ObjectStore>> StreamRegistry::OpenStore(
    const config::ObjectDestination& dest) const {
  objectstore::StoreOptions opts;
  opts.url = dest.url;
  SLUICE_ASSIGN_OR_RETURN(std::string root, ResolveStoreRoot(dest));
  if (!root.empty()) opts.url = "file://" + root;
  opts.endpoint = dest.endpoint;
  if (!dest.region.empty()) opts.region = dest.region;
  opts.path_style = dest.path_style;
  return objectstore::Open(opts);
}

Result<std::unique_ptr<pipeline::DeliveryStream>> StreamRegistry::BuildDelivery(
    const config::StreamConfig& cfg, const config::StreamState& state) {
  pipeline::DeliveryStreamDeps deps;
  deps.streams = ingest_;
  deps.kinesis_streams = kinesis_;
  deps.resolver = resolver_;
  deps.clock = clock_;
  deps.region = server_.region;
  deps.account_id = server_.account_id;
  deps.open_store = [this](const config::ObjectDestination& dest) { return OpenStore(dest); };
  deps.default_bucket_root = fs::Join(server_.data_dir, "buckets");
  deps.legacy_state_root = fs::Join(server_.data_dir, "delivery");
  return pipeline::DeliveryStream::Create(cfg, state.version, deps);
}

Status StreamRegistry::StartStream(const config::StreamConfig& cfg,
                                   const config::StreamState& state, bool fresh) {
  {
    MutexLock lock(mu_);
    if (stopped_) return Status::Unavailable("server is stopping");
    if (streams_.count(cfg.name) != 0) return Status::AlreadyExists(cfg.name);
    if (streams_.size() >= server_.max_delivery_streams) return StreamLimitError();
  }
  // A Direct PUT stream's hidden ingest stream: one shard per partition, the delivery stream's
  // creation time as its own (RecordIds carry it). A Kinesis source has none: it reads the
  // Kinesis stream's shards.
  const bool direct = cfg.type != config::SourceType::kKinesisStreamAsSource;
  if (direct) {
    streams::StreamSpec spec = streams::StreamSpec::WithEvenShards(
        cfg.name, streams::StreamKind::kDeliveryOwned, cfg.partitions);
    spec.created_ms = state.create_timestamp_ms;
    spec.retention_hours = cfg.retention_hours;
    SLUICE_RETURN_IF_ERROR(ingest_->Create(spec, {.discard_old_data = fresh}));
  }
  auto s = std::make_shared<Stream>();
  s->state = state;
  AttachMetrics(*s, cfg.name);
  auto delivery = BuildDelivery(cfg, state);
  Status st = delivery.status();
  if (st.ok()) {
    s->delivery = std::move(delivery).value();
    s->config = s->delivery->config();
  }
  if (st.ok()) {
    MutexLock lock(mu_);
    if (stopped_) {
      st = Status::Unavailable("server is stopping");
    } else if (streams_.count(cfg.name) != 0) {
      st = Status::AlreadyExists(cfg.name);
    } else {
      streams_[cfg.name] = s;
    }
  }
  if (!st.ok()) {
    // Journal data of a stream that could not start stays for the next start (unless it is new).
    s->delivery.reset();
    if (direct) (void)ingest_->Delete(cfg.name, nullptr, /*drop_data=*/fresh);
    return st;
  }
  s->delivery->Start();
  return Status::Ok();
}

Status StreamRegistry::UpdateDestination(const config::StreamConfig& updated_in,
                                         uint64_t expected_version) {
  MutexLock catalog_lock(catalog_mu_);
  std::shared_ptr<Stream> old;
  {
    MutexLock lock(mu_);
    auto it = streams_.find(updated_in.name);
    if (it == streams_.end()) return Status::NotFound(updated_in.name);
    old = it->second;
    if (stopped_) return Status::Unavailable("server is stopping");
  }
  if (!old->state.from_api) {
    return Status::FailedPrecondition("Firehose " + updated_in.name +
                                      " is declared in the config file; change it there.");
  }
  if (old->state.version != expected_version) {
    return Status::Aborted("version " + std::to_string(old->state.version));
  }
  config::StreamConfig updated = updated_in;
  // What the destination update cannot change stays as it is.
  updated.partitions = old->config.partitions;
  updated.type = old->config.type;
  updated.source_stream = old->config.source_stream;
  updated.tags = old->config.tags;
  config::StreamState state = old->state;
  state.version = expected_version + 1;
  SLUICE_RETURN_IF_ERROR(pipeline::DeliveryStream::Validate(updated));
  SLUICE_RETURN_IF_ERROR(config::ValidateApiExpressible(updated));
  // Everything the new configuration needs is built before anything changes: a configuration
  // that cannot run leaves the stream as it was.
  auto next = std::make_shared<Stream>();
  next->state = state;
  AttachMetrics(*next, updated.name);
  SLUICE_ASSIGN_OR_RETURN(next->delivery, BuildDelivery(updated, state));
  next->config = next->delivery->config();
  SLUICE_RETURN_IF_ERROR(
      fs::WriteFileAtomically(ApiStreamPath(updated.name), config::StreamToYaml(updated, state)));
  // The old workers finish the batch in hand and stop; the new ones continue from the committed
  // consumer state (a batch whose intent is recorded is redelivered). Puts go on meanwhile: they
  // append to the ingest stream, which both generations read.
  old->delivery->Handover();
  {
    MutexLock lock(mu_);
    streams_[updated.name] = next;
  }
  next->delivery->Start();
  spdlog::info("stream {}: destination updated to version {}", updated.name, state.version);
  return Status::Ok();
}

Status StreamRegistry::AddConfigStream(const config::StreamConfig& stream) {
  // A config-file stream's state lives for the process: version 1, created at this start.
  config::StreamState state;
  state.create_timestamp_ms = clock_->NowMs();
  return StartStream(stream, state, /*fresh=*/false);
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
    auto def = config::ParseStreamYaml(*text, path);
    if (!def.ok()) {
      refuse(def.status());
      continue;
    }
    if (def->config.name != name) {
      refuse(Status::InvalidArgument(path + " defines stream '" + def->config.name + "'"));
      continue;
    }
    if (Status st = config::ValidateApiExpressible(def->config); !st.ok()) {
      refuse(st);
      continue;
    }
    def->state.from_api = true;
    if (Status st = StartStream(def->config, def->state, /*fresh=*/false); !st.ok()) {
      refuse(st);
      continue;
    }
    loaded.insert(name);
  }
  MutexLock catalog_lock(catalog_mu_);
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

Status StreamRegistry::CreateStream(config::StreamConfig cfg, int64_t create_timestamp_ms) {
  SLUICE_RETURN_IF_ERROR(pipeline::DeliveryStream::Validate(cfg));
  SLUICE_RETURN_IF_ERROR(config::ValidateApiExpressible(cfg));
  {
    MutexLock lock(mu_);
    if (streams_.count(cfg.name) != 0) return Status::AlreadyExists(cfg.name);
    if (streams_.size() >= server_.max_delivery_streams) return StreamLimitError();
  }
  config::StreamState state;
  state.from_api = true;
  state.create_timestamp_ms = create_timestamp_ms != 0 ? create_timestamp_ms : clock_->NowMs();
  // Refuse a bucket that cannot be delivered to before anything is written.
  for (const auto* dest : {&cfg.staged, &cfg.raw, &cfg.errors}) {
    if (!dest->empty()) SLUICE_RETURN_IF_ERROR(ResolveStoreRoot(*dest).status());
  }
  MutexLock catalog_lock(catalog_mu_);
  // A new stream never reuses journal data of an earlier one with the same name: it goes before
  // the definition is written (a crash after that must not revive the old records).
  if (cfg.type == config::SourceType::kKinesisStreamAsSource) {
    if (kinesis_ == nullptr || !kinesis_->Describe(cfg.source_stream).ok()) {
      return Status::InvalidArgument("Kinesis stream " + cfg.source_stream + " under account " +
                                     server_.account_id + " not found.");
    }
    // A new delivery stream reads the Kinesis stream from its trim horizon, under its name.
    SLUICE_RETURN_IF_ERROR(kinesis_->DropConsumer(
        cfg.source_stream, pipeline::DeliveryStream::KinesisConsumerName(cfg.name)));
  } else {
    SLUICE_RETURN_IF_ERROR(ingest_->DiscardData(cfg.name));
  }
  SLUICE_RETURN_IF_ERROR(fs::CreateDirs(ApiStreamDir()));
  SLUICE_RETURN_IF_ERROR(
      fs::WriteFileAtomically(ApiStreamPath(cfg.name), config::StreamToYaml(cfg, state)));
  std::set<std::string> names = api_names_;
  names.insert(cfg.name);
  Status st = WriteCatalog(names);
  if (st.ok()) st = StartStream(cfg, state, /*fresh=*/true);
  if (!st.ok()) {
    (void)WriteCatalog(api_names_);
    (void)fs::RemoveFile(ApiStreamPath(cfg.name));
    return st;
  }
  api_names_ = std::move(names);
  return Status::Ok();
}

Status StreamRegistry::StreamLimitError() const {
  return Status::ResourceExhausted(
      "You have already consumed your quota of " + std::to_string(server_.max_delivery_streams) +
      " delivery streams (server.max_delivery_streams); delete a stream or raise the limit.");
}

Status StreamRegistry::DeleteStream(const std::string& name) {
  // Serialised with UpdateDestination and UpdateTags (which replace or rewrite the stream).
  MutexLock catalog_lock(catalog_mu_);
  std::shared_ptr<Stream> s;
  {
    MutexLock lock(mu_);
    auto it = streams_.find(name);
    if (it == streams_.end()) return Status::NotFound(name);
    if (!it->second->state.from_api) {
      return Status::FailedPrecondition(
          "Firehose " + name + " is declared in the config file; remove it there instead.");
    }
    s = it->second;
    streams_.erase(it);
  }
  // Puts are fenced off first; then the workers stop and the definition goes, before the data
  // (a crash in between leaves journal data of a stream that no longer exists, never a stream
  // that comes back empty).
  Status forgotten;
  auto release = [&] {
    catalog_mu_.AssertHeld();  // Delete runs this before it returns, on this thread
    s->delivery->Abort();
    std::set<std::string> names = api_names_;
    names.erase(name);
    forgotten = WriteCatalog(names);
    if (forgotten.ok()) api_names_ = std::move(names);
    if (forgotten.ok()) forgotten = fs::RemoveFile(ApiStreamPath(name));
    if (forgotten.ok()) forgotten = fs::FsyncDir(ApiStreamDir());
  };
  Status st;
  if (s->config.type == config::SourceType::kKinesisStreamAsSource) {
    // No ingest stream of its own: stop reading, forget the definition, then the consumer state
    // (it would hold back the Kinesis stream's retention).
    release();
    if (forgotten.ok() && kinesis_ != nullptr) {
      st = kinesis_->DropConsumer(s->config.source_stream,
                                  pipeline::DeliveryStream::KinesisConsumerName(name));
      if (st.code() == StatusCode::kNotFound) st = Status::Ok();
    }
  } else {
    st = ingest_->Delete(name, release);
  }
  SLUICE_RETURN_IF_ERROR(forgotten);
  SLUICE_RETURN_IF_ERROR(st);
  spdlog::info("stream {}: deleted", name);
  return Status::Ok();
}

Result<api::StreamInfo> StreamRegistry::DescribeStream(const std::string& name) {
  MutexLock lock(mu_);
  auto it = streams_.find(name);
  if (it == streams_.end()) return Status::NotFound(name);
  api::StreamInfo info;
  info.config = it->second->config;
  info.state = it->second->state;
  info.status = api::DeliveryStreamStatus::kActive;
  return info;
}

Status StreamRegistry::UpdateTags(const std::string& name,
                                  const std::map<std::string, std::string>& add,
                                  const std::vector<std::string>& remove) {
  // catalog_mu_ keeps the stream (and its generation) from changing until the end; mu_ is held
  // only to read and to publish, never across the fsync, so Puts are not held up.
  MutexLock catalog_lock(catalog_mu_);
  std::shared_ptr<Stream> s;
  {
    MutexLock lock(mu_);
    auto it = streams_.find(name);
    if (it == streams_.end()) return Status::NotFound(name);
    s = it->second;
  }
  if (!s->state.from_api) {
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
      fs::WriteFileAtomically(ApiStreamPath(name), config::StreamToYaml(updated, s->state)));
  MutexLock lock(mu_);
  s->config.tags = std::move(updated.tags);
  return Status::Ok();
}

std::vector<std::string> StreamRegistry::ListStreams() {
  MutexLock lock(mu_);
  std::vector<std::string> names;
  for (const auto& [name, s] : streams_) names.push_back(name);
  return names;
}

void StreamRegistry::Put(const std::string& stream, journal::RecordBatch records,
                         api::PutCallback done) {
  struct {
    observe::Counter* incoming_bytes;
    observe::Counter* incoming_records;
    observe::Counter* incoming_put_requests;
    observe::Counter* throttled_records;
  } counted{};  // the stream's metric series
  {
    MutexLock lock(mu_);
    auto it = streams_.find(stream);
    if (it == streams_.end()) {
      done(Status::NotFound(stream));
      return;
    }
    if (it->second->config.type == config::SourceType::kKinesisStreamAsSource) {
      done(Status::InvalidArgument(
          "This operation is not permitted on KinesisStreamAsSource delivery stream type."));
      return;
    }
    counted.incoming_bytes = it->second->incoming_bytes;
    counted.incoming_records = it->second->incoming_records;
    counted.incoming_put_requests = it->second->incoming_put_requests;
    counted.throttled_records = it->second->throttled_records;
  }
  std::vector<uint32_t> sizes;
  sizes.reserve(records.size());
  for (size_t i = 0; i < records.size(); ++i)
    sizes.push_back(static_cast<uint32_t>(records[i].size()));
  counted.incoming_put_requests->Inc();
  ingest_->AppendUnkeyed(
      stream, std::move(records),
      [done = std::move(done), sizes = std::move(sizes),
       m = counted](Result<streams::AppendResult> r) {
        if (!r.ok()) {
          done(r.status());
          return;
        }
        api::PutResult out;
        out.incarnation = static_cast<uint64_t>(r->stream_created_ms);
        out.entries.reserve(r->records.size());
        uint64_t ok_records = 0, ok_bytes = 0, refused = 0;
        for (size_t i = 0; i < r->records.size(); ++i) {
          auto& rec = r->records[i];
          if (rec.status.ok()) {
            ++ok_records;
            ok_bytes += i < sizes.size() ? sizes[i] : 0;
          } else {
            ++refused;
          }
          out.entries.push_back(
              api::PutEntry{std::move(rec.status), rec.position.shard, rec.position.offset.value});
        }
        m.incoming_records->Inc(ok_records);
        m.incoming_bytes->Inc(ok_bytes);
        m.throttled_records->Inc(refused);
        done(std::move(out));
      });
}

void StreamRegistry::AttachMetrics(Stream& s, const std::string& name) {
  s.incoming_bytes = &Metrics().incoming_bytes.With({name});
  s.incoming_records = &Metrics().incoming_records.With({name});
  s.incoming_put_requests = &Metrics().incoming_put_requests.With({name});
  s.throttled_records = &Metrics().throttled_records.With({name});
}

void StreamRegistry::FollowShards() {
  std::vector<std::shared_ptr<Stream>> streams;
  {
    MutexLock lock(mu_);
    if (stopped_) return;
    for (const auto& [name, s] : streams_) {
      if (s->config.type == config::SourceType::kKinesisStreamAsSource) streams.push_back(s);
    }
  }
  for (const auto& s : streams) s->delivery->FollowShards();
}

std::vector<std::string> StreamRegistry::ReadersOf(const std::string& kinesis_stream) {
  MutexLock lock(mu_);
  std::vector<std::string> names;
  for (const auto& [name, s] : streams_) {
    if (s->config.type == config::SourceType::kKinesisStreamAsSource &&
        s->config.source_stream == kinesis_stream) {
      names.push_back(name);
    }
  }
  return names;
}

void StreamRegistry::StopAll() {
  std::map<std::string, std::shared_ptr<Stream>> streams;
  {
    MutexLock lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    streams = streams_;
  }
  for (auto& [name, s] : streams) s->delivery->Stop();
}

}  // namespace sluice::server
