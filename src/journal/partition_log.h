// The local backend's PartitionLog: one segmented log of one (stream, partition), with a commit
// thread that group-commits appends. Internal to the journal module; users see journal.h.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "common/on_demand_thread.h"
#include "journal/disk_reserve.h"
#include "journal/file.h"
#include "journal/journal.h"
#include "journal/segment_scan.h"

namespace sluice::journal {

// Journal-wide count of undelivered bytes (frame bytes, header included) against the quota.
// Thread safety: lock-free, any thread.
class UndeliveredBytes {
 public:
  explicit UndeliveredBytes(uint64_t quota) : quota_(quota) {}
  // Counts the longest prefix of `members` (indexes into `batch`) whose frames fit under the
  // quota; returns its length and sets `reserved` to the bytes counted.
  size_t ReservePrefix(const RecordBatch& batch, const std::vector<uint32_t>& members,
                       uint64_t* reserved);
  void Add(uint64_t n) { bytes_.fetch_add(n); }
  void Sub(uint64_t n) { bytes_.fetch_sub(n); }
  uint64_t Get() const { return bytes_.load(); }
  uint64_t Quota() const { return quota_; }

 private:
  const uint64_t quota_;
  std::atomic<uint64_t> bytes_{0};
};

// The bytes a record occupies on disk, which is what the quota counts.
inline uint64_t FrameBytes(std::string_view record) {
  return format::kFrameHeaderSize + record.size();
}

// Thread safety: all public methods are thread-safe. Appends are written by one commit thread per
// partition, which exists only while there are appends to commit (it lingers kCommitLingerMs);
// state shared with it is guarded by mu_ (log state) or queue_mu_ (pending appends).
//
// Failure policy: when a group's write fails, the segment is truncated back to its last durable
// size and the partition continues. When fdatasync fails (the page cache state is then unknown)
// or the truncate fails, the segment is also truncated back as far as possible and the partition
// is marked failed: every later Append fails with that error until the journal is reopened, whose
// recovery then cuts any torn tail. Either way no acknowledged record is lost and no later record
// is written after a half-written one.
class PartitionLogImpl final : public PartitionLog {
 public:
  static constexpr int64_t kCommitLingerMs = 1000;
  // Recovers (or creates) the partition in `dir` and starts its commit thread.
  // `reserve` (may be null) is told after each sealed segment; the caller registers the log with
  // it.
  static Result<std::unique_ptr<PartitionLogImpl>> Open(std::string stream, uint32_t partition,
                                                        std::string dir, const Options& options,
                                                        FileSystem* fs,
                                                        UndeliveredBytes* undelivered,
                                                        DiskReserve* reserve);
  ~PartitionLogImpl() override;

  using PartitionLog::Append;
  void Append(std::shared_ptr<const RecordBatch> batch, uint32_t shard, int64_t arrival_ms,
              AppendCallback done) override;
  Offset End() const override;
  Offset Begin() const override;
  bool WaitForData(Offset after, int64_t timeout_ms) override;
  void SetDataListener(const std::string& key, std::function<void()> listener) override;
  Result<std::unique_ptr<Reader>> NewReader() override;
  Status Commit(const std::string& consumer, const ConsumerState& state) override;
  Status RemoveConsumer(const std::string& consumer) override;
  ConsumerState Committed(const std::string& consumer) const override;
  Result<size_t> ApplyRetention(const Retention& retention) override;

  // Finishes queued appends (running their callbacks), stops the commit thread. Idempotent.
  void Close();
  // This partition's undelivered bytes (see Journal::UndeliveredBytes).
  uint64_t Undelivered() const;
  // What Open's recovery did. Immutable after Open.
  const RecoveryStats& recovery_stats() const { return recovery_stats_; }
  // "stream S partition P segment <name>", for messages.
  std::string SegmentContext(uint64_t base) const;

  // For the disk reserve: the segments ApplyRetention could delete now (delivered, never the
  // active one), oldest first.
  struct DeliveredSegment {
    uint64_t base = 0;
    uint64_t bytes = 0;
    int64_t max_arrival_ms = 0;
  };
  std::vector<DeliveredSegment> DeliveredSegments() const;
  // Deletes the oldest segment if it is still `base` and still delivered; returns the bytes it
  // freed, 0 if it did nothing.
  Result<uint64_t> RemoveOldestDelivered(uint64_t base);
  const std::string& dir() const { return dir_; }

  // Where a reader finds `offset`: the segment holding it and how far that segment is durable.
  struct ReadTarget {
    std::string path;
    uint64_t base = 0;
    uint64_t end_offset = 0;   // one past the segment's last durable record
    uint64_t limit_bytes = 0;  // durable bytes of the segment file
    IndexEntry start;          // a frame at or before `offset` to scan forward from
  };
  Result<ReadTarget> Locate(uint64_t offset) const;

