#include "streams/service.h"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "common/file_util.h"
#include "common/json_writer.h"

namespace sluice::streams {
namespace {

constexpr char kEntrySuffix[] = ".json";
constexpr char kQuotaReached[] = "the journal's quota of undelivered bytes is reached";

std::string NotFound(const std::string& name) {
  return "stream " + name + " not found";
}

std::string ShardNotFound(const std::string& name, uint32_t shard) {
  return "shard " + std::to_string(shard) + " of stream " + name + " not found";
}

// Catalog entry encoding: a JSON object, one file per stream.
std::string EncodeSpec(const StreamSpec& spec) {
  json::Writer w;
  w.BeginObject();
  w.Key("name");
  w.String(spec.name);
  w.Key("created_ms");
  w.Int(spec.created_ms);
  w.Key("retention_hours");
  w.Uint(spec.retention_hours);
  w.Key("shards");
  w.BeginArray();
  for (const auto& s : spec.shards) {
    w.BeginObject();
    w.Key("id");
    w.Uint(s.id);
    w.Key("start");
    w.String(s.hash_keys.start.ToDecimal());
    w.Key("end");
    w.String(s.hash_keys.end.ToDecimal());
    if (s.parent) {
      w.Key("parent");
      w.Uint(*s.parent);
    }
    if (s.adjacent_parent) {
      w.Key("adjacent_parent");
      w.Uint(*s.adjacent_parent);
    }
    w.Key("open");
    w.Bool(s.open);
    if (s.end_offset) {
      w.Key("end_offset");
      w.Uint(s.end_offset->value);
    }
    if (s.opened_ms != 0) {
      w.Key("opened_ms");
      w.Int(s.opened_ms);
    }
    if (s.closed_ms != 0) {
      w.Key("closed_ms");
      w.Int(s.closed_ms);
    }
    w.EndObject();
  }
  w.EndArray();
  w.Key("tags");
  w.BeginObject();
  for (const auto& [k, v] : spec.tags) {
    w.Key(k);
    w.String(v);
  }
  w.EndObject();
  w.Key("on_demand");
  w.Bool(spec.on_demand);
  w.Key("enforce_shard_limits");
  w.Bool(spec.enforce_shard_limits);
  w.Key("consumers");
  w.BeginArray();
  for (const auto& c : spec.consumers) {
    w.BeginObject();
    w.Key("name");
    w.String(c.name);
    w.Key("created_ms");
    w.Int(c.created_ms);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return w.str();
}

Result<StreamSpec> DecodeSpec(const std::string& text) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto err = parser.parse(text).get(doc); err) {
    return Status::Corruption(std::string("not JSON: ") + simdjson::error_message(err));
  }
  StreamSpec spec;
  spec.kind = StreamKind::kStandalone;
  std::string_view name;
  int64_t created = 0;
  uint64_t retention = 0;
  simdjson::dom::array shards;
  simdjson::dom::object tags;
  if (doc["name"].get(name) || doc["created_ms"].get(created) ||
      doc["retention_hours"].get(retention) || doc["shards"].get(shards) || doc["tags"].get(tags)) {
    return Status::Corruption("a field is missing or has the wrong type");
  }
  spec.name = std::string(name);
  spec.created_ms = created;
  spec.retention_hours = static_cast<uint32_t>(retention);
  for (auto s : shards) {
    Shard shard;
    uint64_t id = 0;
    std::string_view start, end;
    bool open = true;
    if (s["id"].get(id) || s["start"].get(start) || s["end"].get(end) || s["open"].get(open)) {
      return Status::Corruption("a shard field is missing or has the wrong type");
    }
    auto start_key = HashKey::Parse(start);
    auto end_key = HashKey::Parse(end);
    if (!start_key || !end_key) return Status::Corruption("a shard's hash key is not a number");
    shard.id = static_cast<uint32_t>(id);
    shard.hash_keys = {*start_key, *end_key};
    shard.open = open;
    uint64_t parent = 0;
    if (!s["parent"].get(parent)) shard.parent = static_cast<uint32_t>(parent);
    if (!s["adjacent_parent"].get(parent)) shard.adjacent_parent = static_cast<uint32_t>(parent);
    uint64_t end_offset = 0;
    if (!s["end_offset"].get(end_offset)) shard.end_offset = journal::Offset{end_offset};
    int64_t at = 0;
    if (!s["opened_ms"].get(at)) shard.opened_ms = at;
    if (!s["closed_ms"].get(at)) shard.closed_ms = at;
    spec.shards.push_back(shard);
  }
  for (auto [k, v] : tags) {
    std::string_view value;
    if (v.get(value)) return Status::Corruption("a tag value is not a string");
    spec.tags.emplace(std::string(k), std::string(value));
  }
  // Members added after the first release are optional.
  bool flag = false;
  if (!doc["on_demand"].get(flag)) spec.on_demand = flag;
  if (!doc["enforce_shard_limits"].get(flag)) spec.enforce_shard_limits = flag;
  simdjson::dom::array consumers;
  if (!doc["consumers"].get(consumers)) {
    for (auto c : consumers) {
      std::string_view consumer;
      int64_t at = 0;
      if (c["name"].get(consumer) || c["created_ms"].get(at)) {
        return Status::Corruption("a consumer field is missing or has the wrong type");
      }
      spec.consumers.push_back(RegisteredConsumer{std::string(consumer), at});
    }
  }
  return spec;
}

// The outcome of record `i` of one journal append to `shard`.
AppendOutcome OutcomeOf(const Result<journal::AppendResult>& r, uint32_t shard, size_t i) {
  AppendOutcome o;
  o.position.shard = shard;
  if (!r.ok()) {
    o.status = Status::Unavailable(r.status().message());
  } else if (i < r->accepted) {
    o.position = Position{shard, journal::Offset{r->first.value + i}};
  } else {
    o.status = Status::ResourceExhausted(kQuotaReached);
  }
  return o;
}

class ShardReaderImpl final : public ShardReader {
 public:
  ShardReaderImpl(std::unique_ptr<journal::Reader> reader, journal::Offset at)
      : reader_(std::move(reader)), position_(at) {}
  Result<size_t> Next(size_t max_records, size_t max_bytes,
                      std::vector<journal::StoredRecord>& out) override {
    size_t before = out.size();
    SLUICE_ASSIGN_OR_RETURN(size_t n, reader_->Next(max_records, max_bytes, out));
    if (n > 0) position_ = out[before + n - 1].offset.Next();
    return n;
  }
  journal::Offset position() const override { return position_; }

