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
// Resharding (SplitShard, MergeShards, UpdateShardCount) closes shards and opens new ones while
// appends go on: no record reaches a shard after it is closed, and a closed shard's end_offset
// covers exactly the records it holds.
//
// Thread safety: every method is thread-safe. Append does not block on disk: its callback runs on
// the journal's commit thread once the records are durable (or on the calling thread when the
// whole call fails at once). Reshards of one stream wait for its appends in flight to its closing
// shards (a commit), never for Append calls' callbacks.
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
#include "journal/record_batch.h"
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
  // Resharding refuses to leave a stream with more open shards than this (ResourceExhausted).
  uint32_t max_open_shards = 10000;
  // Per-shard write limits of streams with StreamSpec::enforce_shard_limits (AWS's 1 MiB/s and
  // 1,000 records/s; data + partition key bytes), as one-second token buckets.
  uint64_t shard_write_bytes_per_sec = 1u << 20;
  uint64_t shard_write_records_per_sec = 1000;
};

inline constexpr char kKinesisJournalNamespace[] = "kinesis+";

// The message of a record refused by a shard's write limit (AppendOutcome, ResourceExhausted).
inline constexpr char kRateExceeded[] = "rate exceeded";
// The journal consumer through which ApplyRetention expires a kStandalone stream's records by
// age alone; reserved (OpenConsumer refuses it).
inline constexpr char kRetentionConsumer[] = "streams.retention";

// What has been written to one open shard since it opened (or since the service opened the
// stream): bytes (data + partition key) and records handed to the journal. For the autoscaler.
struct ShardWrites {
  uint32_t shard = 0;
  HashKeyRange hash_keys;
  uint64_t bytes = 0;
  uint64_t records = 0;
};
struct StreamWrites {
  bool on_demand = false;
  std::vector<ShardWrites> open_shards;  // by hash-key start
};