 private:
  struct Segment {
    uint64_t base = 0;
    std::string path;
    uint64_t bytes = 0;          // durable bytes: header + frames
    uint64_t logical_start = 0;  // quota position of the segment's first frame
    int64_t max_arrival_ms = 0;
    std::vector<IndexEntry> index;
  };
  struct AppendRequest {
    std::shared_ptr<const RecordBatch> batch;
    std::vector<uint32_t> members;  // the batch's records tagged this partition, in order
    size_t accepted = 0;
    uint64_t reserved_bytes = 0;
    int64_t arrival_ms = 0;
    AppendCallback done;
    uint64_t first = 0;
  };
  struct ConsumerPosition {
    uint64_t next = 0;
    uint64_t logical_pos = 0;  // quota position of `next`
    std::optional<BatchIntent> intent;
  };

  PartitionLogImpl(std::string stream, uint32_t partition, std::string dir, const Options& options,
                   FileSystem* fs, UndeliveredBytes* undelivered, DiskReserve* reserve);
  Status Recover() SLUICE_EXCLUDES(mu_);
  // Restores the sealed segment `base` (followed by `next_base`) from its index file and appends it
  // to segments_. NotFound if there is no index file; Corruption (the reason) if it is damaged or
  // disagrees with the segment file.
  Status RestoreFromIndex(uint64_t base, uint64_t next_base, uint64_t logical_start)
      SLUICE_REQUIRES(mu_);
  // Writes the index file of the sealed segment `index` describes (atomically, durably).
  Status WriteIndex(const SegmentIndex& index);
  Status LoadCheckpoint(const std::string& consumer, const std::string& path) SLUICE_EXCLUDES(mu_);
  Result<std::unique_ptr<WritableFile>> CreateSegmentFile(uint64_t base);
  Result<ReadTarget> LocateLocked(uint64_t offset) const SLUICE_REQUIRES(mu_);
  Result<uint64_t> LogicalPos(uint64_t offset) const SLUICE_EXCLUDES(mu_);
  uint64_t MinDeliveredPosLocked() const SLUICE_REQUIRES(mu_);
  // How many leading segments (never the active one) every consumer has checkpointed past; 0 with
  // no consumer.
  size_t DeliveredPrefixLocked() const SLUICE_REQUIRES(mu_);
  // Deletes the first `n` segments and their index files, oldest first; returns how many went.
  // REQUIRES: n < segments_.size().
  Result<size_t> RemoveFront(size_t n) SLUICE_REQUIRES(checkpoint_mu_) SLUICE_EXCLUDES(mu_);

  // Commits every queued append, then returns (the drain of commit_thread_).
  void CommitQueued();
  void CommitGroup(std::vector<AppendRequest>& group);
  void FailGroup(std::vector<AppendRequest>& group, const Status& status);
  Status WriteBuffer();
  // Drops the durable bytes more than options_.page_cache_window_bytes behind `durable_bytes` of
  // the active segment from the page cache (Options::page_cache_window_bytes).
  void TrimPageCache(uint64_t durable_bytes);
  Status Roll();

  const std::string stream_;
  const uint32_t partition_;
  const std::string dir_;
  const Options options_;
  FileSystem* const fs_;
  UndeliveredBytes* const undelivered_;
  DiskReserve* const reserve_;

  mutable Mutex mu_;
  CondVar data_cv_;
  std::vector<Segment> segments_ SLUICE_GUARDED_BY(mu_);  // never empty, last is active
  uint64_t end_ SLUICE_GUARDED_BY(mu_) = 0;
  std::map<std::string, ConsumerPosition> consumers_ SLUICE_GUARDED_BY(mu_);
  bool closed_ SLUICE_GUARDED_BY(mu_) = false;

  // Serializes CommitCheckpoint, ApplyRetention and RemoveOldestDelivered; taken before mu_.
  Mutex checkpoint_mu_;

  Mutex listener_mu_;
  std::map<std::string, std::function<void()>> listeners_ SLUICE_GUARDED_BY(listener_mu_);

  Mutex queue_mu_;
  std::vector<AppendRequest> queue_ SLUICE_GUARDED_BY(queue_mu_);
  bool closing_ SLUICE_GUARDED_BY(queue_mu_) = false;

  // Owned by the commit thread (and by Recover before it starts).
  std::unique_ptr<WritableFile> active_file_;
  std::string buf_;
  uint64_t last_indexed_pos_ = 0;
  uint64_t cache_dropped_to_ = 0;  // active segment bytes before this were dropped from the cache
  Status failed_;
  RecoveryStats recovery_stats_;  // written by Recover only

  // Started by an Append to an idle partition; lingers briefly, then exits.
  OnDemandThread commit_thread_{[this] { CommitQueued(); }, kCommitLingerMs};
};

}  // namespace sluice::journal