 private:
  std::unique_ptr<journal::Reader> reader_;
  journal::Offset position_;
};

// A reader of a keyed shard that returns each record's data without its partition key.
class DataOnlyReader final : public journal::Reader {
 public:
  explicit DataOnlyReader(std::unique_ptr<journal::Reader> inner) : inner_(std::move(inner)) {}
  Status Seek(journal::Offset offset) override { return inner_->Seek(offset); }
  Result<size_t> Next(size_t max_records, size_t max_bytes,
                      std::vector<journal::StoredRecord>& out) override {
    const size_t before = out.size();
    SLUICE_ASSIGN_OR_RETURN(size_t n, inner_->Next(max_records, max_bytes, out));
    for (size_t i = before; i < out.size(); ++i) {
      auto keyed = SplitKeyed(out[i].data);
      if (!keyed) {
        return Status::Corruption("offset " + std::to_string(out[i].offset.value) +
                                  ": a record of a keyed stream has no partition key header");
      }
      out[i].data.erase(0, kKeyedHeaderBytes + keyed->partition_key.size());
    }
    return n;
  }

 private:
  std::unique_ptr<journal::Reader> inner_;
};

}  // namespace

Result<std::unique_ptr<journal::Reader>> Consumer::NewReader() {
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<journal::Reader> reader, log_->NewReader());
  if (!keyed_) return reader;
  return std::unique_ptr<journal::Reader>(new DataOnlyReader(std::move(reader)));
}

char* WriteKeyedHeader(std::string_view partition_key, char* out) {
  const size_t n = partition_key.size();
  out[0] = static_cast<char>(n & 0xff);
  out[1] = static_cast<char>((n >> 8) & 0xff);
  if (n > 0) std::memcpy(out + kKeyedHeaderBytes, partition_key.data(), n);
  return out + kKeyedHeaderBytes + n;
}

std::string EncodeKeyed(std::string_view partition_key, std::string_view data) {
  std::string out(KeyedHeaderSize(partition_key) + data.size(), '\0');
  char* p = WriteKeyedHeader(partition_key, out.data());
  if (!data.empty()) std::memcpy(p, data.data(), data.size());
  return out;
}

