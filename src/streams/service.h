// streams::Service: the ingest streams of a server on its journal — the one API-neutral service
// every front end uses (design.md §3). It keeps the catalog of streams (shards with hash-key
// ranges and parent/child links, retention, tags, status), appends records with per-record
// outcomes, reads shards from a position or a time, and gives named consumers their committed
// state (next position and pending batch intent).
//
// Persistence: a kStandalone stream's catalog entry is a file <catalog_dir>/<name>.json, written
// atomically and durably on every change, and loaded by Open(). A kDeliveryOwned stream is not
// persisted here: its delivery stream keeps its definition and re-creates it at start.
//
// Thread safety: every method is thread-safe. Append does not block on disk: its callback runs on
// the journal's commit thread once the records are durable (or on the calling thread when the
// whole call fails at once).
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/status.h"
#include "journal/journal.h"
#include "streams/stream.h"

namespace sluice::streams {

// What an Append did: one outcome per record, in order, and which stream took them (its
// created_ms tells a stream from an earlier one of the same name).
struct AppendResult {
  int64_t stream_created_ms = 0;
  std::vector<AppendOutcome> records;
};
using AppendCallback = std::function<void(Result<AppendResult>)>;

// Reads one shard in order from a starting position. Not thread-safe; one per reader.
class ShardReader {
 public:
  virtual ~ShardReader() = default;
  // Appends up to max_records / about max_bytes records from the current position to `out`;
  // returns how many (0 at the durable end).
  virtual Result<size_t> Next(size_t max_records, size_t max_bytes,
                              std::vector<journal::StoredRecord>& out) = 0;
  // The next offset Next() will return.
  virtual journal::Offset position() const = 0;
};

// One named consumer of one shard: its committed state, and what it needs to follow the shard.
// It must not outlive the stream (Service::Delete runs `release` before the data goes).
class Consumer {
 public:
  // `keyed`: the shard's payloads carry partition keys (a Kinesis stream's); the consumer's
  // readers then return the data alone, as delivery wants it.
  Consumer(std::string stream, uint32_t shard, std::string name, journal::PartitionLog* log,
           bool keyed = false)
      : stream_(std::move(stream)),
        shard_(shard),
        name_(std::move(name)),
        log_(log),
        keyed_(keyed) {}
  const std::string& stream() const { return stream_; }
  uint32_t shard() const { return shard_; }
  const std::string& name() const { return name_; }

  journal::ConsumerState Committed() const { return log_->Committed(name_); }
  [[nodiscard]] Status Commit(const journal::ConsumerState& state) {
    return log_->Commit(name_, state);
  }
  Result<std::unique_ptr<journal::Reader>> NewReader();
  journal::Offset End() const { return log_->End(); }
  journal::Offset Begin() const { return log_->Begin(); }
  bool WaitForData(journal::Offset after, int64_t timeout_ms) {
    return log_->WaitForData(after, timeout_ms);
  }
  void SetDataListener(std::function<void()> listener) {
    log_->SetDataListener(name_, std::move(listener));
  }
  Result<size_t> ApplyRetention(const journal::Retention& retention) {
    return log_->ApplyRetention(retention);
  }

 private:
  std::string stream_;
  uint32_t shard_;
  std::string name_;
  journal::PartitionLog* log_;
  bool keyed_;
};

struct ServiceOptions {
  std::string catalog_dir;  // where kStandalone streams' entries live (created if missing)
  Clock* clock = &Clock::System();
  // Prepended to stream names to name their journal streams, keeping services on one journal
  // apart: "" for delivery streams, kKinesisJournalNamespace for Kinesis streams (a Kinesis
  // stream and a delivery stream may share a name).
  std::string journal_namespace;
};
inline constexpr char kKinesisJournalNamespace[] = "kinesis+";

class Service {
 public:
  Service(journal::Journal* journal, ServiceOptions options);
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Loads the persisted catalog. A damaged entry fails with its path.
  Status Open();

