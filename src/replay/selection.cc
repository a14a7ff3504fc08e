#include "replay/selection.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "common/file_util.h"
#include "journal/codec.h"

namespace sluice::replay {
namespace {

namespace stdfs = std::filesystem;

constexpr size_t kReadRecords = 256;
constexpr size_t kReadBytes = 1 << 20;

std::string Where(uint32_t partition, journal::Offset offset) {
  return "partition " + std::to_string(partition) + " offset " + std::to_string(offset.value);
}

// The record at `offset` (REQUIRES: Begin() <= offset < End()).
Result<journal::StoredRecord> RecordAt(journal::PartitionSnapshot& snapshot,
                                       journal::Offset offset) {
  auto reader = snapshot.NewReader();
  SLUICE_RETURN_IF_ERROR(reader->Seek(offset));
  std::vector<journal::StoredRecord> out;
  SLUICE_ASSIGN_OR_RETURN(size_t n, reader->Next(1, 1, out));
  if (n != 1) return Status::Internal("no record at " + std::to_string(offset.value));
  return std::move(out.front());
}

// "records before <oldest> are outside retention (oldest retained: …); --from … is older".
Status OutsideRetention(const std::string& flag, const Bound& bound, uint32_t partition,
                        journal::PartitionSnapshot& snapshot) {
  SLUICE_ASSIGN_OR_RETURN(journal::StoredRecord oldest, RecordAt(snapshot, snapshot.Begin()));
  const bool by_time = std::holds_alternative<TimeBound>(bound);
  return Status::NotFound(
      "records before " +
      (by_time ? FormatTime(oldest.arrival_ms) : Where(partition, snapshot.Begin())) +
      " are outside retention (oldest retained: " + Where(partition, snapshot.Begin()) +
      ", arrived " + FormatTime(oldest.arrival_ms) + "); " + flag + " " + Describe(bound) +
      " is older");
}

// Checks that `position` names a retained record of the current incarnation; returns it.
Result<journal::StoredRecord> CheckPosition(StreamSnapshot& stream, const PositionBound& position,
                                            const std::optional<Incarnation>& incarnation,
                                            const char* flag) {
  const std::string where = Where(position.partition, position.offset);
  journal::PartitionSnapshot* snapshot = stream.Find(position.partition);
  if (snapshot == nullptr) {
    return Status::InvalidArgument(
        std::string(flag) + " " + where + ": stream '" + stream.stream() + "' has no partition " +
        std::to_string(position.partition) + " (partitions: " + stream.PartitionList() + ")");
  }
  auto other_incarnation = [&](const std::string& why) {
    return Status::InvalidArgument(
        std::string(flag) + " is a RecordId of another incarnation of stream '" + stream.stream() +
        "' (one dating from " + FormatTime(static_cast<int64_t>(*position.incarnation)) +
        "; the current one dates from " + FormatTime(incarnation->create_timestamp_ms) + ")" + why);
  };
  if (position.incarnation && incarnation) {
    const int64_t id = static_cast<int64_t>(*position.incarnation);
    if (!incarnation->per_server_run && id != incarnation->create_timestamp_ms) {
      return other_incarnation(
          ": the records of a deleted stream are deleted with it, and a re-created stream "
          "starts an empty journal");
    }
    if (incarnation->per_server_run && id > incarnation->create_timestamp_ms) {
      return other_incarnation("");
    }
  }
  if (position.offset < snapshot->Begin()) {
    return OutsideRetention(flag, Bound{position}, position.partition, *snapshot);
  }
  if (position.offset >= snapshot->End()) {
    if (snapshot->End() == snapshot->Begin()) {
      return Status::InvalidArgument(std::string(flag) + " " + where + ": partition " +
                                     std::to_string(position.partition) + " holds no records");
    }
    return Status::InvalidArgument(std::string(flag) + " " + where + ": partition " +
                                   std::to_string(position.partition) +
                                   " has no such record (its last record is offset " +
                                   std::to_string(snapshot->End().value - 1) + ")");
  }
  SLUICE_ASSIGN_OR_RETURN(journal::StoredRecord record, RecordAt(*snapshot, position.offset));
  // A RecordId is issued while its record is appended, so the record cannot have arrived before
  // its incarnation began; if it did, the journal was started over since.
  if (position.incarnation && incarnation && incarnation->per_server_run &&
      record.arrival_ms < static_cast<int64_t>(*position.incarnation)) {
    return other_incarnation(": the record now at " + where + " arrived before it, at " +
                             FormatTime(record.arrival_ms));
  }
  return record;
}

}  // namespace

Result<std::unique_ptr<StreamSnapshot>> StreamSnapshot::Open(const std::string& journal_dir,
                                                             const std::string& stream) {
  if (!journal::IsValidName(stream)) {
    return Status::InvalidArgument("invalid stream name '" + stream +
                                   "': need 1 to 64 characters from [a-zA-Z0-9_.-], not '.' or "
                                   "'..'");
  }
  const std::string root = fs::Join(journal_dir, "streams");
  const std::string dir = fs::Join(root, stream);
  auto entries = fs::ListDir(root);
  if (!fs::Exists(dir)) {
    std::string names;
    if (entries.ok()) {
      for (const auto& name : *entries) {
        if (journal::IsValidName(name)) names += (names.empty() ? "" : ", ") + name;
      }
    }
    return Status::NotFound("stream '" + stream + "' has no journal under " + root +
                            (names.empty() ? " (no streams there" : " (streams there: " + names) +
                            "; is --data-dir the server's data directory?)");
  }
  // Names become paths: the directory must resolve inside the journal (no symlink out of it).
  std::error_code ec;
  const stdfs::path real_root = stdfs::canonical(root, ec);
  if (ec) return Status::IoError(root + ": " + ec.message());
  const stdfs::path real_dir = stdfs::canonical(dir, ec);
  if (ec) return Status::IoError(dir + ": " + ec.message());
  if (real_dir.parent_path() != real_root) {
    return Status::InvalidArgument("the journal of stream '" + stream + "' resolves to " +
                                   real_dir.string() + ", outside " + real_root.string());
  }
  auto snapshot = std::make_unique<StreamSnapshot>();
  snapshot->stream_ = stream;
  SLUICE_ASSIGN_OR_RETURN(auto names, fs::ListDir(real_dir.string()));
  for (const auto& name : names) {
    auto id = journal::ParsePartitionName(name);
    if (!id) continue;
    SLUICE_ASSIGN_OR_RETURN(auto partition,
                            journal::PartitionSnapshot::Open((real_dir / name).string()));
    snapshot->partitions_.push_back(Partition{*id, std::move(partition)});
  }
  if (snapshot->partitions_.empty()) {
    return Status::NotFound("stream '" + stream + "' has no partitions in " + real_dir.string());
  }
  std::sort(snapshot->partitions_.begin(), snapshot->partitions_.end(),
            [](const Partition& a, const Partition& b) { return a.id < b.id; });
  return snapshot;
}

journal::PartitionSnapshot* StreamSnapshot::Find(uint32_t partition) {
  for (auto& p : partitions_) {
    if (p.id == partition) return p.snapshot.get();
  }
  return nullptr;
}

std::string StreamSnapshot::PartitionList() const {
  bool dense = true;
  for (size_t i = 0; i < partitions_.size(); ++i) dense = dense && partitions_[i].id == i;
  if (dense && partitions_.size() > 1) return "0-" + std::to_string(partitions_.size() - 1);
  std::string out;
  for (const auto& p : partitions_) out += (out.empty() ? "" : ", ") + std::to_string(p.id);
  return out;
}

Result<Selection> Resolve(StreamSnapshot& stream, const Request& request) {
  const auto* from_pos = std::get_if<PositionBound>(&request.from);
  const auto* from_time = std::get_if<TimeBound>(&request.from);
  const PositionBound* to_pos = request.to ? std::get_if<PositionBound>(&*request.to) : nullptr;
  const TimeBound* to_time = request.to ? std::get_if<TimeBound>(&*request.to) : nullptr;

  std::optional<journal::StoredRecord> from_record;
  std::optional<journal::StoredRecord> to_record;
  if (from_pos) {
    SLUICE_ASSIGN_OR_RETURN(from_record,
                            CheckPosition(stream, *from_pos, request.incarnation, "--from"));
  }
  if (to_pos) {
    if (from_pos && to_pos->partition != from_pos->partition) {
      return Status::InvalidArgument(
          "--from and --to name different partitions (" + std::to_string(from_pos->partition) +
          " and " + std::to_string(to_pos->partition) +
          "): a range of positions covers one partition; use times to select across partitions");
    }
    SLUICE_ASSIGN_OR_RETURN(to_record, CheckPosition(stream, *to_pos, request.incarnation, "--to"));
  }
  const std::string to_text = request.to ? Describe(*request.to) : "";
  const std::string from_text = Describe(request.from);
  if (from_pos && to_pos && to_pos->offset < from_pos->offset) {
    return Status::InvalidArgument("--to (" + to_text + ") is before --from (" + from_text + ")");
  }
  if (from_time && to_time && to_time->ms < from_time->ms) {
    return Status::InvalidArgument("--to (" + to_text + ") is before --from (" + from_text + ")");
  }
  if (from_record && to_time && to_time->ms < from_record->arrival_ms) {
    return Status::InvalidArgument("--to (" + to_text + ") is before the arrival of --from (" +
                                   from_text + ", arrived " + FormatTime(from_record->arrival_ms) +
                                   ")");
  }
  if (to_record && from_time && to_record->arrival_ms < from_time->ms) {
    return Status::InvalidArgument("--to (" + to_text + ", arrived " +
                                   FormatTime(to_record->arrival_ms) + ") arrived before --from (" +
                                   from_text + ")");
  }

  Selection selection;
  const PositionBound* position = from_pos != nullptr ? from_pos : to_pos;
  for (auto& partition : stream.partitions()) {
    if (position && partition.id != position->partition) continue;
    journal::PartitionSnapshot& snapshot = *partition.snapshot;
    PartitionRange range;
    range.partition = partition.id;
    range.first = snapshot.Begin();
    range.end = snapshot.End();
    if (from_pos) range.first = from_pos->offset;
    if (to_pos) range.end = to_pos->offset.Next();
    if (from_time) {
      range.from_ms = from_time->ms;
      // Retention cut this partition: records older than its oldest retained one may be gone.
      if (snapshot.Begin() > journal::Offset{0} && snapshot.End() > snapshot.Begin()) {
        SLUICE_ASSIGN_OR_RETURN(journal::StoredRecord oldest, RecordAt(snapshot, snapshot.Begin()));
        if (from_time->ms < oldest.arrival_ms) {
          return OutsideRetention("--from", request.from, partition.id, snapshot);
        }
      }
      range.first = std::max(range.first, snapshot.FirstOffsetArrivingAtOrAfter(from_time->ms));
    }
    if (to_time) range.to_ms = to_time->ms;
    if (range.first < range.end) selection.ranges.push_back(range);
  }
  return selection;
}

Result<std::unique_ptr<SelectedRecords>> SelectedRecords::Open(StreamSnapshot& stream,
                                                               const Selection& selection) {
  auto records = std::unique_ptr<SelectedRecords>(new SelectedRecords());
  for (const auto& range : selection.ranges) {
    journal::PartitionSnapshot* snapshot = stream.Find(range.partition);
    if (snapshot == nullptr) {
      return Status::InvalidArgument("no partition " + std::to_string(range.partition));
    }
    Cursor cursor;
    cursor.range = range;
    cursor.reader = snapshot->NewReader();
    SLUICE_RETURN_IF_ERROR(cursor.reader->Seek(range.first));
    records->cursors_.push_back(std::move(cursor));
  }
  return records;
}

Status SelectedRecords::Fill(Cursor& cursor) {
  std::vector<journal::StoredRecord> batch;
  while (cursor.buffered.empty() && !cursor.done) {
    batch.clear();
    SLUICE_ASSIGN_OR_RETURN(size_t n, cursor.reader->Next(kReadRecords, kReadBytes, batch));
    if (n == 0) cursor.done = true;
    for (auto& record : batch) {
      if (record.offset >= cursor.range.end) {
        cursor.done = true;
        break;
      }
      if (cursor.range.Matches(record)) cursor.buffered.push_back(std::move(record));
    }
  }
  return Status::Ok();
}

Result<std::optional<SelectedRecord>> SelectedRecords::Next() {
  Cursor* best = nullptr;
  for (auto& cursor : cursors_) {
    SLUICE_RETURN_IF_ERROR(Fill(cursor));
    if (cursor.buffered.empty()) continue;
    // Cursors are in partition order, so a strict comparison breaks ties by partition.
    if (best == nullptr || cursor.buffered.front().arrival_ms < best->buffered.front().arrival_ms) {
      best = &cursor;
    }
  }
  if (best == nullptr) return std::optional<SelectedRecord>();
  SelectedRecord out{best->range.partition, std::move(best->buffered.front())};
  best->buffered.pop_front();
  return std::optional<SelectedRecord>(std::move(out));
}

Result<Count> CountSelected(StreamSnapshot& stream, const Selection& selection) {
  SLUICE_ASSIGN_OR_RETURN(auto records, SelectedRecords::Open(stream, selection));
  Count count;
  for (;;) {
    SLUICE_ASSIGN_OR_RETURN(std::optional<SelectedRecord> next, records->Next());
    if (!next) break;
    const journal::StoredRecord& r = next->record;
    if (count.records == 0) {
      count.first_arrival_ms = count.last_arrival_ms = r.arrival_ms;
    }
    count.first_arrival_ms = std::min(count.first_arrival_ms, r.arrival_ms);
    count.last_arrival_ms = std::max(count.last_arrival_ms, r.arrival_ms);
    ++count.records;
    count.bytes += r.data.size();
    auto it = std::find_if(count.partitions.begin(), count.partitions.end(),
                           [&](const PartitionCount& p) { return p.partition == next->partition; });
    if (it == count.partitions.end()) {
      count.partitions.push_back(PartitionCount{next->partition, 0, r.offset, r.offset});
      it = std::prev(count.partitions.end());
    }
    ++it->records;
    it->first = std::min(it->first, r.offset);
    it->last = std::max(it->last, r.offset);
  }
  std::sort(
      count.partitions.begin(), count.partitions.end(),
      [](const PartitionCount& a, const PartitionCount& b) { return a.partition < b.partition; });
  return count;
}

}  // namespace sluice::replay