std::optional<KeyedView> SplitKeyed(std::string_view payload) {
  if (payload.size() < kKeyedHeaderBytes) return std::nullopt;
  const size_t n = static_cast<uint8_t>(payload[0]) |
                   (static_cast<size_t>(static_cast<uint8_t>(payload[1])) << 8);
  if (n > kMaxPartitionKeyBytes || kKeyedHeaderBytes + n > payload.size()) return std::nullopt;
  return KeyedView{payload.substr(kKeyedHeaderBytes, n), payload.substr(kKeyedHeaderBytes + n)};
}

StreamSpec StreamSpec::WithEvenShards(std::string name, StreamKind kind, uint32_t shards) {
  StreamSpec spec;
  spec.name = std::move(name);
  spec.kind = kind;
  auto ranges = EvenRanges(shards);
  for (uint32_t i = 0; i < ranges.size(); ++i) spec.shards.push_back(Shard{i, ranges[i]});
  return spec;
}

Status ValidateShards(const StreamSpec& spec) {
  if (spec.shards.empty()) return Status::InvalidArgument("stream " + spec.name + " has no shard");
  std::vector<HashKeyRange> open;
  std::vector<uint32_t> ids;
  for (const auto& s : spec.shards) {
    ids.push_back(s.id);
    if (s.hash_keys.end < s.hash_keys.start) {
      return Status::InvalidArgument("shard " + std::to_string(s.id) + " has an empty range");
    }
    if (s.open) open.push_back(s.hash_keys);
  }
  std::sort(ids.begin(), ids.end());
  if (std::adjacent_find(ids.begin(), ids.end()) != ids.end()) {
    return Status::InvalidArgument("stream " + spec.name + " has two shards with one id");
  }
  std::sort(open.begin(), open.end(),
            [](const HashKeyRange& a, const HashKeyRange& b) { return a.start < b.start; });
  HashKey expect{};
  for (size_t i = 0; i < open.size(); ++i) {
    if (open[i].start != expect) {
      return Status::InvalidArgument("the open shards of stream " + spec.name +
                                     " do not cover the hash key space exactly once");
    }
    if (open[i].end == HashKey::Max()) {
      if (i + 1 != open.size()) {
        return Status::InvalidArgument("the open shards of stream " + spec.name + " overlap");
      }
      return Status::Ok();
    }
    expect = open[i].end;
    expect.lo += 1;
    if (expect.lo == 0) expect.hi += 1;
  }
  return Status::InvalidArgument("the open shards of stream " + spec.name +
                                 " do not cover the hash key space");
}

Status ValidateStreamName(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 128 && name != "." && name != "..";
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '.' || c == '-');
  }
  if (ok) return Status::Ok();
  return Status::InvalidArgument("stream name '" + name +
                                 "' is not 1-128 characters of [a-zA-Z0-9_.-] (nor . or ..)");
}

Service::Service(journal::Journal* journal, ServiceOptions options)
    : journal_(journal), options_(std::move(options)) {}

std::string Service::EntryPath(const std::string& name) const {
  return fs::Join(options_.catalog_dir, name + kEntrySuffix);
}

Status Service::Persist(const StreamSpec& spec) const {
  SLUICE_RETURN_IF_ERROR(fs::CreateDirs(options_.catalog_dir));
  return fs::WriteFileAtomically(EntryPath(spec.name), EncodeSpec(spec));
}

Result<std::shared_ptr<Service::Entry>> Service::MakeEntry(StreamSpec spec) {
  auto e = std::make_shared<Entry>(spec.name, spec.kind, spec.created_ms);
  {
    // Not yet shared with any other thread; locked for the analysis.
    WriterMutexLock life(e->life_mu);
    for (const auto& shard : spec.shards) {
      SLUICE_ASSIGN_OR_RETURN(journal::PartitionLog * log,
                              journal_->Partition(JournalName(spec.name), shard.id));
      auto state = std::make_unique<ShardState>();
      state->id = shard.id;
      state->hash_keys = shard.hash_keys;
      state->log = log;
      if (shard.open) e->open.push_back(state.get());
      e->shards.emplace(shard.id, std::move(state));
    }
    std::sort(e->open.begin(), e->open.end(), [](const ShardState* a, const ShardState* b) {
      return a->hash_keys.start < b->hash_keys.start;
    });
  }
  e->enforce_limits = spec.enforce_shard_limits;
  e->on_demand = spec.on_demand;
  e->spec = std::move(spec);
  return e;
}