// The shards whose parent or adjacent parent is `shard` (after a split: two; after a merge: one;
// none while it is open), by id.
std::vector<uint32_t> Children(const StreamSpec& spec, uint32_t shard);

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

  // Appends the records of `batch`, whose payloads are keyed (WriteKeyedHeader's layout: the
  // front end wrote them so while decoding), each to the open shard owning MD5 of its partition
  // key, or `explicit_hash_keys[i]` when that is set (the vector is empty or has one slot per
  // record). The service tags each record with its shard and hands the batch to the shards'
  // journal appends, one per shard, without copying it. `done` runs exactly once, with one
  // outcome per record in order, after every ok record is durable. A whole-call error (unknown
  // stream; InvalidArgument for a payload that is not keyed) comes as a Status.
  void Append(const std::string& name, journal::RecordBatch batch,
              std::vector<std::optional<HashKey>> explicit_hash_keys, AppendCallback done);
  // The same for copies of `records` (tests and tools).
  void Append(const std::string& name, const std::vector<Record>& records, AppendCallback done);
  // The same for records without partition keys (the Firehose path): the batch's records, the
  // data alone, go to one open shard, the next one for the next call.
  void AppendUnkeyed(const std::string& name, journal::RecordBatch batch, AppendCallback done);
  // The same for copies of `records` (tests and tools).
  void AppendUnkeyed(const std::string& name, const std::vector<std::string>& records,
                     AppendCallback done) {
    AppendUnkeyed(name, journal::RecordBatch::Of(records), std::move(done));
  }

  // A reader of one shard from `from`. NotFound (stream or shard); InvalidArgument for an offset
  // past the end.
  Result<std::unique_ptr<ShardReader>> Read(const std::string& name, uint32_t shard,
                                            const StartingPosition& from);
  // Forgets the named consumer `consumer` on every shard of a stream (its owner is deleted), so
  // that it no longer holds back retention. NotFound (stream).
  Status DropConsumer(const std::string& name, const std::string& consumer);
  // The named consumer `consumer` ([a-zA-Z0-9_.-]{1,64}, not kRetentionConsumer) of a shard. On
  // a kStandalone stream it is registered with the journal (its state committed as it is), so
  // that ApplyRetention keeps every record it has not committed past from then on.
  Result<std::unique_ptr<Consumer>> OpenConsumer(const std::string& name, uint32_t shard,
                                                 const std::string& consumer);
  // What the named consumer `consumer` of a shard has committed, without opening or registering
  // it (a consumer that never committed has committed nothing). NotFound (stream or shard).
  Result<journal::ConsumerState> Committed(const std::string& name, uint32_t shard,
                                           const std::string& consumer) const;
  // The durable end of a shard's log: one past its last durable record (for a closed shard, its
  // end_offset once the reshard returned). NotFound (stream or shard).
  Result<journal::Offset> ShardEnd(const std::string& name, uint32_t shard) const;

  // Resharding. Each call changes the shards atomically for Append: records handed to the
  // journal before it went to the parents, and every later one goes to the children. A parent is
  // closed with end_offset = its log's End() once the records handed to it are durable (or
  // failed), so a reader that drains the parents (to end_offset) before reading the children sees
  // every key's records in order. The new catalog entry (kStandalone) is persisted before the
  // call returns; changes of one stream are serialised with each other and with Update.
  // New shards take the next unused ids (the largest id + 1, + 2, ...).
  //
  // Splits an open shard in two at `new_starting_hash_key`: children [start, key - 1] and
  // [key, end], both with parent = shard. NotFound (stream, shard); InvalidArgument when the
  // shard is closed or the key is not in (start, end]; ResourceExhausted past max_open_shards.
  Status SplitShard(const std::string& name, uint32_t shard, HashKey new_starting_hash_key);
  // Merges two open shards adjacent in hash-key space into one: parent = the one with the lower
  // range, adjacent_parent = the other. NotFound; InvalidArgument when either is closed, they are
  // one shard, or they are not adjacent.
  Status MergeShards(const std::string& name, uint32_t shard, uint32_t adjacent);
  // UNIFORM_SCALING to `target` open shards with the ranges of EvenRanges(target): splits the
  // open shards at every new boundary inside them, then merges the pieces of each new range, in
  // one step (the short-lived intermediate shards are closed at once, empty: end_offset 0). Every
  // new shard has a parent and at most an adjacent parent. A no-op when the open shards are
  // already those ranges. ResourceExhausted when target > 2 x the open shards, < half of them
  // (rounded up) or > max_open_shards; InvalidArgument for 0; FailedPrecondition for an on-demand
  // stream (it scales itself).
  Status UpdateShardCount(const std::string& name, uint32_t target);

  // Retention of every kStandalone stream: deletes each shard's whole segments whose records are
  // all older than retention_hours, except any a named consumer (OpenConsumer) has not committed
  // past, and never a shard's active (last) segment. Shards stay listed however old. The server
  // calls it periodically (e.g. every minute). Returns the number of segments deleted.
  Result<size_t> ApplyRetention();

  // What has been written to each open shard of a stream (cheap: atomic counters). NotFound.
  Result<StreamWrites> Writes(const std::string& name) const;

 private:
  // One shard's log and counters. Its address is stable while its stream exists.
  struct ShardState {
    uint32_t id = 0;
    HashKeyRange hash_keys;
    journal::PartitionLog* log = nullptr;
    std::atomic<uint64_t> written_bytes{0};  // handed to the journal, data + partition key
    std::atomic<uint64_t> written_records{0};
    // Journal appends handed over and not yet answered; a reshard waits for 0 on the shards it
    // closes before it reads their end.
    Mutex mu;
    CondVar drained;
    uint64_t in_flight SLUICE_GUARDED_BY(mu) = 0;
    // The write limit's token buckets, in thousandths of a byte / record; refilled by elapsed
    // monotonic time, capped at one second's worth.
    uint64_t byte_tokens SLUICE_GUARDED_BY(mu) = 0;
    uint64_t record_tokens SLUICE_GUARDED_BY(mu) = 0;
    int64_t refilled_ms SLUICE_GUARDED_BY(mu) = INT64_MIN;
  };
  struct Entry {
    Entry(std::string n, StreamKind k, int64_t created)
        : name(std::move(n)), kind(k), created_ms(created) {}
    const std::string name;
    const StreamKind kind;
    const int64_t created_ms;
    // The published spec: read under Service::mu_ (Describe) or update_mu; written under both.
    StreamSpec spec;
    StreamStatus status = StreamStatus::kActive;
    std::atomic<bool> enforce_limits{false};  // spec.enforce_shard_limits, for Append
    std::atomic<bool> on_demand{false};       // spec.on_demand
    std::atomic<uint64_t> next_shard{0};      // AppendUnkeyed's round robin
    // Append holds it shared while it routes records and hands them to the journal; a reshard
    // exclusively while it switches the open shards; Delete exclusively while it marks the
    // stream deleted.
    SharedMutex life_mu;
    std::map<uint32_t, std::unique_ptr<ShardState>> shards SLUICE_GUARDED_BY(life_mu);  // all
    std::vector<ShardState*> open SLUICE_GUARDED_BY(life_mu);  // open ones, by hash-key start
    bool deleted SLUICE_GUARDED_BY(life_mu) = false;
    // Serialises Update and reshards (read, change, persist, publish) with Delete.
    Mutex update_mu;
    bool removed SLUICE_GUARDED_BY(update_mu) = false;  // Delete took it out of the catalog
  };
  // A reshard: the shards to close, and the new shards (open ones and closed intermediates).
  struct Reshard {
    std::vector<uint32_t> close;
    std::vector<Shard> add;
  };

  Result<std::shared_ptr<Entry>> Find(const std::string& name) const;
  // The log of a shard of a stream (valid until the stream's data is dropped). NotFound.
  Result<journal::PartitionLog*> LogOf(const std::string& name, uint32_t shard) const;
  // The stream to append to; null after answering `done` with NotFound. The caller then holds
  // its life_mu shared and checks Writable.
  std::shared_ptr<Entry> FindForAppend(const std::string& name, const AppendCallback& done);
  // False (after answering `done` with NotFound) when the stream was deleted or has no open shard.
  static bool Writable(const Entry& e, const AppendCallback& done)
      SLUICE_REQUIRES_SHARED(e.life_mu);
  static void LogAppendFailure(const Entry& e, uint32_t shard,
                               const Result<journal::AppendResult>& r);
  Result<std::shared_ptr<Entry>> MakeEntry(StreamSpec spec);
  // Applies `reshard` to `spec` (the entry's current spec) and publishes it (see SplitShard).
  // REQUIRES: e.update_mu held, the reshard validated.
  Status ApplyReshard(Entry& e, StreamSpec spec, const Reshard& reshard)
      SLUICE_REQUIRES(e.update_mu);
  // Takes the records of the call that fit the shard's write limit now (marking the others in
  // `refused`). REQUIRES: the stream enforces limits.
  void TakeWriteTokens(ShardState& shard, const std::vector<size_t>& sizes,
                       std::vector<bool>& refused) const;
  // NotFound once Delete removed the entry (so that nothing persists it again).
  static Status CheckNotRemoved(const Entry& e) SLUICE_REQUIRES(e.update_mu);
  static ShardState* FindShard(const Entry& e, uint32_t shard) SLUICE_REQUIRES_SHARED(e.life_mu);
  static void HandedOver(ShardState& s);
  static void Answered(ShardState& s);
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
// Validates a stream's shards: unique ids, non-empty ranges, and open shards whose ranges cover
// the key space [0, Max()] exactly once.
Status ValidateShards(const StreamSpec& spec);

}  // namespace sluice::streams
