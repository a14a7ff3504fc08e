#include "journal/snapshot.h"

#include <algorithm>

#include "common/file_util.h"
#include "journal/codec.h"

namespace sluice::journal {

// A reader over a snapshot's segments. Not thread-safe; must not outlive its snapshot.
class SnapshotReader final : public Reader {
 public:
  explicit SnapshotReader(PartitionSnapshot* snapshot)
      : snapshot_(snapshot), offset_(snapshot->Begin().value) {}
  ~SnapshotReader() override { Leave(); }

  Status Seek(Offset offset) override {
    const auto& segments = snapshot_->segments_;
    if (offset < snapshot_->Begin()) {
      return Status::NotFound(snapshot_->dir_ + ": offset " + std::to_string(offset.value) +
                              " was deleted by retention; the first retained record is " +
                              std::to_string(snapshot_->Begin().value));
    }
    if (offset > snapshot_->End()) {
      return Status::InvalidArgument(snapshot_->dir_ + ": offset " + std::to_string(offset.value) +
                                     " is past the end " + std::to_string(snapshot_->End().value));
    }
    Leave();
    offset_ = offset.value;
    if (segments.empty()) return Status::Ok();
    auto it = std::upper_bound(segments.begin(), segments.end(), offset.value,
                               [](uint64_t o, const auto& s) { return o < s.base; });
    segment_ = static_cast<size_t>(std::prev(it) - segments.begin());
    const auto& seg = segments[segment_];
    IndexEntry start{seg.base, format::kSegmentHeaderSize};
    auto idx = std::upper_bound(seg.index.begin(), seg.index.end(), offset.value,
                                [](uint64_t o, const IndexEntry& e) { return o < e.offset; });
    if (idx != seg.index.begin()) start = *std::prev(idx);
    pos_ = start.pos;
    FrameView frame;
    for (uint64_t at = start.offset; at < offset.value; ++at) {
      SLUICE_RETURN_IF_ERROR(ReadFrameAt(at, &frame));
      pos_ += frame.size();
    }
    return Status::Ok();
  }

  Result<size_t> Next(size_t max_records, size_t max_bytes,
                      std::vector<StoredRecord>& out) override {
    auto& segments = snapshot_->segments_;
    size_t n = 0;
    size_t bytes = 0;
    FrameView frame;
    while (n < max_records && segment_ < segments.size()) {
      if (offset_ >= segments[segment_].end_offset) {
        Leave();
        ++segment_;
        pos_ = format::kSegmentHeaderSize;
        continue;
      }
      SLUICE_RETURN_IF_ERROR(ReadFrameAt(offset_, &frame));
      if (n > 0 && bytes + frame.header.length > max_bytes) break;
      out.push_back(
          StoredRecord{Offset{offset_}, frame.header.arrival_ms, std::string(frame.payload)});
      bytes += frame.header.length;
      pos_ += frame.size();
      ++offset_;
      ++n;
    }
    return n;
  }

 private:
  // Frees the window of the current segment: a snapshot holds every segment open.
  void Leave() {
    if (segment_ < snapshot_->segments_.size())
      snapshot_->segments_[segment_].file->ReleaseWindow();
  }

  Status ReadFrameAt(uint64_t expected, FrameView* frame) {
    auto& seg = snapshot_->segments_[segment_];
    SLUICE_ASSIGN_OR_RETURN(FrameCheck check,
                            seg.file->ReadFrame(pos_, seg.valid_bytes, expected, frame));
    if (check != FrameCheck::kOk) {
      // Verified by Open; damage now means the file changed under the snapshot.
      return Status::Corruption(seg.file->path() + ": byte offset " + std::to_string(pos_) + ": " +
                                FrameCheckText(check) + " (record offset " +
                                std::to_string(expected) + ")");
    }
    return Status::Ok();
  }

  PartitionSnapshot* snapshot_;
  size_t segment_ = 0;  // index into segments_ of the segment holding offset_
  uint64_t pos_ = format::kSegmentHeaderSize;  // byte position of offset_'s frame in it
  uint64_t offset_ = 0;                        // the next record to read
};

Result<std::unique_ptr<PartitionSnapshot>> PartitionSnapshot::Open(const std::string& dir) {
  std::unique_ptr<PartitionSnapshot> snapshot(new PartitionSnapshot(dir));
  SLUICE_RETURN_IF_ERROR(snapshot->Load());
  return snapshot;
}

PartitionSnapshot::~PartitionSnapshot() = default;

Status PartitionSnapshot::Load() {
  SLUICE_ASSIGN_OR_RETURN(auto names, fs::ListDir(dir_));
  std::vector<uint64_t> bases;
  for (const auto& name : names) {
    if (auto base = ParseSegmentFileName(name)) bases.push_back(*base);
  }
  std::sort(bases.begin(), bases.end());
  for (uint64_t base : bases) {
    std::string path = fs::Join(dir_, SegmentFileName(base));
    auto file = SegmentReader::Open(path);
    if (!file.ok()) {
      // Retention deletes a prefix of whole segments; one deleted since the listing is simply no
      // longer retained. A later segment going missing is not retention.
      if (segments_.empty() && !fs::Exists(path)) continue;
      return file.status();
    }
    segments_.push_back(Segment{std::move(*file), base});
  }
  for (size_t i = 0; i < segments_.size(); ++i) {
    Segment& seg = segments_[i];
    const bool is_last = i + 1 == segments_.size();
    SLUICE_ASSIGN_OR_RETURN(SegmentScan scan, ScanSegment(*seg.file, seg.base, is_last));
    seg.file->ReleaseWindow();
    if (!is_last && scan.end_offset != segments_[i + 1].base) {
      return Status::Corruption(
          seg.file->path() + ": byte offset " + std::to_string(scan.valid_bytes) +
          ": segment ends at record offset " + std::to_string(scan.end_offset) +
          " but the next segment starts at " + std::to_string(segments_[i + 1].base));
    }
    seg.end_offset = scan.end_offset;
    seg.valid_bytes = scan.torn_header ? 0 : scan.valid_bytes;
    seg.max_arrival_ms = scan.max_arrival_ms;
    seg.index = std::move(scan.index);
  }
  return Status::Ok();
}

Offset PartitionSnapshot::Begin() const {
  return Offset{segments_.empty() ? 0 : segments_.front().base};
}

Offset PartitionSnapshot::End() const {
  return Offset{segments_.empty() ? 0 : segments_.back().end_offset};
}

Offset PartitionSnapshot::FirstOffsetArrivingAtOrAfter(int64_t ms) const {
  for (const auto& seg : segments_) {
    if (seg.end_offset > seg.base && seg.max_arrival_ms >= ms) return Offset{seg.base};
  }
  return End();
}

std::unique_ptr<Reader> PartitionSnapshot::NewReader() {
  return std::make_unique<SnapshotReader>(this);
}

}  // namespace sluice::journal