Service::ShardState* Service::FindShard(const Entry& e, uint32_t shard) {
  auto it = e.shards.find(shard);
  return it == e.shards.end() ? nullptr : it->second.get();
}

void Service::HandedOver(ShardState& s) {
  MutexLock lock(s.mu);
  ++s.in_flight;
}

void Service::Answered(ShardState& s) {
  MutexLock lock(s.mu);
  if (--s.in_flight == 0) s.drained.NotifyAll();
}

Status Service::CheckNotRemoved(const Entry& e) {
  return e.removed ? Status::NotFound(NotFound(e.name)) : Status::Ok();
}

Status Service::Open() {
  auto files = fs::ListDir(options_.catalog_dir);
  if (!files.ok()) {
    return files.status().code() == StatusCode::kNotFound ? Status::Ok() : files.status();
  }
  const size_t suffix = sizeof kEntrySuffix - 1;
  for (const auto& file : *files) {
    if (file.size() <= suffix || file.compare(file.size() - suffix, suffix, kEntrySuffix) != 0) {
      continue;  // a temp file of an interrupted write, or not ours
    }
    std::string path = fs::Join(options_.catalog_dir, file);
    SLUICE_ASSIGN_OR_RETURN(std::string text, fs::ReadFile(path));
    auto spec = DecodeSpec(text);
    if (!spec.ok()) return Status::Corruption(path + ": " + spec.status().message());
    if (spec->name + kEntrySuffix != file || !ValidateStreamName(spec->name).ok()) {
      return Status::Corruption(path + ": names stream '" + spec->name + "'");
    }
    if (Status st = ValidateShards(*spec); !st.ok()) {
      return Status::Corruption(path + ": " + st.message());
    }
    // A reshard that was interrupted between persisting its new shards and their parents' ends
    // left closed shards without end_offset: no record was added to them since (they were closed
    // at start), so their end is their log's end.
    bool completed = false;
    for (auto& shard : spec->shards) {
      if (shard.open || shard.end_offset) continue;
      SLUICE_ASSIGN_OR_RETURN(journal::PartitionLog * log,
                              journal_->Partition(JournalName(spec->name), shard.id));
      shard.end_offset = log->End();
      completed = true;
    }
    if (completed) SLUICE_RETURN_IF_ERROR(Persist(*spec));
    SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<Entry> e, MakeEntry(*std::move(spec)));
    MutexLock lock(mu_);
    streams_[e->name] = std::move(e);
  }
  return Status::Ok();
}

Status Service::Create(StreamSpec spec, CreateOptions options) {
  SLUICE_RETURN_IF_ERROR(ValidateStreamName(spec.name));
  SLUICE_RETURN_IF_ERROR(ValidateShards(spec));
  if (spec.created_ms == 0) spec.created_ms = options_.clock->NowMs();
  {
    MutexLock lock(mu_);
    if (streams_.count(spec.name) != 0) {
      return Status::AlreadyExists("stream " + spec.name + " already exists");
    }
  }
  // Creation of one name is serialised by its owner (the API handlers check and create under
  // their own lock); the check above keeps a second owner out.
  if (options.discard_old_data)
    SLUICE_RETURN_IF_ERROR(journal_->DropStream(JournalName(spec.name)));
  if (spec.kind == StreamKind::kStandalone) SLUICE_RETURN_IF_ERROR(Persist(spec));
  SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<Entry> e, MakeEntry(std::move(spec)));
  MutexLock lock(mu_);
  auto [it, inserted] = streams_.emplace(e->name, e);
  if (!inserted) return Status::AlreadyExists("stream " + e->name + " already exists");
  return Status::Ok();
}

Status Service::Delete(const std::string& name, const std::function<void()>& release,
                       bool drop_data) {
  std::shared_ptr<Entry> e;
  {
    MutexLock lock(mu_);
    auto it = streams_.find(name);
    if (it == streams_.end()) return Status::NotFound(NotFound(name));
    e = it->second;
    streams_.erase(it);
  }
  // Waits for an Update or reshard in progress; later ones find the entry removed (and persist
  // nothing that would bring its catalog file back).
  MutexLock update(e->update_mu);
  e->removed = true;
  {
    WriterMutexLock life(e->life_mu);
    e->deleted = true;
  }
  if (release) release();
  if (e->kind == StreamKind::kStandalone) {
    SLUICE_RETURN_IF_ERROR(fs::RemoveFile(EntryPath(name)));
    SLUICE_RETURN_IF_ERROR(fs::FsyncDir(options_.catalog_dir));
  }
  return drop_data ? journal_->DropStream(JournalName(name)) : Status::Ok();
}

