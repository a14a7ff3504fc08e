// What `sluice replay` re-sends: the retained records of one stream, read from the journal
// without writing to it (journal::PartitionSnapshot), selected by a range of positions or
// arrival times, yielded in arrival order across partitions.
//
// Selection rules (both ends inclusive):
// - `from` is required; `to` defaults to the last record present when the snapshot was opened,
//   so records appended later — the replayed ones among them — are never selected.
// - A position names one partition: with a position at either end only that partition is read
//   (both positions must name the same one). Times select in every partition.
// - Errors a user can act on: a position before the first retained record, or a time older than
//   the oldest retained record of a partition that retention has cut ("outside retention"); a
//   position past the last record; a RecordId of another incarnation of the stream; `to` before
//   `from`.
#pragma once

#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "journal/journal.h"
#include "journal/snapshot.h"
#include "replay/bound.h"

namespace sluice::replay {

// The retained journal of one stream, opened read-only: one snapshot per partition directory.
// Thread safety: none.
class StreamSnapshot {
 public:
  struct Partition {
    uint32_t id = 0;
    std::unique_ptr<journal::PartitionSnapshot> snapshot;
  };

  // `journal_dir` is the server's journal (<data dir>/journal). `stream` must be a Firehose name
  // ([a-zA-Z0-9_.-]{1,64}, not "." or "..") whose directory resolves inside
  // <journal_dir>/streams. NotFound, listing the streams there, if it has no journal.
  static Result<std::unique_ptr<StreamSnapshot>> Open(const std::string& journal_dir,
                                                      const std::string& stream);

  const std::string& stream() const { return stream_; }
  // By partition id, ascending.
  std::vector<Partition>& partitions() { return partitions_; }
  journal::PartitionSnapshot* Find(uint32_t partition);
  // "0" or "0-3" or "0, 2".
  std::string PartitionList() const;

 private:
  std::string stream_;
  std::vector<Partition> partitions_;
};

// The stream's current incarnation, as the server names it in RecordIds (StreamRegistry: the
// stream's CreateTimestamp in ms).
struct Incarnation {
  int64_t create_timestamp_ms = 0;
  // A stream from the config file gets a new incarnation each time `sluice serve` starts while
  // its journal carries over; an API-created stream keeps one until deleted, and re-creating it
  // starts an empty journal.
  bool per_server_run = false;
};

struct Request {
  Bound from;
  std::optional<Bound> to;
  std::optional<Incarnation> incarnation;  // unknown: RecordIds are not checked against it
};

// The records to read from one partition: offsets [first, end) whose arrival time lies in
// [from_ms, to_ms].
struct PartitionRange {
  uint32_t partition = 0;
  journal::Offset first;
  journal::Offset end;
  int64_t from_ms = std::numeric_limits<int64_t>::min();
  int64_t to_ms = std::numeric_limits<int64_t>::max();
  bool Matches(const journal::StoredRecord& r) const {
    return r.offset >= first && r.offset < end && r.arrival_ms >= from_ms && r.arrival_ms <= to_ms;
  }
};

struct Selection {
  std::vector<PartitionRange> ranges;  // by partition id
};

// Resolves `request` against the retained records (see the file comment for the errors).
Result<Selection> Resolve(StreamSnapshot& stream, const Request& request);

struct SelectedRecord {
  uint32_t partition = 0;
  journal::StoredRecord record;
};

// The selected records, merged across partitions by arrival time (ties: partition, then offset;
// within a partition, offset order). Memory: about one read batch per partition.
// Thread safety: none. Must not outlive the StreamSnapshot.
class SelectedRecords {
 public:
  static Result<std::unique_ptr<SelectedRecords>> Open(StreamSnapshot& stream,
                                                       const Selection& selection);
  // The next selected record; nullopt at the end.
  Result<std::optional<SelectedRecord>> Next();

 private:
  struct Cursor {
    PartitionRange range;
    std::unique_ptr<journal::Reader> reader;
    std::deque<journal::StoredRecord> buffered;  // matching records read ahead
    bool done = false;
  };
  Status Fill(Cursor& cursor);

  std::vector<Cursor> cursors_;
};

// What a selection holds, for the plan printed before sending and for --dry-run.
struct PartitionCount {
  uint32_t partition = 0;
  uint64_t records = 0;
  journal::Offset first;  // of the first and last selected record (valid if records > 0)
  journal::Offset last;
};
struct Count {
  uint64_t records = 0;
  uint64_t bytes = 0;
  int64_t first_arrival_ms = 0;  // oldest and newest arrival (valid if records > 0)
  int64_t last_arrival_ms = 0;
  std::vector<PartitionCount> partitions;  // partitions with records
};
Result<Count> CountSelected(StreamSnapshot& stream, const Selection& selection);

}  // namespace sluice::replay