  struct CreateOptions {
    // Deletes journal data left by an earlier stream of the same name first (a new stream never
    // reads an old one's records). Off for a delivery stream of the config file, whose data
    // carries over restarts.
    bool discard_old_data = true;
  };
  // Adds a stream (kStandalone ones are persisted before this returns). AlreadyExists;
  // InvalidArgument for a bad name or shards that do not cover the key space once.
  Status Create(StreamSpec spec, CreateOptions options);
  Status Create(StreamSpec spec) { return Create(std::move(spec), CreateOptions{}); }
  // Removes a stream: appends are fenced off first (an Append racing it gets NotFound, none
  // reaches dropped data), then `release` runs (the owner stops its consumers), then the catalog
  // entry and, when `drop_data`, the journal data go (kept: an owner that could not start the
  // stream leaves its records for the next start). NotFound.
  Status Delete(const std::string& name, const std::function<void()>& release = nullptr,
                bool drop_data = true);
  // Deletes journal data left under `name` by a stream that no longer exists (an owner about to
  // persist a new stream of that name does this first). FailedPrecondition while it is a stream.
  Status DiscardData(const std::string& name);
  Result<StreamInfo> Describe(const std::string& name) const;
  // Names, sorted; of one kind only when `kind` is given.
  std::vector<std::string> List(std::optional<StreamKind> kind = std::nullopt) const;
  // Replaces a stream's tags (persisted for kStandalone streams).
  Status SetTags(const std::string& name, std::map<std::string, std::string> tags);
  // Changes a stream's settings (retention, tags, mode, registered consumers, ...) with `change`,
  // then persists (kStandalone) and publishes the result; changes of one stream are serialised.
  // `change` may refuse with a Status (returned; nothing changes). It may not change the name,
  // kind, shards or creation time (InvalidArgument): resharding has its own calls.
  Status Update(const std::string& name, const std::function<Status(StreamSpec&)>& change);

  // Appends `records`; `done` runs exactly once, with one outcome per record in order, after
  // every ok record is durable. A whole-call error (unknown stream) comes as a Status.
  void Append(const std::string& name, std::vector<Record> records, AppendCallback done);
  // The same for records without partition keys (the Firehose path, without copies): the call's
  // records go to one open shard, the next one for the next call.
  void AppendUnkeyed(const std::string& name, std::vector<std::string> records,
                     AppendCallback done);

  // A reader of one shard from `from`. NotFound (stream or shard); InvalidArgument for an offset
  // past the end.
  Result<std::unique_ptr<ShardReader>> Read(const std::string& name, uint32_t shard,
                                            const StartingPosition& from);
  // Forgets the named consumer `consumer` on every shard of a stream (its owner is deleted), so
  // that it no longer holds back retention. NotFound (stream).
  Status DropConsumer(const std::string& name, const std::string& consumer);
  // The named consumer `consumer` ([a-zA-Z0-9_.-]{1,64}) of a shard.
  Result<std::unique_ptr<Consumer>> OpenConsumer(const std::string& name, uint32_t shard,
                                                 const std::string& consumer);

 private:
  struct Entry {
    StreamSpec spec;
    StreamStatus status = StreamStatus::kActive;
    std::vector<journal::PartitionLog*> logs;  // by shard index in spec.shards
    std::vector<size_t> open_shards;           // indexes of open shards
    std::atomic<uint64_t> next_shard{0};       // AppendUnkeyed's round robin
    // Append holds it shared while it hands records to the journal; Delete exclusively while it
    // marks the stream deleted.
    SharedMutex life_mu;
    Mutex update_mu;  // serialises Update (read, change, persist, publish)
    bool deleted SLUICE_GUARDED_BY(life_mu) = false;
  };

  Result<std::shared_ptr<Entry>> Find(const std::string& name) const;
  // The stream to append to; null after answering `done` with NotFound. The caller then holds
  // its life_mu shared and checks Writable.
  std::shared_ptr<Entry> FindForAppend(const std::string& name, const AppendCallback& done);
  // False (after answering `done` with NotFound) when the stream was deleted or has no open shard.
  static bool Writable(const Entry& e, const AppendCallback& done)
      SLUICE_REQUIRES_SHARED(e.life_mu);
  static void LogAppendFailure(const Entry& e, uint32_t shard,
                               const Result<journal::AppendResult>& r);
  Result<std::shared_ptr<Entry>> MakeEntry(StreamSpec spec);
  Status Persist(const StreamSpec& spec) const;
  std::string EntryPath(const std::string& name) const;
  std::string JournalName(const std::string& name) const {
    return options_.journal_namespace + name;
  }

  journal::Journal* journal_;
  ServiceOptions options_;
  mutable Mutex mu_;
  std::map<std::string, std::shared_ptr<Entry>> streams_ SLUICE_GUARDED_BY(mu_);
};

// "stream S not found" etc. are the service's own messages; front ends word their own.
// Validates a stream name: [a-zA-Z0-9_.-]{1,128}, not "." or "..".
Status ValidateStreamName(const std::string& name);

}  // namespace sluice::streams