void Service::LogAppendFailure(const Entry& e, uint32_t shard,
                               const Result<journal::AppendResult>& r) {
  if (!r.ok()) {
    spdlog::error("stream {} shard {}: append failed: {}", e.name, shard, r.status().ToString());
  }
}

Status Service::DiscardData(const std::string& name) {
  SLUICE_RETURN_IF_ERROR(ValidateStreamName(name));
  {
    MutexLock lock(mu_);
    if (streams_.count(name) != 0) {
      return Status::FailedPrecondition("stream " + name + " exists; delete it instead");
    }
  }
  return journal_->DropStream(JournalName(name));
}

Result<std::shared_ptr<Service::Entry>> Service::Find(const std::string& name) const {
  MutexLock lock(mu_);
  auto it = streams_.find(name);
  if (it == streams_.end()) return Status::NotFound(NotFound(name));
  return it->second;
}

Result<StreamInfo> Service::Describe(const std::string& name) const {
  SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<Entry> e, Find(name));
  MutexLock lock(mu_);
  return StreamInfo{e->spec, e->status};
}

std::vector<std::string> Service::List(std::optional<StreamKind> kind) const {
  MutexLock lock(mu_);
  std::vector<std::string> names;
  for (const auto& [name, e] : streams_) {
    if (!kind || e->spec.kind == *kind) names.push_back(name);
  }
  return names;
}

Status Service::SetTags(const std::string& name, std::map<std::string, std::string> tags) {
  return Update(name, [&](StreamSpec& spec) {
    spec.tags = std::move(tags);
    return Status::Ok();
  });
}

Status Service::Update(const std::string& name, const std::function<Status(StreamSpec&)>& change) {
  SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<Entry> e, Find(name));
  // One update of a stream at a time: read, change, persist, publish.
  MutexLock update(e->update_mu);
  SLUICE_RETURN_IF_ERROR(CheckNotRemoved(*e));
  StreamSpec updated = e->spec;  // its writers hold update_mu
  SLUICE_RETURN_IF_ERROR(change(updated));
  if (updated.name != e->spec.name || updated.shards != e->spec.shards ||
      updated.created_ms != e->spec.created_ms || updated.kind != e->spec.kind) {
    return Status::InvalidArgument(
        "Update may not change a stream's name, kind, shards or creation");
  }
  if (updated.kind == StreamKind::kStandalone) SLUICE_RETURN_IF_ERROR(Persist(updated));
  e->enforce_limits = updated.enforce_shard_limits;
  e->on_demand = updated.on_demand;
  MutexLock lock(mu_);
  e->spec = std::move(updated);
  return Status::Ok();
}

std::shared_ptr<Service::Entry> Service::FindForAppend(const std::string& name,
                                                       const AppendCallback& done) {
  auto found = Find(name);
  if (!found.ok()) {
    done(found.status());
    return nullptr;
  }
  return *std::move(found);
}

bool Service::Writable(const Entry& e, const AppendCallback& done) {
  if (!e.deleted && !e.open.empty()) return true;
  done(Status::NotFound(NotFound(e.name)));
  return false;
}

void Service::TakeWriteTokens(ShardState& shard, const std::vector<size_t>& sizes,
                              std::vector<bool>& refused) const {
  // Thousandths of a byte / record: a second's worth is the rate x 1000, a millisecond's the rate.
  const uint64_t byte_cap = options_.shard_write_bytes_per_sec * 1000;
  const uint64_t record_cap = options_.shard_write_records_per_sec * 1000;
  const int64_t now = options_.clock->MonotonicMs();
  MutexLock lock(shard.mu);
  if (shard.refilled_ms == INT64_MIN) {
    shard.byte_tokens = byte_cap;
    shard.record_tokens = record_cap;
  } else if (now > shard.refilled_ms) {
    const auto elapsed = static_cast<uint64_t>(std::min<int64_t>(now - shard.refilled_ms, 1000));
    shard.byte_tokens =
        std::min(byte_cap, shard.byte_tokens + elapsed * options_.shard_write_bytes_per_sec);
    shard.record_tokens =
        std::min(record_cap, shard.record_tokens + elapsed * options_.shard_write_records_per_sec);
  }
  shard.refilled_ms = std::max(shard.refilled_ms, now);
  for (size_t i = 0; i < sizes.size(); ++i) {
    const uint64_t bytes = static_cast<uint64_t>(sizes[i]) * 1000;
    refused[i] = shard.byte_tokens < bytes || shard.record_tokens < 1000;
    if (refused[i]) continue;
    shard.byte_tokens -= bytes;
    shard.record_tokens -= 1000;
  }
}

