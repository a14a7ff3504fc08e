// The journal: the durable record log behind every stream (design.md §5.1–5.3, 5.7).
//
// A Journal owns a directory; inside it, one PartitionLog per (stream, partition). A partition is
// a segmented append-only log of framed, checksummed records (see docs/journal_format.md and
// journal/format.h). Offsets are dense per partition, starting at 0.
//
// Contract of Append: the callback runs exactly once, on the partition's commit thread (a thread
// that exists only while the partition has appends to commit: idle partitions cost no thread),
// after the accepted records are written AND fdatasync'ed (durable), or after the write failed.
// Concurrent Append calls on one partition share one write+fdatasync (group commit). Records are
// accepted in order; when the journal-wide quota of undelivered bytes is reached, the tail of a
// batch is refused (accepted < the records appended) and nothing accepted is ever dropped.
// Exceptions: when the journal is closed, or a record exceeds the frame limit
// (format::kMaxPayload), the callback runs with an error on the calling thread before Append
// returns. The records come in a RecordBatch (journal/record_batch.h): the commit thread frames
// them from the batch's buffer into its group write, so the caller's decoded bytes are copied
// once and no record is a std::string of its own.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "journal/record_batch.h"

namespace sluice::journal {

class FileSystem;  // journal/file.h: the writer's file-system seam

// A partition directory's name as the journal writes it (decimal, no sign, no leading zeros) ->
// the partition; nullopt for any other name.
std::optional<uint32_t> ParsePartitionName(const std::string& name);

// A position in one partition's log. Strong type: never a bare integer.
struct Offset {
  uint64_t value = 0;
  auto operator<=>(const Offset&) const = default;
  Offset Next(uint64_t n = 1) const { return Offset{value + n}; }
};

struct StoredRecord {
  Offset offset;
  int64_t arrival_ms = 0;  // when the journal accepted it, ms since epoch (UTC)
  std::string data;
};

// A batch a consumer has decided to deliver next, recorded before it produces any output so that
// after a crash it rebuilds the same batch ([committed next, end), under the same stream version,
// with the same oldest arrival time). The local backend keeps it in the checkpoint file
// (format.h); a Kafka backend keeps it in its offset commit's metadata.
struct BatchIntent {
  Offset end;
  uint64_t version = 0;
  int64_t oldest_ms = 0;
  bool operator==(const BatchIntent&) const = default;
};

// What a consumer committed: the next offset it reads, and the batch it decided on from there.
struct ConsumerState {
  Offset next;
  std::optional<BatchIntent> intent;
};

struct AppendResult {
  Offset first;         // offset of the first accepted record
  size_t accepted = 0;  // records [0, accepted) are durable; the rest were refused (quota)
};

using AppendCallback = std::function<void(Result<AppendResult>)>;

struct Options {
  std::string dir;                       // the journal root (created if missing)
  uint64_t segment_bytes = 64ull << 20;  // roll to a new segment past this size
  uint64_t quota_bytes = 10ull << 30;    // undelivered bytes across all partitions
  Clock* clock = &Clock::System();
  bool sync = true;          // fdatasync before acknowledging (tests: true)
  FileSystem* fs = nullptr;  // writer's file-system seam; null = POSIX
  // Keep this much space free on the journal's file system: below it, delivered segments are
  // deleted oldest first across all partitions (never undelivered data). 0 = off.
  uint64_t disk_reserve_bytes = 0;
  // Recovery: treat damage in the last segment that is followed by valid frames as a torn tail
  // (truncate there) instead of failing Open. For after a power loss; off by default.
  bool repair_tail = false;
  // Once written and fdatasync'ed, the bytes of the active segment more than this far behind its
  // end are dropped from the page cache (posix_fadvise DONTNEED; they stay on disk). Readers near
  // the tail still read from memory, and the writer's next pages are recycled ones instead of
  // fresh ones, which on a VM costs less than half the CPU per byte written (docs/performance.md).
  // 0 = leave the page cache alone.
  uint64_t page_cache_window_bytes = 64ull << 20;
};

// How long and how much delivered data a partition keeps (PartitionLog::ApplyRetention).
struct Retention {
  int64_t max_age_ms = INT64_MAX;             // by the segment's newest record's arrival time
  uint64_t max_delivered_bytes = UINT64_MAX;  // segment file bytes, delivered segments only
};

// Reads records sequentially from one partition. Not thread-safe; one per consumer.
class Reader {
 public:
  virtual ~Reader() = default;
  // Positions the reader at `offset` (may equal the end of the log).
  [[nodiscard]] virtual Status Seek(Offset offset) = 0;
  // Appends up to max_records / about max_bytes of durable records from the current position to
  // `out` (at least one record if any is available, even when larger than max_bytes).
  // Returns the number read (0 at the durable end).
  virtual Result<size_t> Next(size_t max_records, size_t max_bytes,
                              std::vector<StoredRecord>& out) = 0;
};

class PartitionLog {
 public:
  virtual ~PartitionLog() = default;
  // See the file comment. Appends, in batch order, the records of `batch` tagged `shard` (the
  // others belong to other partitions' appends of the same request, which share the batch:
  // hence shared ownership, released once every one of them has written it). `arrival_ms` is
  // stamped by the caller (one time for one request). AppendResult::accepted counts the records
  // tagged `shard`.
  virtual void Append(std::shared_ptr<const RecordBatch> batch, uint32_t shard, int64_t arrival_ms,
                      AppendCallback done) = 0;
  // The same for copies of `records` (tests and tools; the API front ends build a RecordBatch).
  void Append(const std::vector<std::string>& records, int64_t arrival_ms, AppendCallback done) {
    Append(std::make_shared<const RecordBatch>(RecordBatch::Of(records)), 0, arrival_ms,
           std::move(done));
  }
  // One past the last durable record.
  virtual Offset End() const = 0;
  // The first retained record (records before it were deleted by retention).
  virtual Offset Begin() const = 0;
  // Blocks until End() > `after` or `timeout_ms` passed or the log is closed. True if data came.
  virtual bool WaitForData(Offset after, int64_t timeout_ms) = 0;
  // Calls `listener` after each group of appends became durable (on the thread that committed
  // it, after the append callbacks), so a consumer can hold no thread while the log is idle.
  // Listeners are kept by `key` (one per consumer: several consumers may follow one log);
  // setting a key again replaces its listener, nullptr removes it. The listener must not call back
  // into this log's Append or SetDataListener.
  virtual void SetDataListener(const std::string& key, std::function<void()> listener) = 0;
  // A reader positioned at Begin(). It must not outlive this PartitionLog.
  virtual Result<std::unique_ptr<Reader>> NewReader() = 0;
  // Durably and atomically replaces a consumer's state: the next offset it will read and, when it
  // has decided its next batch [next, intent->end), that intent (InvalidArgument unless
  // intent->end > next, or when next is past End()). Consumer names are [a-zA-Z0-9_.-]{1,64}.
  [[nodiscard]] virtual Status Commit(const std::string& consumer, const ConsumerState& state) = 0;
  // Forgets a consumer (its checkpoint file goes, durably), so that it no longer holds back
  // retention or the quota; a consumer that was never committed is not an error.
  [[nodiscard]] virtual Status RemoveConsumer(const std::string& consumer) = 0;
  // A consumer's committed state; a consumer that never committed reads from Begin().
  virtual ConsumerState Committed(const std::string& consumer) const = 0;
  // Commit without an intent / the committed next offset.
  [[nodiscard]] Status CommitCheckpoint(const std::string& consumer, Offset next) {
    return Commit(consumer, ConsumerState{next, std::nullopt});
  }
  Offset Checkpoint(const std::string& consumer) const { return Committed(consumer).next; }
  // Deletes whole delivered segments, oldest first: those whose newest record is older than
  // `retention.max_age_ms`, and more while the delivered segments left exceed
  // `retention.max_delivered_bytes`. Delivered = every consumer has checkpointed past the whole
  // segment; with no consumer at all nothing has been delivered and nothing is deleted. The
  // active segment, and any segment holding an undelivered record, is never deleted. Returns the
  // number of segments deleted.
  virtual Result<size_t> ApplyRetention(const Retention& retention) = 0;
};

// What opening did, summed over every partition recovered so far (for logs, tests, benchmarks).
// Recovery reads only the active (last) segment of a partition; a sealed segment is restored from
// its index file unless that is missing or damaged, when the segment is scanned instead.
struct RecoveryStats {
  uint64_t segments_from_index = 0;  // sealed segments restored from their index, not read
  uint64_t segments_scanned = 0;     // segments whose every frame was read and checked
  uint64_t bytes_scanned = 0;        // their bytes
  uint64_t indexes_missing = 0;      // sealed segments scanned because they had no index file
  uint64_t indexes_damaged = 0;      // ... because their index file was damaged or stale
  RecoveryStats& operator+=(const RecoveryStats& o);
};

class Journal {
 public:
  // Opens (creating if needed) the journal and recovers every partition found on disk: a torn
  // tail is truncated; corruption before the tail fails Open with the segment and offset.
  static Result<std::unique_ptr<Journal>> Open(Options options);
  virtual ~Journal() = default;
  // Opens or creates the partition's log. The pointer stays valid until DropStream or close.
  virtual Result<PartitionLog*> Partition(const std::string& stream, uint32_t partition) = 0;
  // Deletes all partitions of a stream, on disk too.
  [[nodiscard]] virtual Status DropStream(const std::string& stream) = 0;
  // Bytes appended but not yet checkpointed past by every consumer, across partitions.
  virtual uint64_t UndeliveredBytes() const = 0;
  virtual uint64_t QuotaBytes() const = 0;
  // What recovery did for the partitions opened so far (at Open and by Partition since).
  virtual RecoveryStats Recovery() const = 0;
  // Checks free disk space now (it is also checked at Open and whenever a segment is sealed): below
  // Options::disk_reserve_bytes, deletes delivered segments oldest first across all partitions
  // and logs it. Returns the number of segments deleted.
  virtual Result<size_t> EnforceDiskReserve() = 0;
  // Stops commit threads after finishing queued appends (their callbacks run). Idempotent.
  virtual void Close() = 0;
};

}  // namespace sluice::journal
