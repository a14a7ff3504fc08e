// PartitionSnapshot: a read-only view of one partition's retained records, for a process that
// does not own the journal (`sluice replay` reads while `sluice serve` appends, delivers and
// applies retention).
//
// Contract of Open:
// - It writes nothing: no file is created, truncated, renamed or removed, and no checkpoint is
//   read or touched (Journal::Open, by contrast, recovers: it may truncate a torn tail, remove
//   temp files and create segment 0).
// - It lists the segment files and opens every one, so that retention deleting a segment later
//   does not change what the snapshot reads (a segment deleted between the listing and its open
//   is simply not retained any more).
// - It verifies every frame with the rules of docs/journal_format.md, without repairing: the
//   snapshot ends at the last valid frame of the last segment (a torn tail, or the group the
//   writer is writing right now, is not part of it); any other damage is Corruption naming the
//   file and byte offset. Records appended after Open are never part of the snapshot.
// - The snapshot can include the frames of a commit group that is written but whose fdatasync
//   has not returned yet: such records are acknowledged moments later unless the disk fails.
//
// Thread safety: none; one thread at a time, readers included. A Reader from NewReader must not
// outlive its snapshot.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "journal/journal.h"
#include "journal/segment_scan.h"

namespace sluice::journal {

class PartitionSnapshot {
 public:
  // `dir` is a partition directory: <journal dir>/streams/<stream>/<partition>. NotFound if it
  // does not exist.
  static Result<std::unique_ptr<PartitionSnapshot>> Open(const std::string& dir);
  ~PartitionSnapshot();
  PartitionSnapshot(const PartitionSnapshot&) = delete;
  PartitionSnapshot& operator=(const PartitionSnapshot&) = delete;

  // The first retained record (records before it were deleted by retention).
  Offset Begin() const;
  // One past the last record of the snapshot.
  Offset End() const;
  // A lower bound for reading records that arrived at or after `ms`: every record before it
  // arrived earlier (whole segments are skipped by their newest arrival time).
  Offset FirstOffsetArrivingAtOrAfter(int64_t ms) const;
  // A reader over [Begin(), End()), positioned at Begin(); Seek moves it within that range.
  std::unique_ptr<Reader> NewReader();

 private:
  friend class SnapshotReader;
  struct Segment {
    std::unique_ptr<SegmentReader> file;  // open since Open; its window is released when idle
    uint64_t base = 0;
    uint64_t end_offset = 0;   // one past its last valid record
    uint64_t valid_bytes = 0;  // header + valid frames; nothing at or past is read
    int64_t max_arrival_ms = 0;
    std::vector<IndexEntry> index;
  };
  explicit PartitionSnapshot(std::string dir) : dir_(std::move(dir)) {}
  Status Load();

  const std::string dir_;
  std::vector<Segment> segments_;  // by base offset; dense: each ends where the next begins
};

}  // namespace sluice::journal