void Service::AppendUnkeyed(const std::string& name, journal::RecordBatch batch,
                            AppendCallback done) {
  std::shared_ptr<Entry> e = FindForAppend(name, done);
  if (!e) return;
  // Held while the records go to the journal: Delete waits for it before dropping the data, a
  // reshard before it switches the open shards.
  ReaderMutexLock life(e->life_mu);
  if (!Writable(*e, done)) return;
  ShardState* state = e->open[e->next_shard.fetch_add(1) % e->open.size()];
  const uint32_t shard = state->id;
  const size_t n = batch.size();
  for (size_t i = 0; i < n; ++i) batch.set_shard(i, shard);
  state->written_bytes += batch.bytes();
  state->written_records += n;
  HandedOver(*state);
  state->log->Append(
      std::make_shared<const journal::RecordBatch>(std::move(batch)), shard,
      options_.clock->NowMs(),
      [e, state, shard, n, done = std::move(done)](const Result<journal::AppendResult>& r) {
        Answered(*state);
        LogAppendFailure(*e, shard, r);
        AppendResult result;
        result.stream_created_ms = e->created_ms;
        result.records.reserve(n);
        for (size_t i = 0; i < n; ++i) result.records.push_back(OutcomeOf(r, shard, i));
        done(std::move(result));
      });
}

void Service::Append(const std::string& name, const std::vector<Record>& records,
                     AppendCallback done) {
  journal::RecordBatch batch;
  std::vector<std::optional<HashKey>> explicit_keys;
  for (const auto& r : records) {
    batch.Append(EncodeKeyed(r.partition_key, r.data));
    explicit_keys.push_back(r.explicit_hash_key);
  }
  Append(name, std::move(batch), std::move(explicit_keys), std::move(done));
}

void Service::Append(const std::string& name, journal::RecordBatch batch,
                     std::vector<std::optional<HashKey>> explicit_hash_keys, AppendCallback done) {
  const size_t n = batch.size();
  if (!explicit_hash_keys.empty() && explicit_hash_keys.size() != n) {
    done(Status::InvalidArgument("explicit hash keys do not match the records"));
    return;
  }
  std::shared_ptr<Entry> e = FindForAppend(name, done);
  if (!e) return;
  // Held while the records are routed and go to the journal: Delete waits for it before dropping
  // the data, a reshard before it switches the open shards (so no record reaches a closed shard).
  ReaderMutexLock life(e->life_mu);
  if (!Writable(*e, done)) return;
  // Route every record to the open shard owning its hash key; one journal append per shard.
  struct Group {
    ShardState* shard = nullptr;
    std::vector<size_t> members;  // record indexes, in order
    std::vector<size_t> sizes;    // data + partition key bytes
  };
  std::vector<Group> groups;
  for (size_t i = 0; i < n; ++i) {
    const std::string_view payload = batch[i];
    auto keyed = SplitKeyed(payload);
    if (!keyed) {
      done(Status::InvalidArgument("record " + std::to_string(i) + " is not a keyed payload"));
      return;
    }
    HashKey key = !explicit_hash_keys.empty() && explicit_hash_keys[i]
                      ? *explicit_hash_keys[i]
                      : HashKey::FromPartitionKey(keyed->partition_key);
    // The last open shard starting at or below the key owns it (they cover the key space).
    auto it = std::upper_bound(
        e->open.begin(), e->open.end(), key,
        [](const HashKey& k, const ShardState* s) { return k < s->hash_keys.start; });
    ShardState* shard = it == e->open.begin() ? e->open.front() : *std::prev(it);
    // Few shards per request: a linear search beats a map.
    auto g = std::find_if(groups.begin(), groups.end(),
                          [shard](const Group& x) { return x.shard == shard; });
    if (g == groups.end()) g = groups.insert(groups.end(), Group{shard, {}, {}});
    g->members.push_back(i);
    g->sizes.push_back(payload.size() - kKeyedHeaderBytes);
    batch.set_shard(i, shard->id);
  }
  struct Pending {
    Mutex mu;
    AppendResult result SLUICE_GUARDED_BY(mu);
    size_t remaining SLUICE_GUARDED_BY(mu) = 0;
    AppendCallback done;  // set before any journal callback can run
  };
  auto pending = std::make_shared<Pending>();
  const bool enforce = e->enforce_limits.load();
  size_t to_journal = 0;
  {
    MutexLock lock(pending->mu);
    pending->result.stream_created_ms = e->created_ms;
    pending->result.records.resize(n);
    for (Group& g : groups) {
      std::vector<bool> refused(g.members.size(), false);
      if (enforce) TakeWriteTokens(*g.shard, g.sizes, refused);
      std::vector<size_t> kept;
      kept.reserve(g.members.size());
      uint64_t bytes = 0;
      for (size_t j = 0; j < g.members.size(); ++j) {
        const size_t i = g.members[j];
        if (refused[j]) {
          pending->result.records[i].status = Status::ResourceExhausted(kRateExceeded);
          pending->result.records[i].position.shard = g.shard->id;
          batch.set_shard(i, journal::RecordBatch::kNoShard);  // never reaches the journal
          continue;
        }
        kept.push_back(i);
        bytes += g.sizes[j];
      }
      g.members = std::move(kept);
      g.shard->written_bytes += bytes;
      g.shard->written_records += g.members.size();
      if (!g.members.empty()) ++to_journal;
    }
    pending->remaining = to_journal;
  }
  if (to_journal == 0) {
    MutexLock lock(pending->mu);
    AppendResult result = std::move(pending->result);
    lock.Unlock();
    done(std::move(result));
    return;
  }
  pending->done = std::move(done);
  const int64_t now = options_.clock->NowMs();
  // Shared by the shards' appends, each of which may finish on its own commit thread.
  auto shared = std::make_shared<const journal::RecordBatch>(std::move(batch));
  for (Group& g : groups) {
    if (g.members.empty()) continue;
    ShardState* state = g.shard;
    const uint32_t shard = state->id;
    HandedOver(*state);
    state->log->Append(shared, shard, now,
                       [e, state, shard, pending,
                        members = std::move(g.members)](const Result<journal::AppendResult>& r) {
                         Answered(*state);
                         LogAppendFailure(*e, shard, r);
                         MutexLock lock(pending->mu);
                         for (size_t j = 0; j < members.size(); ++j) {
                           pending->result.records[members[j]] = OutcomeOf(r, shard, j);
                         }
                         if (--pending->remaining > 0) return;
                         AppendResult result = std::move(pending->result);
                         lock.Unlock();
                         pending->done(std::move(result));
                       });
  }
}

Result<std::unique_ptr<ShardReader>> Service::Read(const std::string& name, uint32_t shard,
                                                   const StartingPosition& from) {
  SLUICE_ASSIGN_OR_RETURN(journal::PartitionLog * log, LogOf(name, shard));
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<journal::Reader> reader, log->NewReader());
  const journal::Offset begin = log->Begin();
  const journal::Offset end = log->End();
  journal::Offset at = begin;
  using Type = StartingPosition::Type;
  switch (from.type) {
    case Type::kTrimHorizon: break;
    case Type::kLatest: at = end; break;
    case Type::kAt:
    case Type::kAfter: {
      at = from.type == Type::kAt ? from.offset : from.offset.Next();
      if (at > end) {
        return Status::InvalidArgument("offset " + std::to_string(from.offset.value) +
                                       " is past the end of shard " + std::to_string(shard) +
                                       " of stream " + name);
      }
      at = std::max(at, begin);  // trimmed by retention: the oldest record kept
      break;
    }
    case Type::kAtTimestamp: {
      // The first record that arrived at or after the time; arrival times ascend in a shard.
      // Scans from the trim horizon (the segment index could skip whole segments by their
      // newest arrival time; not needed until GetShardIterator AT_TIMESTAMP is served).
      std::vector<journal::StoredRecord> chunk;
      at = end;
      for (;;) {
        chunk.clear();
        SLUICE_ASSIGN_OR_RETURN(size_t n, reader->Next(1024, 4u << 20, chunk));
        if (n == 0) break;
        auto it = std::find_if(chunk.begin(), chunk.end(), [&](const journal::StoredRecord& r) {
          return r.arrival_ms >= from.timestamp_ms;
        });
        if (it != chunk.end()) {
          at = it->offset;
          break;
        }
      }
      break;
    }
  }
  SLUICE_RETURN_IF_ERROR(reader->Seek(at));
  return std::unique_ptr<ShardReader>(new ShardReaderImpl(std::move(reader), at));
}

Status Service::DropConsumer(const std::string& name, const std::string& consumer) {
  SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<Entry> e, Find(name));
  ReaderMutexLock life(e->life_mu);
  for (const auto& [id, state] : e->shards) {
    SLUICE_RETURN_IF_ERROR(state->log->RemoveConsumer(consumer));
  }
  return Status::Ok();
}

Result<journal::PartitionLog*> Service::LogOf(const std::string& name, uint32_t shard) const {
  SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<Entry> e, Find(name));
  ReaderMutexLock life(e->life_mu);
  ShardState* state = FindShard(*e, shard);
  if (state == nullptr) return Status::NotFound(ShardNotFound(name, shard));
  return state->log;
}

Result<std::unique_ptr<Consumer>> Service::OpenConsumer(const std::string& name, uint32_t shard,
                                                        const std::string& consumer) {
  if (consumer == kRetentionConsumer) {
    return Status::InvalidArgument("consumer name '" + consumer + "' is reserved");
  }
  SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<Entry> e, Find(name));
  SLUICE_ASSIGN_OR_RETURN(journal::PartitionLog * log, LogOf(name, shard));
  if (e->kind == StreamKind::kStandalone) {
    // Registers the consumer with the journal (a consumer that never committed is unknown to
    // it), so that retention keeps what it has not read.
    SLUICE_RETURN_IF_ERROR(log->Commit(consumer, log->Committed(consumer)));
  }
  return std::make_unique<Consumer>(name, shard, consumer, log, e->kind == StreamKind::kStandalone);
}

Result<journal::ConsumerState> Service::Committed(const std::string& name, uint32_t shard,
                                                  const std::string& consumer) const {
  SLUICE_ASSIGN_OR_RETURN(journal::PartitionLog * log, LogOf(name, shard));
  return log->Committed(consumer);
}

Result<journal::Offset> Service::ShardEnd(const std::string& name, uint32_t shard) const {
  SLUICE_ASSIGN_OR_RETURN(journal::PartitionLog * log, LogOf(name, shard));
  return log->End();
}

Result<StreamWrites> Service::Writes(const std::string& name) const {
  SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<Entry> e, Find(name));
  StreamWrites out;
  out.on_demand = e->on_demand.load();
  ReaderMutexLock life(e->life_mu);
  out.open_shards.reserve(e->open.size());
  for (const ShardState* s : e->open) {
    out.open_shards.push_back(
        ShardWrites{s->id, s->hash_keys, s->written_bytes.load(), s->written_records.load()});
  }
  return out;
}

Result<size_t> Service::ApplyRetention() {
  size_t deleted = 0;
  Status first_error;
  for (const std::string& name : List(StreamKind::kStandalone)) {
    auto found = Find(name);
    if (!found.ok()) continue;  // deleted meanwhile
    const std::shared_ptr<Entry>& e = *found;
    journal::Retention retention;
    {
      MutexLock lock(mu_);
      retention.max_age_ms = int64_t{e->spec.retention_hours} * 3600 * 1000;
    }
    // Held so that Delete cannot drop the logs meanwhile.
    ReaderMutexLock life(e->life_mu);
    if (e->deleted) continue;
    for (const auto& [id, state] : e->shards) {
      journal::PartitionLog* log = state->log;
      // The journal deletes only segments every consumer has committed past, and nothing with no
      // consumer: the retention consumer, always at the end, makes age the only limit unless a
      // named consumer is behind.
      Status st;
      const journal::Offset end = log->End();
      if (log->Checkpoint(kRetentionConsumer) != end)
        st = log->CommitCheckpoint(kRetentionConsumer, end);
      if (st.ok()) {
        auto n = log->ApplyRetention(retention);
        if (n.ok()) {
          deleted += *n;
        } else {
          st = n.status();
        }
      }
      if (!st.ok()) {
        st = st.WithContext("stream " + name + " shard " + std::to_string(id) + ": retention");
        spdlog::warn("{}", st.ToString());
        if (first_error.ok()) first_error = st;
      }
    }
  }
  if (!first_error.ok()) return first_error;
  return deleted;
}

}  // namespace sluice::streams
